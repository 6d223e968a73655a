"""Accepting messages: store them, give each the channel its rules choose (rules.py), resolve
the native pushes' targets to deliveries, and queue the sending.

The deliveries are stored in the same transaction as their messages, due now but hidden from
the sweeper for a grace period; their chunks are queued once the transaction commits. If the
process dies before that, or the broker loses them, the sweeper finds the rows after the grace.
"""

import datetime as dt
from collections.abc import Iterable, Sequence

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
    if devices is None:
        devices = active_devices(messages)
    send_pairs(
        (message, device)
        for message in messages
        for device in devices.get((message.space_id, message.to.get("profileId")), ())
    )
    # A message with no device to go to is settled now; the others when their chunks finish.
    refresh_statuses(
        message_ids=[m.pk for m in messages if not devices.get((m.space_id, m.to.get("profileId")))]
    )


def send_to_devices(*, message: Message, devices: Sequence[Device]) -> list[str]:
    """Create the deliveries of a saved message to exactly these devices (a test push, a
    migration surface that names its devices); queued once the transaction commits. Their
    ids, in the devices' order."""
    if not devices:
        refresh_statuses(message_ids=[message.pk])
    return send_pairs([(message, device) for device in devices])


def send_pairs(pairs: Iterable[tuple[Message, Device]]) -> list[str]:
    """send_to_devices() for many saved messages, each with its own devices, in one insert.
    The deliveries' ids, in the pairs' order."""
    # The chunks queued on commit send these; the sweeper takes them only if that never happens.
    queued_until = timezone.now() + dt.timedelta(seconds=settings.PUSHPORT_DISPATCH_GRACE_SECONDS)
    stored = [
        delivery.Claimed.stored(
            id=uuid7(), message=message, device=device, sweep_after=queued_until
        )
        for message, device in pairs
    ]
    rows.insert_values(
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
    ids = [str(d.id) for d in stored]
    if ids:
        transaction.on_commit(lambda: tasks.enqueue_or_leave(ids, stored))
    return ids


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
    try:
        with transaction.atomic():
            devices = rules.choose_channels(messages=messages)
            rows.insert(messages)
            native = [m for m in messages if m.channel == Channel.NATIVE_PUSH]
            # Messages without rules were not looked up: send_all finds their devices.
            send_all(messages=native, devices=devices if all(m.rules for m in native) else None)
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
