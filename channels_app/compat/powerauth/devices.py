"""PowerAuth devices: a push token bound to activations becomes a Pushport Device.

Each activationId is a DeviceActivation of the device, with its status (ACTIVE, BLOCKED,
REMOVED...); /push/device/create/multi binds every id of its list. An activation is on one
device of the space at a time: registering it with another token moves it there. PowerAuth
learns an activation's user from its PowerAuth Server; Pushport has none, so a caller may add
`userId` to the create requests (the device then belongs to that Profile). Without it the
device is reached by its activationIds only.
"""

import logging

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Profile

from ...devices import REPLACED, UNREGISTERED
from ...models import (
    ApnsCredential,
    Device,
    DeviceActivation,
    DeviceEnvironment,
    FcmCredential,
    Platform,
)
from .envelope import PowerAuthError

logger = logging.getLogger(__name__)

# PowerAuth's platform names, of both releases, to Pushport's.
PLATFORMS = {
    "ios": Platform.IOS,
    "apns": Platform.IOS,
    "android": Platform.ANDROID,
    "fcm": Platform.ANDROID,
}
ACTIVE = "ACTIVE"
ACTIVATION_STATUSES = ("CREATED", "PENDING_COMMIT", "ACTIVE", "BLOCKED", "REMOVED")


def activation_ids_of(value) -> list[str]:
    """The activationIds of a create/multi request, stripped and without repeats, in order."""
    if not isinstance(value, list) or not value or not all(isinstance(i, str) for i in value):
        raise PowerAuthError("The field activationIds must be a list of activation ids.")
    ids = list(dict.fromkeys(i.strip() for i in value))
    if "" in ids:
        raise PowerAuthError("The field activationIds holds an empty activation id.")
    if any(len(i) > 64 for i in ids):
        raise PowerAuthError("The field activationIds holds an id of more than 64 characters.")
    return ids


def platform_of(value: str) -> str:
    """Pushport's platform for a PowerAuth one; PowerAuthError for hms or anything else."""
    platform = PLATFORMS.get(value.lower())
    if platform is None:
        raise PowerAuthError(
            f"Platform {value} is not supported; use ios or android (apns or fcm)."
        )
    return platform


def environment_of(value: str) -> str:
    """An iOS device's APNs environment (the later release's optional field)."""
    if not value:
        return ""
    if value not in DeviceEnvironment.values:
        raise PowerAuthError("environment must be development or production.")
    return value


def _app_id(space, platform: str) -> str:
    """The bundle id or package name the space's credential names, for the device record."""
    model, field = (
        (ApnsCredential, "bundle_id")
        if platform == Platform.IOS
        else (FcmCredential, "package_name")
    )
    return model.objects.filter(space=space).values_list(field, flat=True).first() or ""


def register(
    *,
    space,
    token: str,
    platform: str,
    activation_ids: list[str],
    user_id: str = "",
    environment="",
) -> Device:
    """Create or refresh the device of this token, bound to the activations (and user).

    A new activation is ACTIVE; a known one keeps its status and moves to this device if it
    was on another. A device left without any activation by the move is deactivated: the app
    replaced its token, as a session's re-registration does.
    """
    now = timezone.now()
    with transaction.atomic():
        defaults = {
            "app_id": _app_id(space, platform),
            "environment": environment if platform == Platform.IOS else "",
            "active": True,
            "deactivated_at": None,
            "deactivation_reason": "",
            "registered_at": now,
        }
        if user_id:
            defaults["profile"], _ = Profile.objects.get_or_create(space=space, profile_id=user_id)
        device, created = Device.objects.update_or_create(
            space=space, platform=platform, token=token, defaults=defaults
        )
        known = DeviceActivation.objects.select_for_update().filter(
            space=space, activation_id__in=activation_ids
        )
        previous = {a.device_id for a in known if a.device_id != device.pk}
        known.exclude(device=device).update(device=device, updated_at=now)
        found = set(known.values_list("activation_id", flat=True))
        # PowerAuth registers devices of live activations; a status update says otherwise.
        DeviceActivation.objects.bulk_create(
            [
                DeviceActivation(space=space, device=device, activation_id=activation_id)
                for activation_id in activation_ids
                if activation_id not in found
            ],
            # Two registrations of a new id at once: the first one's binding stands.
            ignore_conflicts=True,
        )
        if previous:
            Device.objects.filter(pk__in=previous, active=True).exclude(
                activations__isnull=False
            ).update(active=False, deactivated_at=now, deactivation_reason=REPLACED)
    logger.info(
        "PowerAuth %s device %s… %s for activations %s",
        platform,
        token[:8],
        "registered" if created else "re-registered",
        ", ".join(activation_ids),
    )
    return device


def remove(*, space, token: str) -> int:
    """Deactivate the space's devices with this token (any platform) and unbind their
    activations; how many devices.

    The activations go, not only the device: registering the token again later binds the
    activations that request names, not the ones it had before.
    """
    with transaction.atomic():
        devices = Device.objects.filter(space=space, token=token)
        DeviceActivation.objects.filter(space=space, device__in=devices).delete()
        return devices.filter(active=True).update(
            active=False, deactivated_at=timezone.now(), deactivation_reason=UNREGISTERED
        )


def update_status(*, space, activation_id: str, status: str = "") -> int:
    """Record an activation's status; how many activations of the space carry the id (0 or 1).

    PowerAuth reads the status from its PowerAuth Server when none is given; Pushport has
    none, so without `activationStatus` nothing changes.
    """
    activations = DeviceActivation.objects.filter(space=space, activation_id=activation_id)
    if not status:
        return activations.count()
    if status not in ACTIVATION_STATUSES:
        raise PowerAuthError(f"activationStatus must be one of {', '.join(ACTIVATION_STATUSES)}.")
    return activations.update(status=status, updated_at=timezone.now())
