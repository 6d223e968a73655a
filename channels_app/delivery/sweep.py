"""The sweeper: the database, not the broker, says what is left to send.

Every delivery row that is due and that nobody holds is found here and queued again: one whose
task a broker lost, one whose web process died between commit and enqueue, one whose publish
failed, a retry whose time has come, and one whose worker died (its lease expired). Queuing a
row pushes its `sweep_after` on by PUSHPORT_DISPATCH_GRACE_SECONDS, so a row is queued once
per grace period, not on every sweep; a claim (a conditional update) makes sure that two
hints for one row never send it twice.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Delivery, DeliveryStatus
from channels_app.tracking import refresh_statuses

from .claim import CLAIMABLE

logger = logging.getLogger(__name__)

# Most rows one sweep queues: the rest wait for the next sweep, so one sweep stays short.
SWEEP_LIMIT = 50_000
LEASE_EXPIRED = "lease expired"


@dataclass(slots=True)
class SweepReport:
    """What one sweep found, by kind."""

    reclaimed: int = 0  # expired leases put back to retrying (their attempt counted)
    gave_up: int = 0  # expired leases that had used the last attempt: failed
    queued: list[str] = field(default_factory=list)  # due rows nobody held, queued again

    def counts(self) -> dict[str, int]:
        """The report as numbers."""
        return {"reclaimed": self.reclaimed, "gave_up": self.gave_up, "queued": len(self.queued)}


def sweep(*, now: dt.datetime | None = None, limit: int = SWEEP_LIMIT) -> SweepReport:
    """Reclaim expired leases, then mark due unheld rows queued; the caller queues report.queued."""
    now = now or timezone.now()
    report = SweepReport()
    _reclaim(now, report)
    report.queued = _due(now, limit)
    logger.info(
        "delivery sweep reclaimed=%d gave_up=%d queued=%d",
        report.reclaimed,
        report.gave_up,
        len(report.queued),
    )
    return report


def _reclaim(now: dt.datetime, report: SweepReport) -> None:
    """Rows whose worker died mid-send: retried once, or failed when that was the last attempt."""
    expired = Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_expires_at__lt=now)
    last = expired.filter(attempts__gte=settings.PUSHPORT_DELIVERY_MAX_ATTEMPTS)
    message_ids = set(last.values_list("message_id", flat=True))
    report.gave_up = last.update(
        status=DeliveryStatus.FAILED,
        reason=f"gave up after {settings.PUSHPORT_DELIVERY_MAX_ATTEMPTS} attempts: {LEASE_EXPIRED}",
        lease_expires_at=None,
        claim_token=None,
        next_attempt_at=None,
        updated_at=now,
    )
    # Clearing the claim token also keeps the dead worker's late write-back, if any, out.
    report.reclaimed = expired.update(
        status=DeliveryStatus.RETRYING,
        reason=LEASE_EXPIRED,
        lease_expires_at=None,
        claim_token=None,
        next_attempt_at=now,
        sweep_after=now,
        updated_at=now,
    )
    if message_ids:
        refresh_statuses(message_ids=message_ids)
    if report.reclaimed or report.gave_up:
        logger.warning(
            "reclaimed %d deliveries with expired leases, gave up on %d",
            report.reclaimed,
            report.gave_up,
        )


def _due(now: dt.datetime, limit: int) -> list[str]:
    """Mark up to `limit` due, unheld rows as queued now; their ids, oldest first."""
    grace = dt.timedelta(seconds=settings.PUSHPORT_DISPATCH_GRACE_SECONDS)
    with transaction.atomic():
        due = (
            Delivery.objects.filter(status__in=CLAIMABLE, sweep_after__lte=now)
            .order_by("sweep_after")
            # Two sweepers at once (several web processes) split the rows between them.
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        ids = list(due)
        if ids:
            Delivery.objects.filter(id__in=ids).update(sweep_after=now + grace)
    return [str(pk) for pk in ids]


def requeue(*, message_ids, now: dt.datetime | None = None) -> list[str]:
    """Mark the unsent rows of these messages queued now, whatever their grace; their ids.

    For an Idempotency-Key replay of a send that is still unsent: the caller asked again, so
    what is left of it goes now rather than after a grace period.
    """
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.PUSHPORT_DISPATCH_GRACE_SECONDS)
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(message_id__in=list(message_ids), status__in=CLAIMABLE)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        if ids:
            Delivery.objects.filter(id__in=ids).update(sweep_after=now + grace)
    return [str(pk) for pk in ids]
