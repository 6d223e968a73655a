"""PowerAuth message sends: a user's devices (or one activation's), personal ones only to
ACTIVE activations, stored and sent by the delivery engine; counts per platform.

The engine sends a message to a profile's devices; PowerAuth narrows that (activationId,
personal), so the chosen devices get their deliveries through sending.send_to_devices. Without
a broker the first attempt runs when the transaction commits, inside the request, so the
counts answered are final; with workers they are what has happened so far (pending).
"""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from ...models import (
    ApnsCredential,
    Device,
    DeviceActivation,
    FcmCredential,
    Message,
    Priority,
)
from ...payloads import PayloadError, validate_message
from ...sending import send_to_devices
from ...tracking import message_counts
from .devices import ACTIVE
from .envelope import PowerAuthError, flag, number, obj, text, timestamp

# Marks a message sent through this surface among the space's messages.
TAG = {"source": "powerauth"}
PRIORITIES = {"HIGH": Priority.HIGH, "NORMAL": Priority.NORMAL}
MODES = ("SYNCHRONOUS", "ASYNCHRONOUS")


def body_fields(body: dict, *, name: str = "body") -> dict:
    """A PowerAuth message body as Message fields."""
    body = obj(body, name=name)
    extras = body.get("extras") or {}
    if not isinstance(extras, dict):
        raise PowerAuthError(f"{name}.extras must be a JSON object.")
    badge = number(body, "badge", required=False)
    if badge is not None and badge > 2**31 - 1:
        raise PowerAuthError(f"{name}.badge is too large.")
    return {
        "title": text(body, "title", required=False, max_length=1000),
        "body": text(body, "body", required=False, max_length=10000),
        "badge": badge,
        "sound": text(body, "sound", required=False),
        "icon": text(body, "icon", required=False),
        "category": text(body, "category", required=False),
        "collapse_key": text(body, "collapseKey", required=False),
        "valid_until": timestamp(body, "validUntil"),
        "extras": extras,
    }


def _devices(space, *, user_id: str, activation_id: str, personal: bool) -> list[Device]:
    devices = Device.objects.filter(space=space, active=True)
    if activation_id:
        # The activation's device, unless it is known to belong to someone else.
        named = DeviceActivation.objects.filter(
            space=space, activation_id=activation_id, device=OuterRef("pk")
        )
        if personal:
            named = named.filter(status=ACTIVE)
        devices = devices.filter(Exists(named)).filter(
            Q(profile__isnull=True) | Q(profile__profile_id=user_id)
        )
    else:
        devices = devices.filter(profile__space=space, profile__profile_id=user_id)
        if personal:
            # A device without activations was registered without PowerAuth (an SDK session):
            # nothing says it is not live. One with activations needs an ACTIVE one.
            bound = DeviceActivation.objects.filter(device=OuterRef("pk"))
            devices = devices.filter(~Exists(bound) | Exists(bound.filter(status=ACTIVE)))
    return list(devices.only("id", "platform"))


def build(space, item, *, priority: str, bundle_id: str, package_name: str) -> Message:
    """An unsaved Message of one PowerAuth message object; PowerAuthError when invalid."""
    item = obj(item, name="message")
    user_id = text(item, "userId")
    activation_id = text(item, "activationId", required=False, max_length=64)
    attributes = obj(item.get("attributes") or {}, name="attributes")
    to = {"profileId": user_id}
    if activation_id:
        to["activationId"] = activation_id
    message = Message(
        space=space,
        to=to,
        rules=["nativePush"],
        silent=flag(attributes, "silent"),
        priority=priority,
        metadata={**TAG, "personal": flag(attributes, "personal")},
        **body_fields(item.get("body") or {}),
    )
    try:
        validate_message(message, bundle_id=bundle_id, package_name=package_name)
    except PayloadError as exc:
        raise PowerAuthError(exc.message) from exc
    return message


def priority_of(data: dict) -> str:
    """The later release's `priority` (NORMAL or HIGH; HIGH when absent)."""
    value = data.get("priority") or "HIGH"
    if value not in PRIORITIES:
        raise PowerAuthError("priority must be NORMAL or HIGH.")
    if data.get("mode") not in (None, *MODES):
        raise PowerAuthError("mode must be SYNCHRONOUS or ASYNCHRONOUS.")
    return PRIORITIES[value]


def send(*, space, items: list, priority: str) -> dict:
    """Store and send one message per item; the `result` counts of all of them.

    All or nothing: an invalid item stores none. The deliveries are queued when the
    transaction commits.
    """
    bundle_id = (
        ApnsCredential.objects.filter(space=space).values_list("bundle_id", flat=True).first() or ""
    )
    package_name = (
        FcmCredential.objects.filter(space=space).values_list("package_name", flat=True).first()
        or ""
    )
    messages = [
        build(space, item, priority=priority, bundle_id=bundle_id, package_name=package_name)
        for item in items
    ]
    with transaction.atomic():
        for message in messages:
            message.save()
            send_to_devices(
                message=message,
                devices=_devices(
                    space,
                    user_id=message.to["profileId"],
                    activation_id=message.to.get("activationId", ""),
                    personal=message.metadata["personal"],
                ),
            )
    return counts(messages)


def counts(messages) -> dict:
    """{"ios": {sent, pending, failed, total}, "android": {...}} summed over the messages."""
    result = {
        name: {"sent": 0, "pending": 0, "failed": 0, "total": 0} for name in ("ios", "android")
    }
    for message in messages:
        for platform, found in message_counts(message).items():
            for key in result[platform]:
                result[platform][key] += found[key]
    return result
