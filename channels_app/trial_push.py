"""Test pushes from the portal: to a profile's devices or to one device, read back in words."""

from dataclasses import dataclass

from django.db import transaction

from . import sending
from .models import DeliveryStatus, Device, Message
from .reasons import describe_delivery

DEFAULT_TITLE = "Test push from Pushport"
DEFAULT_BODY = "If you can read this, this device gets your pushes."
# Still moving: a page showing these offers a refresh instead of an outcome.
# Marks a portal test push among the space's messages.
TAG = {"testPush": True}
UNSETTLED = frozenset({DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRYING})


def send_test_push(
    *, space, title: str, body: str, profile_id: str = "", device: Device | None = None
) -> Message:
    """Store and send a test message to every active device of a profile, or to one device.

    A profile goes through sending.submit_batch like any API send, one device through
    sending.send_to_devices; without a broker the first attempt happens before this returns.
    """
    if device is None:
        message = Message(
            space=space, to={"profileId": profile_id}, title=title, body=body, metadata=TAG
        )
        (message,), _ = sending.submit_batch(space=space, messages=[message])
        return message
    to = {"deviceId": str(device.pk)}
    if device.profile_id:
        to["profileId"] = device.profile.profile_id
    message = Message(space=space, to=to, title=title, body=body, metadata=TAG)
    with transaction.atomic():
        message.save()
        sending.send_to_devices(message=message, devices=[device])
    return message


@dataclass(frozen=True, slots=True)
class DeviceOutcome:
    """One device's outcome of a test push, as the page shows it."""

    device: Device
    status: str
    label: str
    words: str
    settled: bool


def outcomes(*, message: Message) -> list[DeviceOutcome]:
    """Each delivery of the message, its device and its outcome in words."""
    deliveries = message.deliveries.select_related("device").order_by("platform", "created_at")
    return [
        DeviceOutcome(
            device=delivery.device,
            status=delivery.status,
            label=delivery.get_status_display(),
            words=describe_delivery(status=delivery.status, reason=delivery.reason),
            settled=delivery.status not in UNSETTLED,
        )
        for delivery in deliveries
    ]
