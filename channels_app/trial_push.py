"""Test pushes from the portal: to a profile's devices or to one device, read back in words."""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import sending, tasks
from .models import Delivery, DeliveryStatus, Device, Message
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

    A profile goes through sending.submit_batch like any API send. One device is a delivery
    of its own (the engine targets profiles), queued the same way once the transaction
    commits; without a broker the first attempt therefore happens before this returns.
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
    grace = dt.timedelta(seconds=settings.PUSHPORT_DISPATCH_GRACE_SECONDS)
    with transaction.atomic():
        message.save()
        delivery = Delivery.objects.create(
            id=uuid.uuid4(),
            message=message,
            device=device,
            platform=device.platform,
            # The queued chunk sends it; the sweeper only if that never happens (as in sending).
            sweep_after=timezone.now() + grace,
        )
        ids = [str(delivery.pk)]
        transaction.on_commit(lambda: tasks.enqueue_or_leave(ids))
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
