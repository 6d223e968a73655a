"""A space's first steps, each ticked from what is really stored, and its credentials' health.

The overview walks a new admin through them: authentication, a verified credential, an API
key, an app whose SDK reached Pushport, a first push.
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from sessions_app.models import AppMessagingAuth, Session

from .credential_health import Expiry, certificate_expiry
from .models import ApnsCredential, Device, FcmCredential, Health, Message


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the getting-started list."""

    key: str
    label: str
    done: bool
    hint: str


def getting_started(*, space) -> list[Step]:
    """The five first steps of a space, in order, each done or not."""
    credentials = [
        *FcmCredential.objects.filter(space=space),
        *ApnsCredential.objects.filter(space=space),
    ]
    return [
        Step(
            "auth",
            "Configure App Messaging authentication",
            AppMessagingAuth.objects.filter(space=space).exists(),
            "How Pushport checks the JWTs your server gives your app's users.",
        ),
        Step(
            "credential",
            "Upload an FCM or APNs credential and verify it",
            any(c.health == Health.OK for c in credentials),
            "Uploaded, but not verified yet: press Verify on the Channels page."
            if credentials
            else "A service account (Android) or a .p8 key or .p12 certificate (iOS).",
        ),
        Step(
            "api_key",
            "Create an API key",
            space.api_keys.filter(revoked_at__isnull=True).exists(),
            "Your server sends pushes with it.",
        ),
        Step(
            "sdk",
            "Point your app's SDK at Pushport",
            Session.objects.filter(space=space).exists()
            or Device.objects.filter(space=space).exists(),
            "Ticks when the first session starts or the first device registers.",
        ),
        Step(
            "test_push",
            "Send a first test push",
            Message.objects.filter(space=space).exists(),
            "From the Channels page, or a device or profile page.",
        ),
    ]


@dataclass(frozen=True, slots=True)
class CredentialState:
    """A credential's health as the overview says it."""

    channel: str
    label: str
    health: str
    words: str
    expiry: str
    expiry_words: str
    verified_at: dt.datetime | None


def health_words(credential) -> str:
    """unverified, ok, or needs attention: reason."""
    if credential.health == Health.NEEDS_ATTENTION:
        return f"needs attention: {credential.health_reason or 'the provider refused it'}"
    if credential.health == Health.OK:
        return "ok"
    return "unverified"


def expiry_words(not_after: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """ "expired 3 days ago", "expires today", "expires in 9 days"."""
    now = now or timezone.now()
    days = (not_after - now) / dt.timedelta(days=1)
    if days <= 0:
        ago = math.floor(-days)
        return "expired today" if ago == 0 else f"expired {ago} day{'s' * (ago != 1)} ago"
    whole = math.floor(days)
    return "expires today" if whole == 0 else f"expires in {whole} day{'s' * (whole != 1)}"


def credential_states(*, space, now=None) -> list[CredentialState]:
    """Each configured credential of the space: its health in words and certificate expiry."""
    now = now or timezone.now()
    states = []
    fcm = FcmCredential.objects.filter(space=space).first()
    if fcm is not None:
        states.append(_state(fcm, "fcm", "Android (FCM)", expiry="", expiry_text=""))
    apns = ApnsCredential.objects.filter(space=space).first()
    if apns is not None:
        days = settings.PUSHPORT_CREDENTIAL_WARNING_DAYS
        expiry = certificate_expiry(apns, days=days, now=now)
        text = expiry_words(apns.not_after, now=now) if apns.not_after else ""
        label = f"Apple (APNs) {apns.get_kind_display()}"
        states.append(_state(apns, "apns", label, expiry=expiry or Expiry.VALID, expiry_text=text))
    return states


def _state(credential, channel, label, *, expiry, expiry_text) -> CredentialState:
    return CredentialState(
        channel=channel,
        label=label,
        health=credential.health,
        words=health_words(credential),
        expiry=expiry,
        expiry_words=expiry_text,
        verified_at=credential.verified_at,
    )
