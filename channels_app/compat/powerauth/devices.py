"""PowerAuth devices: a push token bound to an activation becomes a Pushport Device.

activationId is Device.activation_id; its status (ACTIVE, BLOCKED, REMOVED...) is
Device.activation_status. PowerAuth learns an activation's user from its PowerAuth Server;
Pushport has none, so a caller may add `userId` to the create requests (the device then
belongs to that Profile). Without it the device is reached by its activationId only.

A Device holds one activation: /push/device/create/multi binds the token to the first
activation of the list (the others are not stored; see the README).
"""

import logging

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Profile

from ...devices import REPLACED, UNREGISTERED
from ...models import ApnsCredential, Device, DeviceEnvironment, FcmCredential, Platform
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
    *, space, token: str, platform: str, activation_id: str, user_id: str = "", environment=""
) -> Device:
    """Create or refresh the device of this token, bound to the activation (and user).

    Another device of the space with this activation is deactivated: the app replaced its
    token, as a session's re-registration does.
    """
    now = timezone.now()
    with transaction.atomic():
        defaults = {
            "activation_id": activation_id,
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
        if not device.activation_status:
            # PowerAuth registers devices of live activations; a status update says otherwise.
            Device.objects.filter(pk=device.pk).update(activation_status=ACTIVE)
        Device.objects.filter(space=space, activation_id=activation_id, active=True).exclude(
            pk=device.pk
        ).update(active=False, deactivated_at=now, deactivation_reason=REPLACED)
    logger.info(
        "PowerAuth %s device %s… %s for activation %s",
        platform,
        token[:8],
        "registered" if created else "re-registered",
        activation_id,
    )
    return device


def remove(*, space, token: str) -> int:
    """Deactivate the space's devices with this token (any platform); how many."""
    return Device.objects.filter(space=space, token=token, active=True).update(
        active=False, deactivated_at=timezone.now(), deactivation_reason=UNREGISTERED
    )


def update_status(*, space, activation_id: str, status: str = "") -> int:
    """Record an activation's status on its devices; how many devices carry it.

    PowerAuth reads the status from its PowerAuth Server when none is given; Pushport has
    none, so without `activationStatus` nothing changes.
    """
    devices = Device.objects.filter(space=space, activation_id=activation_id)
    if not status:
        return devices.count()
    if status not in ACTIVATION_STATUSES:
        raise PowerAuthError(f"activationStatus must be one of {', '.join(ACTIVATION_STATUSES)}.")
    return devices.update(activation_status=status)
