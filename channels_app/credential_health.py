"""Which channel credentials need a person: certificates near expiry, credentials a send refused."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from .models import ApnsCredential, ApnsKind, FcmCredential, Health


class Expiry:
    EXPIRED = "expired"
    EXPIRING = "expiring"
    VALID = ""


def certificate_expiry(credential: ApnsCredential, *, days: int, now=None) -> str:
    """Expiry.EXPIRED, Expiry.EXPIRING (within `days`) or Expiry.VALID for an APNs credential."""
    if credential.kind != ApnsKind.CERTIFICATE or credential.not_after is None:
        return Expiry.VALID
    now = now or timezone.now()
    if credential.not_after <= now:
        return Expiry.EXPIRED
    if credential.not_after <= now + dt.timedelta(days=days):
        return Expiry.EXPIRING
    return Expiry.VALID


@dataclass(frozen=True, slots=True)
class Concern:
    """One credential that needs a person, and why."""

    space_id: str
    space_name: str
    channel: str
    problem: str

    def __str__(self):
        return f"{self.space_name} ({self.space_id}): {self.channel}: {self.problem}"


def credential_concerns(*, days: int, now=None) -> list[Concern]:
    """Every expired or expiring APNs certificate and every credential marked needs attention."""
    now = now or timezone.now()
    concerns = []
    apns = ApnsCredential.objects.select_related("space").order_by("space__name", "space_id")
    for credential in apns:
        label = f"APNs {credential.get_kind_display()}"
        expiry = certificate_expiry(credential, days=days, now=now)
        if expiry:
            verb = "expired on" if expiry == Expiry.EXPIRED else "expires on"
            when = f"{credential.not_after:%Y-%m-%d %H:%M} UTC"
            concerns.append(_concern(credential, label, f"certificate {verb} {when}"))
        if credential.health == Health.NEEDS_ATTENTION:
            concerns.append(_concern(credential, label, _attention(credential)))
    fcm = FcmCredential.objects.select_related("space").filter(health=Health.NEEDS_ATTENTION)
    for credential in fcm.order_by("space__name", "space_id"):
        concerns.append(_concern(credential, "FCM", _attention(credential)))
    return concerns


def _attention(credential) -> str:
    return f"needs attention: {credential.health_reason or 'the provider refused it'}"


def _concern(credential, channel: str, problem: str) -> Concern:
    return Concern(
        space_id=str(credential.space_id),
        space_name=credential.space.name,
        channel=channel,
        problem=problem,
    )
