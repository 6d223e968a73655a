"""What the channels add to a space's overview: the 30-day chart, devices by platform, health."""

from django.db.models import Count
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..models import ApnsCredential, DailyCount, Device, FcmCredential, Platform
from . import chart

DAYS = 30


def device_counts(*, space) -> list[dict]:
    """[{platform, label, active, inactive}] for every platform: one grouped query."""
    rows = (
        Device.objects.filter(space=space)
        .values_list("platform", "active")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(platform, active): n for platform, active, n in rows}
    return [
        {
            "platform": platform,
            "label": label,
            "active": counts.get((platform, True), 0),
            "inactive": counts.get((platform, False), 0),
        }
        for platform, label in Platform.choices
    ]


def channel_health(*, space) -> dict:
    """{platform: its provider credential, or None where none is configured}."""
    return {
        Platform.ANDROID: FcmCredential.objects.filter(space=space).first(),
        Platform.IOS: ApnsCredential.objects.filter(space=space).first(),
    }


def charts(*, space, end=None) -> list[dict]:
    """[{platform, label, svg, days}] over the last 30 days (UTC), from the stored daily counts."""
    end = end or timezone.now().date()
    days = chart.last_days(end=end, days=DAYS)
    rows = DailyCount.objects.filter(space=space, day__gte=days[0], day__lte=end)
    series = chart.daily_outcomes(rows, days=days, platforms=Platform.values)
    labels = dict(Platform.choices)
    return [
        {
            "platform": platform,
            "label": labels[platform],
            # chart.svg escapes every text it writes; the rest is numbers.
            "svg": mark_safe(chart.svg(points, label=f"{labels[platform]} deliveries per day")),  # noqa: S308
            "days": points,
            "total": sum(sum(counts.values()) for _, counts in points),
        }
        for platform, points in series.items()
    ]


def activity(*, space, membership) -> dict:
    """The overview section's data (registered with portal.extensions)."""
    health = channel_health(space=space)
    devices = device_counts(space=space)
    for row in devices:
        credential = health.get(row["platform"])
        row["credential"] = credential
        row["health_class"] = credential.health.replace("_", "-") if credential else ""
    return {"charts": charts(space=space), "devices": devices}
