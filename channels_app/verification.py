"""Verify a channel credential without a real device, and record what the provider said.

FCM validates a message (`validate_only`) without delivering it. APNs gets one request to a
well-formed dummy token: Apple authenticates before it looks at the token, so BadDeviceToken
proves the key (or certificate), team and topic were accepted.
"""

import enum
import logging
from dataclasses import dataclass

from django.utils import timezone

from .models import ApnsCredential, FcmCredential
from .providers import get_provider
from .providers.base import Outcome, Result
from .reasons import explain

logger = logging.getLogger(__name__)


class Verdict(enum.StrEnum):
    OK = "ok"
    NEEDS_ATTENTION = "needs_attention"
    # No answer about the credential (timeout, provider down): its health is left as it was.
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What a verification concluded, and the provider's answer in words."""

    verdict: Verdict
    words: str

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


APNS_ACCEPTED = "Apple accepted the key; the dummy token was refused as expected"
FCM_ACCEPTED = "FCM accepted the service account and validated a test message"


def _platform(credential) -> str:
    if isinstance(credential, ApnsCredential):
        return "ios"
    if isinstance(credential, FcmCredential):
        return "android"
    raise TypeError(f"not a channel credential: {type(credential).__name__}")


def judge(*, platform: str, result: Result) -> VerificationResult:
    """Turn the provider's answer to a verification request into a verdict."""
    if platform == "ios" and result.outcome is Outcome.INVALID_TOKEN:
        if result.reason == "BadDeviceToken":
            return VerificationResult(Verdict.OK, APNS_ACCEPTED)
        # DeviceTokenNotForTopic and the like also come after authentication.
        return VerificationResult(Verdict.OK, f"Apple accepted the key ({result.reason})")
    if result.outcome is Outcome.DELIVERED:
        words = FCM_ACCEPTED if platform == "android" else "Apple accepted the key"
        return VerificationResult(Verdict.OK, words)
    if result.outcome is Outcome.CREDENTIAL_ERROR:
        return VerificationResult(Verdict.NEEDS_ATTENTION, explain(result.reason) or "refused")
    reason = explain(result.reason) or result.outcome.value
    return VerificationResult(
        Verdict.INCONCLUSIVE, f"no answer about the credential; try again later ({reason})"
    )


def verify(credential) -> VerificationResult:
    """Ask the provider whether it accepts the credential; record the answer and the health.

    Sets verified_at and verification_result; an accepted credential is marked ok, a refused
    one needs attention with the reason; an inconclusive answer leaves the health alone.
    """
    platform = _platform(credential)
    result = judge(platform=platform, result=get_provider(platform).check_credential(credential))
    now = timezone.now()
    type(credential).objects.filter(pk=credential.pk).update(
        verified_at=now, verification_result=result.words[:255]
    )
    credential.verified_at, credential.verification_result = now, result.words[:255]
    if result.verdict is Verdict.OK:
        credential.mark_ok()
    elif result.verdict is Verdict.NEEDS_ATTENTION:
        credential.mark_needs_attention(result.words)
    credential.refresh_from_db(fields=["health", "health_reason", "health_changed_at"])
    logger.info(
        "space %s: %s credential verified: %s", credential.space_id, platform, result.verdict
    )
    return result
