"""Accepting messages: store them, give each the channel its rules choose (rules.py), resolve
the native pushes' targets to deliveries, and queue the sending.

The deliveries are stored in the same transaction as their messages, due now but hidden from
the sweeper for a grace period; their chunks are queued once the transaction commits. If the
process dies before that, or the broker loses them, the sweeper finds the rows after the grace.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import delivery, rows, rules, tasks
from .ids import uuid7
from .messaging import one_api
from .models import Channel, Delivery, Device, Message
from .recipients import active_devices
from .tracking import refresh_statuses


def send(*, message: Message) -> None:
    """Create the deliveries of a saved message and queue them once the transaction commits."""
    send_all(messages=[message])


def send_all(*, messages: Sequence[Message], devices: dict | None = None) -> None:
    """send() for many saved messages at once: one device query per space, bulk inserts.

    `devices` is recipients.active_devices() of these messages when the caller has it.
    """
    to_recipients(messages, devices).store()


def send_to_devices(*, message: Message, devices: Sequence[Device]) -> list[str]:
    """Create the deliveries of a saved message to exactly these devices (a test push, a
    migration surface that names its devices); queued once the transaction commits. Their
    ids, in the devices' order."""
    pairs = [(message, device) for device in devices]
    return to_devices(pairs, settled=[] if devices else [message.pk]).store()


def send_pairs(pairs: Iterable[tuple[Message, Device]]) -> list[str]:
    """send_to_devices() for many saved messages, each with its own devices, in one insert.
    The deliveries' ids, in the pairs' order."""
    return to_devices(pairs).store()


@dataclass(frozen=True)
class Deliveries:
    """New deliveries, prepared before their transaction (see rows.Statement); store() writes
    and queues them."""

    stored: list[delivery.Claimed]
    insert: rows.Statement
    # Messages with nothing to deliver: settled as they are stored.
    settled: list

    def store(self) -> list[str]:
        """Insert them in the caller's transaction, queue them once it commits; their ids."""
        self.insert.run()
        refresh_statuses(message_ids=self.settled)
        ids = [str(d.id) for d in self.stored]
        if ids:
            stored = self.stored
            transaction.on_commit(lambda: tasks.enqueue_or_leave(ids, stored))
        return ids


def to_recipients(messages: Sequence[Message], devices: dict | None = None) -> Deliveries:
    """The deliveries of saved messages to their recipients' active devices (see send_all)."""
    if devices is None:
        devices = active_devices(messages)
    found = [(m, devices.get((m.space_id, m.to.get("profileId")), ())) for m in messages]
    return to_devices(
        [(message, device) for message, targets in found for device in targets],
        settled=[message.pk for message, targets in found if not targets],
    )


def to_devices(pairs: Iterable[tuple[Message, Device]], settled: Sequence = ()) -> Deliveries:
    """A delivery per (saved message, device), in order."""
    # The chunks queued on commit send these; the sweeper takes them only if that never happens.
    queued_until = timezone.now() + dt.timedelta(seconds=settings.PUSHPORT_DISPATCH_GRACE_SECONDS)
    stored = [
        delivery.Claimed.stored(
            id=uuid7(), message=message, device=device, sweep_after=queued_until
        )
        for message, device in pairs
    ]
    insert = rows.inserting_values(
        Delivery,
        [
            {
                "id": d.id,
                "message_id": d.message_id,
                "device_id": d.device_id,
                "platform": d.platform,
                "sweep_after": queued_until,
            }
            for d in stored
        ],
    )
    return Deliveries(stored, insert, list(settled))


def submit(*, message: Message, idempotency_key: str = "") -> tuple[Message, bool]:
    """Store and send a message; returns it and whether it is new.

    With an Idempotency-Key already used in the space, the first message is returned and
    nothing is sent again (the unique constraint settles concurrent duplicates).
    """
    messages, created = submit_batch(
        space=message.space, messages=[message], idempotency_keys=[idempotency_key]
    )
    return messages[0], created


def submit_batch(
    *, space, messages: Sequence[Message], idempotency_keys: Sequence[str] = ()
) -> tuple[list[Message], bool]:
    """Store and send many messages in one transaction; returns them and whether they are new.

    Each goes through the first channel of its rules that accepts it: nativePush as
    deliveries to the profile's devices, appMessaging as a post into a conversation.
    """
    keys = [key for key in idempotency_keys if key]
    if keys:
        first = _existing(space, keys)
        if first is not None:
            _resume(first)
            return first, False
        for message, key in zip(messages, idempotency_keys, strict=True):
            message.idempotency_key = key or None
    # Everything read and prepared before the transaction: inside, only the writes run.
    devices = rules.choose_channels(messages=messages)
    native = [m for m in messages if m.channel == Channel.NATIVE_PUSH]
    # Messages without rules were not looked up: to_recipients() finds their devices.
    deliveries = to_recipients(native, devices if all(m.rules for m in native) else None)
    insert = rows.inserting(messages)
    try:
        with transaction.atomic():
            insert.run()
            deliveries.store()
            for message in messages:
                if message.channel == Channel.APP_MESSAGING:
                    one_api.post(message=message)
    except IntegrityError:
        first = _existing(space, keys) if keys else None
        if first is None:
            raise
        _resume(first)
        return first, False
    return list(messages), True


def _existing(space, keys: Sequence[str]) -> list[Message] | None:
    found = {
        m.idempotency_key: m for m in Message.objects.filter(space=space, idempotency_key__in=keys)
    }
    if not found:
        return None
    return [found[key] for key in keys if key in found]


def _resume(messages: Sequence[Message]) -> None:
    """An Idempotency-Key replay: whatever of the first send is still unsent is queued now."""
    ids = delivery.requeue(message_ids=[m.pk for m in messages])
    if ids:
        tasks.enqueue_or_leave(ids)
