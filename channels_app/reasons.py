"""Provider reasons and delivery statuses in words a person acts on.

Providers answer with codes (APNs `reason`, FCM `errorCode`), and the engine stores them as
they came in `Delivery.reason`, `health_reason` and `verification_result`. Pages show them
through `explain` so the same code reads the same everywhere.
"""

from .models import DeliveryStatus

# The leading code of a stored reason ("UNREGISTERED: Requested entity..." -> UNREGISTERED)
# and what it means for whoever configured the space.
REASON_WORDS = {
    # APNs: the token
    "BadDeviceToken": "the token is not a valid token of this app in this APNs environment "
    "(a development build's token sent to production, or the other way round)",
    "DeviceTokenNotForTopic": "the token belongs to another app (bundle ID)",
    "Unregistered": "the app was uninstalled or stopped accepting notifications",
    "ExpiredToken": "the token has expired; the app must register again",
    # APNs: the credential
    "InvalidProviderToken": "Apple refused the key: the key ID, team ID or .p8 key does not "
    "match a key of this team",
    "MissingProviderToken": "Apple got no provider token: the credential has no key",
    "ExpiredProviderToken": "Apple says the provider token expired (check the server's clock)",
    "BadCertificate": "Apple refused the certificate",
    "BadCertificateEnvironment": "the certificate is for the other APNs environment",
    "BadEnvironmentKeyIdInToken": "the key is not enabled for this APNs environment",
    "TopicDisallowed": "the key may not push to this bundle ID",
    "BadTopic": "the bundle ID (topic) is not one this credential may push to",
    "MissingTopic": "the certificate covers several topics and none was named",
    "Forbidden": "Apple refused the request for this credential",
    # FCM: the token
    "UNREGISTERED": "the app was uninstalled or the token expired",
    "INVALID_ARGUMENT": "FCM refused the request as invalid (usually a malformed token)",
    "SENDER_ID_MISMATCH": "the token belongs to another Firebase project",
    # FCM: the credential
    "THIRD_PARTY_AUTH_ERROR": "FCM could not authenticate with Apple for this iOS app",
    "PERMISSION_DENIED": "the service account may not send messages for this project "
    "(it needs the Firebase Cloud Messaging API Admin role)",
    "UNAUTHENTICATED": "Google refused the service account's access token",
    "OAuth token refused": "Google refused the service account (a revoked or deleted key?)",
    "NOT_FOUND": "FCM does not know this project id",
    "QUOTA_EXCEEDED": "FCM's sending quota is exceeded; it will be tried again",
    "UNAVAILABLE": "FCM is unavailable for now; it will be tried again",
    "INTERNAL": "FCM had an internal error; it will be tried again",
    # Pushport's own
    "channel not configured": "this platform has no credential in this space",
}

STATUS_WORDS = {
    DeliveryStatus.PENDING: "waiting to be sent",
    DeliveryStatus.SENDING: "being sent",
    DeliveryStatus.DELIVERED: "delivered to the provider",
    DeliveryStatus.RETRYING: "will be tried again",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.INVALID_TOKEN: "invalid token (the device was deactivated)",
}


def _code(reason: str) -> str:
    for separator in (":", " ("):
        reason = reason.split(separator, 1)[0]
    return reason.strip()


def explain(reason: str) -> str:
    """A stored provider reason in words; the reason itself when nothing better is known."""
    if not reason:
        return ""
    for prefix in ("not sent: ", "gave up after "):
        if reason.startswith(prefix):
            # "gave up after 5 attempts: X" and "not sent: X" explain X.
            inner = reason.split(": ", 1)[1] if ": " in reason else ""
            return explain(inner) if inner else reason
    words = REASON_WORDS.get(_code(reason)) or REASON_WORDS.get(reason.split(":", 1)[0])
    return f"{words} ({reason})" if words else reason


def describe_delivery(*, status: str, reason: str) -> str:
    """One delivery's outcome in words: its status, and why when it did not go."""
    words = STATUS_WORDS.get(status, status)
    explained = explain(reason)
    if status == DeliveryStatus.DELIVERED or not explained:
        return words
    return f"{words}: {explained}"
