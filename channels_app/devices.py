"""Device registration: the push details a session gives become a Device of its profile."""

import logging

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Session

from .models import Device, Platform

logger = logging.getLogger(__name__)

UNREGISTERED = "unregistered"
REPLACED = "replaced"


def _device_fields(push: dict) -> tuple[str, str, dict]:
    """(platform, token, other fields) of validated push details."""
    if "apns" in push:
        apns = push["apns"]
        return (
            Platform.IOS,
            apns["token"],
            {
                "app_id": apns["bundleId"],
                "environment": apns["environment"],
            },
        )
    fcm = push["fcm"]
    return Platform.ANDROID, fcm["registrationId"], {"app_id": fcm["package"], "environment": ""}


def _deactivate(queryset, *, reason: str) -> int:
    return queryset.filter(active=True).update(
        active=False, session=None, deactivated_at=timezone.now(), deactivation_reason=reason
    )


def register_push_details(*, session: Session, push: dict) -> Device:
    """Register a session's push details (validated by PushDetailsSerializer) as its device.

    The device belongs to the session's profile. A token already known in the space (same
    platform) moves to this profile and is reactivated. A device the session registered
    before, with another token, is deactivated: the app replaced it.
    """
    platform, token, fields = _device_fields(push)
    now = timezone.now()
    with transaction.atomic():
        device, created = Device.objects.update_or_create(
            space_id=session.space_id,
            platform=platform,
            token=token,
            defaults={
                **fields,
                "profile_id": session.profile_id,
                "session": session,
                "active": True,
                "deactivated_at": None,
                "deactivation_reason": "",
                "registered_at": now,
            },
        )
        replaced = _deactivate(
            Device.objects.filter(session=session).exclude(pk=device.pk), reason=REPLACED
        )
    logger.info(
        "%s device %s… %s for session %s (replaced %d)",
        platform,
        token[:8],
        "registered" if created else "re-registered",
        session.id,
        replaced,
    )
    return device


def unregister_push_details(*, session: Session) -> int:
    """Deactivate and detach the session's device(s); returns how many."""
    count = _deactivate(Device.objects.filter(session=session), reason=UNREGISTERED)
    logger.info("session %s unregistered %d device(s)", session.id, count)
    return count


def describe_push_details(*, session: Session) -> dict | None:
    """The session's active device as the Session API's push details, or None.

    The shape is the PUT body's, so an SDK that stores the session sees what it registered.
    """
    device = (
        Device.objects.filter(session=session, active=True)
        .order_by("-registered_at")
        .only("platform", "token", "app_id", "environment")
        .first()
    )
    if device is None:
        return None
    if device.platform == Platform.IOS:
        return {
            "apns": {
                "bundleId": device.app_id,
                "environment": device.environment,
                "token": device.token,
            }
        }
    return {"fcm": {"package": device.app_id, "registrationId": device.token}}
