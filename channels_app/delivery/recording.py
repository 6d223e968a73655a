"""Recording results: each delivery's fields from its provider's answer, written back in small
groups as the answers arrive, while the chunk's lease is kept alive.

Writing every few hundred milliseconds (or every RECORD_EVERY results) instead of once per
chunk is what bounds a crash: a worker killed mid-send leaves unrecorded only the answers
of its last moments and the requests still in flight, and only those are sent again.
"""

import datetime as dt
import logging
import time
import uuid
from collections import Counter, defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app import backoff, bounces, rows, webhooks
from channels_app.models import DailyCount, Delivery, DeliveryStatus, Device
from channels_app.providers.base import Outcome, Result
from channels_app.tracking import refresh_statuses

from .claim import WRITTEN_FIELDS, Claimed, renew

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "channel not configured"
# A group of results is written once it holds this many, or once its first is this old. On a
# fast provider a chunk's results are one group (each write is a transaction, and SQLite has
# one writer at a time); on a slow one the timer bounds what a crash leaves unrecorded.
RECORD_EVERY = 500
RECORD_WITHIN_SECONDS = 0.2


def retry_delay(*, attempts: int, retry_after: float | None) -> float:
    """The wait before a delivery's next attempt; at least the provider's Retry-After."""
    return backoff.delay(
        attempts,
        base=settings.PUSHPORT_RETRY_BASE_SECONDS,
        most=settings.PUSHPORT_RETRY_MAX_SECONDS,
        at_least=retry_after or 0.0,
    )


def apply(delivery: Claimed, result: Result, *, now: dt.datetime) -> str:
    """Set the delivery's fields from one result (in memory); returns the outcome to count."""
    delivery.provider_status = result.status
    delivery.reason = result.reason[:255]
    delivery.lease_expires_at = None
    delivery.claim_token = None
    delivery.updated_at = now
    outcome = str(result.outcome)
    if result.outcome == Outcome.DELIVERED:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.provider_id = result.provider_id[:255]
        delivery.sent_at = now
        delivery.next_attempt_at = None
    elif result.outcome == Outcome.UNSENT:
        # The provider never saw it: the attempt is given back and it goes again soon.
        delivery.attempts -= 1
        _retry_at(delivery, now + dt.timedelta(seconds=settings.PUSHPORT_RETRY_BASE_SECONDS))
    elif (
        result.outcome == Outcome.RETRY
        and delivery.attempts < settings.PUSHPORT_DELIVERY_MAX_ATTEMPTS
    ):
        delay = retry_delay(attempts=delivery.attempts, retry_after=result.retry_after)
        _retry_at(delivery, now + dt.timedelta(seconds=delay))
    elif result.outcome == Outcome.INVALID_TOKEN:
        delivery.status = DeliveryStatus.INVALID_TOKEN
        delivery.next_attempt_at = None
    else:
        if result.outcome == Outcome.RETRY:
            outcome = "gave_up"
            delivery.reason = f"gave up after {delivery.attempts} attempts: {delivery.reason}"[:255]
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    if result.reason == NOT_CONFIGURED:
        outcome = "not_configured"
    return outcome


def _retry_at(delivery: Claimed, when: dt.datetime) -> None:
    delivery.status = DeliveryStatus.RETRYING
    delivery.next_attempt_at = when
    # The sweeper queues it once it is due, and not before.
    delivery.sweep_after = when


class Recorder:
    """Writes one claim's results back in small groups, and renews its lease meanwhile."""

    def __init__(self, token: uuid.UUID):
        self.token = token
        self.outcomes: Counter = Counter()
        self.by_platform: dict[str, Counter] = defaultdict(Counter)
        self._waiting: list[Claimed] = []
        self._invalid: list[tuple[Claimed, Result]] = []
        self._first_at = 0.0
        self._renewed_at = time.monotonic()

    def add(self, delivery: Claimed, result: Result, now: dt.datetime | None = None) -> None:
        """Take one result, heard `now` (default: now); written with its group (see flush)."""
        outcome = apply(delivery, result, now=now or timezone.now())
        self.outcomes[outcome] += 1
        self.by_platform[delivery.platform][outcome] += 1
        if not self._waiting:
            self._first_at = time.monotonic()
        self._waiting.append(delivery)
        if result.outcome == Outcome.INVALID_TOKEN:
            self._invalid.append((delivery, result))
        if len(self._waiting) >= RECORD_EVERY:
            self.flush()

    def tick(self) -> None:
        """Write a group that waited long enough; renew the lease when a third of it is gone."""
        now = time.monotonic()
        if self._waiting and now - self._first_at >= RECORD_WITHIN_SECONDS:
            self.flush()
        if now - self._renewed_at >= settings.PUSHPORT_DELIVERY_LEASE_SECONDS / 3:
            renew(token=self.token, now=timezone.now())
            self._renewed_at = now

    def flush(self) -> None:
        """Write the waiting results, deactivate dead tokens, settle finished messages."""
        if not self._waiting:
            return
        waiting, invalid = self._waiting, self._invalid
        self._waiting, self._invalid = [], []
        # A lease reclaimed meanwhile belongs to someone else now: the token check skips it.
        results = rows.updating(
            waiting, WRITTEN_FIELDS, where={"claim_token": self.token}, model=Delivery
        )
        daily = rows.adding_counts(DailyCount, _daily(waiting), key=DAILY_KEY)
        with transaction.atomic():
            results.run()
            # The provider's word on a token holds even if this lease was reclaimed meanwhile.
            _deactivate(invalid)
            daily.run()
        refresh_statuses(message_ids={delivery.message_id for delivery in waiting})
        webhooks.emit_for_deliveries(waiting)
        # A row per bounce owed; the workers talk to the mail relay, never this send.
        bounces.queue_for_deliveries(waiting)


DAILY_KEY = ("space", "day", "platform", "outcome")
# The outcomes the overview charts, counted when a result reaches one (a row whose lease was
# reclaimed meanwhile may be counted by both claims: the chart is an overview).
_CHARTED = frozenset(
    {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.INVALID_TOKEN}
)


def _daily(recorded: list[Claimed]) -> Counter:
    """Final outcomes by (space, day, platform, outcome), for DailyCount."""
    counts: Counter = Counter()
    for delivery in recorded:
        if delivery.status in _CHARTED:
            day = delivery.updated_at.date()
            counts[(delivery.message.space_id, day, delivery.platform, delivery.status)] += 1
    return counts


def _deactivate(invalid: list[tuple[Claimed, Result]]) -> None:
    """Deactivate the devices whose tokens the provider called invalid.

    A device registered again after the provider's invalid-since time keeps its new token.
    """
    if not invalid:
        return
    now = timezone.now()
    groups: dict[tuple[str, dt.datetime | None], list[int]] = defaultdict(list)
    for delivery, result in invalid:
        groups[(result.reason or "invalid token", result.invalid_since)].append(delivery.device_id)
    for (reason, invalid_since), device_ids in groups.items():
        devices = Device.objects.filter(pk__in=device_ids, active=True)
        if invalid_since is not None:
            devices = devices.filter(registered_at__lte=invalid_since)
        devices.update(active=False, deactivated_at=now, deactivation_reason=reason[:100])
