"""Rows sent one at a time under a lease, with retries: webhook calls and MCMT bounces.

A row is due when it is pending or retrying and its next attempt has come, or when the
worker that held it died (its lease expired) with attempts left. Claiming it is a
conditional update that takes a lease and counts the attempt, so two workers never send it
at once; the lease's end identifies the claim when the result is written. Finished rows are
kept for a while, for the portal and the operator, then pruned.
"""

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

# Rows deleted per statement when pruning: a short write each, never the whole table at once.
PRUNE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class LeasedOutbox:
    """The rows of one model (with status, attempts, next_attempt_at, lease_expires_at,
    last_error and created_at) and the statuses and limits they follow."""

    model: type
    claimable: tuple
    sending: str
    failed: str
    # Statuses a row never leaves (sent or delivered, and failed).
    finished: tuple
    max_attempts: Callable[[], int]
    lease_seconds: Callable[[], float]
    # How long a finished row is kept before prune() deletes it.
    kept_days: Callable[[], float]

    def due(self, now: dt.datetime):
        """The rows that may be claimed now."""
        return self.model.objects.filter(
            Q(status__in=self.claimable, next_attempt_at__lte=now)
            | Q(status=self.sending, lease_expires_at__lte=now),
            attempts__lt=self.max_attempts(),
        )

    def claim(self, pk, now: dt.datetime) -> dt.datetime | None:
        """Lease one due row: the lease's end, or None when another worker took it first."""
        until = now + dt.timedelta(seconds=self.lease_seconds())
        taken = (
            self.due(now)
            .filter(pk=pk)
            .update(status=self.sending, lease_expires_at=until, attempts=F("attempts") + 1)
        )
        return until if taken else None

    def give_up_expired(self, now: dt.datetime, *, reason: str) -> int:
        """Fail the rows whose worker died during their last allowed attempt: nobody may take
        them again, and they must not stay "sending" for ever."""
        return self.model.objects.filter(
            status=self.sending, lease_expires_at__lte=now, attempts__gte=self.max_attempts()
        ).update(status=self.failed, lease_expires_at=None, last_error=reason)

    def drain(
        self, *, limit: int, budget_seconds: float, send: Callable[[object, dt.datetime], str]
    ) -> Counter:
        """Claim and `send(pk, lease)` due rows one at a time, oldest first, at most `limit`
        of them or for about `budget_seconds`; the outcomes `send` returned, counted."""
        started = time.monotonic()
        outcomes: Counter = Counter()
        now = timezone.now()
        due = self.due(now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
        for pk in list(due):
            if time.monotonic() - started > budget_seconds:
                break
            lease = self.claim(pk, timezone.now())
            if lease is not None:
                outcomes[send(pk, lease)] += 1
        return outcomes

    def prune(self, now: dt.datetime | None = None) -> int:
        """Delete the finished rows created more than kept_days ago; how many."""
        cutoff = (now or timezone.now()) - dt.timedelta(days=self.kept_days())
        old = self.model.objects.filter(status__in=self.finished, created_at__lt=cutoff)
        deleted = 0
        while ids := list(old.values_list("pk", flat=True)[:PRUNE_BATCH]):
            deleted += self.model.objects.filter(pk__in=ids).delete()[0]
        if deleted:
            logger.info("%s pruned=%d", self.model._meta.verbose_name_plural, deleted)
        return deleted
