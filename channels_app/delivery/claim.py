"""Claiming deliveries: a conditional update leases due rows to one worker, renewals keep them.

Claimed rows are read as plain fields (one `Claimed` per row, named, no Delivery instances)
with their messages, so a chunk of thousands costs a few queries. A process that has just
stored the rows and sends them itself (no broker) hands their `Claimed` in: when the update
takes every one of them, nothing is read back.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q

from channels_app.models import Delivery, DeliveryStatus, Message

CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
# The claim asks for "not any other status": a planner without statistics (SQLite's until
# ANALYZE has seen a busy table) would otherwise walk the status index through every queued
# row of every send, a backlog of millions, instead of looking up the chunk's ids.
_NOT_CLAIMABLE = tuple(status for status in DeliveryStatus.values if status not in CLAIMABLE)
# Written back for every claimed row (recording.py); the rest of a row never changes.
WRITTEN_FIELDS = (
    "status",
    "attempts",
    "next_attempt_at",
    "lease_expires_at",
    "claim_token",
    "provider_status",
    "reason",
    "provider_id",
    "sent_at",
    "sweep_after",
    "updated_at",
)
# What sending reads of a message: the payload's fields, the space and creation time of the
# channel checks. The rest (targets, rules, metadata) is never decoded for a send.
MESSAGE_FIELDS = (
    "space_id",
    "created_at",
    "title",
    "body",
    "badge",
    "sound",
    "icon",
    "category",
    "collapse_key",
    "valid_until",
    "silent",
    "priority",
    "extras",
    "apns_data",
    "fcm_data",
    "deep_link",
)
_READ = {
    "token": F("device__token"),
    "environment": F("device__environment"),
    "active": F("device__active"),
}


@dataclass(slots=True)
class Claimed:
    """A claimed delivery: what sending reads of it, and the fields its result sets."""

    id: uuid.UUID
    message_id: uuid.UUID
    device_id: int
    platform: str
    attempts: int
    provider_id: str
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    sweep_after: dt.datetime
    # Its device, as the claim found it.
    token: str
    environment: str
    active: bool
    message: Message | None = None
    status: str = DeliveryStatus.SENDING
    lease_expires_at: dt.datetime | None = None
    claim_token: uuid.UUID | None = None
    provider_status: int | None = None
    reason: str = ""
    updated_at: dt.datetime | None = None

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @classmethod
    def stored(cls, *, id: uuid.UUID, message: Message, device, sweep_after: dt.datetime):
        """A new delivery of a message to a device, as it is stored (not yet claimed)."""
        return cls(
            id=id,
            message_id=message.pk,
            device_id=device.pk,
            platform=device.platform,
            attempts=0,
            provider_id="",
            sent_at=None,
            next_attempt_at=None,
            sweep_after=sweep_after,
            token=device.token,
            environment=device.environment,
            active=True,
            message=message,
            status=DeliveryStatus.PENDING,
        )


def lease_until(now: dt.datetime) -> dt.datetime:
    """When a lease taken or renewed now runs out."""
    return now + dt.timedelta(seconds=settings.PUSHPORT_DELIVERY_LEASE_SECONDS)


def claim(
    *, delivery_ids, now: dt.datetime, stored: list[Claimed] | None = None
) -> tuple[uuid.UUID, list[Claimed]]:
    """Lease the due, unclaimed deliveries among the ids; two workers never get the same one.

    Taking a row counts an attempt, so a worker that dies mid-send has used one. `stored` are
    the Claimed.stored() of exactly these ids, when the caller has them in memory.
    """
    token, until = uuid.uuid4(), lease_until(now)
    # The stored rows' own UUIDs spare the ORM parsing every id of the chunk from its text.
    ids = [delivery.id for delivery in stored] if stored is not None else list(delivery_ids)
    taken = Delivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
        ~Q(status__in=_NOT_CLAIMABLE),
        id__in=ids,
        attempts__lt=settings.PUSHPORT_DELIVERY_MAX_ATTEMPTS,
    ).update(
        status=DeliveryStatus.SENDING,
        claim_token=token,
        lease_expires_at=until,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if stored is not None and taken == len(stored):
        # Every row was still as stored: the claim set on each what it set on the row.
        for delivery in stored:
            delivery.status = DeliveryStatus.SENDING
            delivery.claim_token = token
            delivery.lease_expires_at = until
            delivery.attempts += 1
            delivery.updated_at = now
        return token, stored
    rows = Delivery.objects.filter(claim_token=token, status=DeliveryStatus.SENDING).values(
        *(f for f in Claimed.__dataclass_fields__ if f not in _SET_LATER), **_READ
    )
    claimed = [Claimed(**row, claim_token=token) for row in rows]
    messages = Message.objects.only(*MESSAGE_FIELDS).in_bulk(
        {delivery.message_id for delivery in claimed}
    )
    for delivery in claimed:
        delivery.message = messages[delivery.message_id]
    return token, claimed


# Claimed's fields that are not read from the row: the device's (read through _READ), the
# message (read in bulk), and what the claim itself set.
_SET_LATER = frozenset(
    {
        *_READ,
        "message",
        "status",
        "lease_expires_at",
        "claim_token",
        "provider_status",
        "reason",
        "updated_at",
    }
)


def renew(*, token: uuid.UUID, now: dt.datetime) -> int:
    """Extend the lease of the rows this claim still holds (those not yet recorded)."""
    return Delivery.objects.filter(claim_token=token, status=DeliveryStatus.SENDING).update(
        lease_expires_at=lease_until(now)
    )
