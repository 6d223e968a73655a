"""The overview chart: DailyCount rows to a series, a series to an SVG readable without scripts."""

import datetime as dt
import re
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from django.urls import reverse

from channels_app.models import DailyCount, Platform
from channels_app.web import chart
from tests.factories import DeviceFactory

END = dt.date(2026, 3, 30)


def row(day, platform, outcome, count):
    return SimpleNamespace(day=day, platform=platform, outcome=outcome, count=count)


def test_daily_outcomes_fill_every_day_and_leave_out_what_is_outside():
    days = chart.last_days(end=END, days=3)
    assert days == [dt.date(2026, 3, 28), dt.date(2026, 3, 29), END]
    series = chart.daily_outcomes(
        [
            row(END, "ios", "delivered", 7),
            row(END, "ios", "invalid_token", 2),
            row(dt.date(2026, 3, 28), "android", "failed", 1),
            row(dt.date(2026, 3, 1), "ios", "delivered", 99),  # before the window
            row(END, "webpush", "delivered", 5),  # another platform
        ],
        days=days,
        platforms=["ios", "android"],
    )
    zero = {"delivered": 0, "failed": 0, "invalid_token": 0}
    assert series["ios"] == [
        (days[0], zero),
        (days[1], zero),
        (END, {"delivered": 7, "failed": 0, "invalid_token": 2}),
    ]
    assert series["android"][0] == (days[0], {"delivered": 0, "failed": 1, "invalid_token": 0})


def test_the_svg_stacks_each_day_with_a_title_naming_its_counts():
    series = [
        (dt.date(2026, 3, 29), {"delivered": 0, "failed": 0, "invalid_token": 0}),
        (END, {"delivered": 80, "failed": 15, "invalid_token": 5}),
    ]
    svg = chart.svg(series, label="iOS deliveries per day")
    root = ElementTree.fromstring(svg)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    titles = [t.text for t in root.iter(f"{ns}title")]
    assert titles[0] == "iOS deliveries per day: 100 outcomes"
    assert "29 Mar 2026: 0 delivered, 0 failed, 0 invalid token" in titles
    assert "30 Mar 2026: 80 delivered, 15 failed, 5 invalid token" in titles
    bars = {r.get("class"): r for r in root.iter(f"{ns}rect") if r.get("class")}
    assert set(bars) == {"delivered", "failed", "invalid_token"}
    # The axis tops at 100: the plot is 146 high, so 80 is 116.8 high and sits on the axis.
    assert float(bars["delivered"].get("height")) == pytest.approx(116.8)
    assert float(bars["delivered"].get("y")) + 116.8 == pytest.approx(156)
    assert float(bars["failed"].get("height")) == pytest.approx(21.9)
    assert [t.text for t in root.iter(f"{ns}text")][:3] == ["0", "50", "100"]


def test_the_svg_escapes_its_label_and_copes_with_nothing_recorded():
    svg = chart.svg([(END, dict.fromkeys(chart.OUTCOMES, 0))], label="<b>&")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
    ElementTree.fromstring(svg)


@pytest.mark.django_db
def test_the_overview_shows_the_chart_a_table_and_devices_by_platform(space, owner_client):
    today = dt.datetime.now(dt.UTC).date()
    DailyCount.objects.create(
        space=space, day=today, platform=Platform.IOS, outcome="delivered", count=42
    )
    DeviceFactory(space=space, platform=Platform.ANDROID)
    DeviceFactory(space=space, platform=Platform.ANDROID, active=False)
    response = owner_client.get(reverse("space-overview", kwargs={"space_id": space.id}))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 2
    assert f"{today:%-d %b %Y}: 42 delivered, 0 failed, 0 invalid token" in html
    # The numbers without the picture: a table row for the day.
    assert re.search(r"<td[^>]*>42</td><td[^>]*>0</td><td[^>]*>0</td>", html)
    [section] = [
        s
        for s in response.context["sections"]
        if s["template"] == "channels_app/_overview_activity.html"
    ]
    [android] = [r for r in section["data"]["devices"] if r["platform"] == "android"]
    assert (android["active"], android["inactive"]) == (1, 1)
    assert "<script" not in html
