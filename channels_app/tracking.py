"""Where a message stands: per-platform counts and its overall status, derived from deliveries.

Counts are aggregated on demand from the Delivery rows (one indexed GROUP BY) rather than
stored, so concurrent workers never race on a counter; only the final status is stored.
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Case, Count, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from .models import Delivery, DeliveryStatus, Message, MessageStatus, Platform

UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRYING)
FAILED = (DeliveryStatus.FAILED, DeliveryStatus.INVALID_TOKEN)
QUEUED = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
# A queued row whose sweep time passed this long ago should have been queued again by now.
SWEEP_OVERDUE = dt.timedelta(minutes=5)


def stuck(now: dt.datetime) -> dict[str, Q]:
    """Deliveries nobody is moving, by kind: a sending row whose lease ran out, or a queued
    row the sweep should have queued again long ago (no sweep is running)."""
    return {
        "lease_expired": Q(status=DeliveryStatus.SENDING, lease_expires_at__lt=now),
        "sweep_overdue": Q(status__in=QUEUED, sweep_after__lt=now - SWEEP_OVERDUE),
    }


def message_counts(message: Message) -> dict[str, dict]:
    """{platform: {sent, pending, failed, total, stuck, failures: {reason: n}}} for one message.

    `stuck` counts the pending ones nobody is moving (see stuck()): a sign for the operator.
    """
    counts = {
        platform: {"sent": 0, "pending": 0, "failed": 0, "total": 0, "stuck": 0, "failures": {}}
        for platform in Platform.values
    }
    rows = (
        Delivery.objects.filter(message=message)
        .values_list("platform", "status", "reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    for platform, status, reason, n in rows:
        bucket = counts[platform]
        bucket["total"] += n
        if status == DeliveryStatus.DELIVERED:
            bucket["sent"] += n
        elif status in FAILED:
            bucket["failed"] += n
            key = reason or status
            bucket["failures"][key] = bucket["failures"].get(key, 0) + n
        else:
            bucket["pending"] += n
    if any(bucket["pending"] for bucket in counts.values()):
        either = Q()
        for condition in stuck(timezone.now()).values():
            either |= condition
        found = (
            Delivery.objects.filter(either, message=message)
            .values_list("platform")
            .annotate(n=Count("id"))
            .order_by()
        )
        for platform, n in found:
            counts[platform]["stuck"] = n
    return counts


def refresh_statuses(*, message_ids: Iterable) -> None:
    """Settle each processing message with no unfinished delivery: sent if any arrived, else failed.

    Run after results are committed: of concurrent workers, the one committing last sees
    every delivery finished, so the status is always settled exactly once it can be.
    """
    unfinished = Delivery.objects.filter(message=OuterRef("pk"), status__in=UNFINISHED)
    delivered = Delivery.objects.filter(message=OuterRef("pk"), status=DeliveryStatus.DELIVERED)
    Message.objects.filter(pk__in=list(message_ids), status=MessageStatus.PROCESSING).exclude(
        Exists(unfinished)
    ).update(
        status=Case(
            When(Exists(delivered), then=Value(MessageStatus.SENT)),
            default=Value(MessageStatus.FAILED),
        )
    )
