"""The overview chart: recorded outcomes per day as a server-side SVG, readable without scripts.

Pure functions: DailyCount rows in, a series per platform and an SVG string out. Every bar
carries a <title> with its day and counts (a tooltip, and what a screen reader reads); the
overview shows the same numbers as a table too.
"""

import datetime as dt
from collections.abc import Iterable

from django.utils.html import escape

# Stacked bottom to top in this order.
OUTCOMES = ("delivered", "failed", "invalid_token")
OUTCOME_LABELS = {"delivered": "delivered", "failed": "failed", "invalid_token": "invalid token"}
COLOURS = {"delivered": "#2f855a", "failed": "#c53030", "invalid_token": "#b7791f"}

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 24


def last_days(*, end: dt.date, days: int = 30) -> list[dt.date]:
    """The `days` days ending with `end`, oldest first."""
    return [end - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def daily_outcomes(rows: Iterable, *, days: list[dt.date], platforms: Iterable[str]) -> dict:
    """{platform: [(day, {outcome: n})]} over `days`, zeros where no row was recorded.

    rows: objects with day, platform, outcome and count (DailyCount rows or the like); rows
    outside `days`, other platforms and other outcomes are left out.
    """
    series = {platform: {day: dict.fromkeys(OUTCOMES, 0) for day in days} for platform in platforms}
    for row in rows:
        by_day = series.get(row.platform)
        if by_day is None or row.day not in by_day or row.outcome not in OUTCOMES:
            continue
        by_day[row.day][row.outcome] += row.count
    return {platform: list(by_day.items()) for platform, by_day in series.items()}


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^k at or above value (the y axis' top), at least 1."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _bar_title(day: dt.date, counts: dict) -> str:
    parts = ", ".join(f"{counts[o]:,} {OUTCOME_LABELS[o]}" for o in OUTCOMES)
    return f"{day:%-d %b %Y}: {parts}"


def svg(series: list, *, label: str) -> str:
    """A stacked bar chart of one platform's [(day, {outcome: n})] as an <svg> element."""
    top = _nice_ceiling(max((sum(c.values()) for _, c in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(series), 1)
    bar = max(slot * 0.7, 1)
    total = sum(sum(c.values()) for _, c in series)
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}: {total:,} outcomes</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        value = top * fraction
        text = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde1e6"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5c6670">{text}</text>'
        )
    for index, (day, counts) in enumerate(series):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_h
        out.append(f"<g><title>{escape(_bar_title(day, counts))}</title>")
        # An invisible full-height target, so a day with nothing recorded has a tooltip too.
        out.append(
            f'<rect x="{x:.1f}" y="{TOP}" width="{bar:.1f}" height="{plot_h}" fill="transparent"/>'
        )
        for outcome in OUTCOMES:
            if not counts[outcome]:
                continue
            height = plot_h * counts[outcome] / top
            y -= height
            out.append(
                f'<rect class="{outcome}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{COLOURS[outcome]}"/>'
            )
        out.append("</g>")
        # A label every week, ending on the last day (right-aligned there, so it is not cut).
        if (len(series) - 1 - index) % 7 == 0:
            last = index == len(series) - 1
            anchor, label_x = ("end", x + bar) if last else ("middle", x + bar / 2)
            out.append(
                f'<text x="{label_x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}" '
                f'font-size="11" fill="#5c6670">{day:%-d %b}</text>'
            )
    out.append("</svg>")
    return "".join(out)
