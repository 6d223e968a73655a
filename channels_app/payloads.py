"""Build the APNs and FCM payloads of a Message, once per message and platform.

Everything a provider refuses is refused here first, with a named `PayloadError`, so
nothing is stored or sent for a message no device could receive. The per-device work left
to a provider is inserting the token: the APNs body is shared as is, and the FCM request
body is pre-serialized around the place the token goes.
"""

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from channels_app.models import Message, Priority

APNS_MAX_PAYLOAD_BYTES = 4096
FCM_MAX_PAYLOAD_BYTES = 4096
COLLAPSE_KEY_MAX_BYTES = 64
# FCM keeps a message at most four weeks; a longer validity is clamped to it.
FCM_MAX_TTL_SECONDS = 28 * 24 * 3600
FCM_RESERVED_DATA_KEYS = frozenset({"from", "message_type", "notification"})
FCM_RESERVED_DATA_PREFIXES = ("google.", "gcm.")
# Keys Apple defines inside `aps`; a sender may set them through data.apns["aps"].
APNS_APS_KEYS = frozenset(
    {
        "alert",
        "badge",
        "sound",
        "thread-id",
        "category",
        "content-available",
        "mutable-content",
        "target-content-id",
        "interruption-level",
        "relevance-score",
        "filter-criteria",
    }
)
# A silent (background) push carries nothing that shows or sounds.
APNS_SILENT_FORBIDDEN_KEYS = frozenset({"alert", "badge", "sound"})
DEEP_LINK_KEY = "dd_deepLink"
# Message.apns_data holding this key carries a whole APNs payload as given (its exact
# JSON text), sent unchanged instead of one built from the message's fields.
GIVEN_PAYLOAD_KEY = "_pushport_given_payload"
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]*\Z")


class PayloadError(ValueError):
    """A message no provider would accept; `code` is stable, `message` says what to fix."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True, frozen=True)
class ApnsPayload:
    """Headers and body shared by every APNs request of one message (token goes in the path)."""

    headers: dict[str, str]
    body: bytes


@dataclass(slots=True, frozen=True)
class FcmPayload:
    """The FCM `message` object of one message, and its request body around the token."""

    message: dict[str, Any]
    body_prefix: bytes
    body_suffix: bytes

    def request_body(self, token: str) -> bytes:
        """The messages:send body for one device."""
        # FCM tokens need no JSON escaping; anything else is escaped like the rest.
        quoted = b'"%s"' % token.encode() if _PLAIN_TOKEN.match(token) else _json_bytes(token)
        return b"".join((self.body_prefix, quoted, self.body_suffix))


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json_bytes(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


def _object(value: Any, *, field: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise PayloadError(
            "custom_data_not_object", f"{field} must be a JSON object of keys and values."
        )
    return value


def _seconds_left(message: Message) -> int | None:
    """Whole seconds until valid_until (None without one); refuses a time already past."""
    if message.valid_until is None:
        return None
    left = message.valid_until.timestamp() - time.time()
    if left <= 0:
        raise PayloadError(
            "valid_until_past",
            f"expiresOn {message.valid_until.isoformat()} is in the past; nothing would arrive.",
        )
    return math.ceil(left)


def _check_collapse_key(message: Message) -> None:
    size = len(message.collapse_key.encode())
    if size > COLLAPSE_KEY_MAX_BYTES:
        raise PayloadError(
            "collapse_key_too_long",
            f"collapseKey is {size} bytes; APNs and FCM take at most {COLLAPSE_KEY_MAX_BYTES}.",
        )


def _deep_link(message: Message, platform: str) -> dict[str, str] | None:
    """The SDK's dd_deepLink {url, trackingUrl} for one platform, or None without a url."""
    deep_link = _object(message.deep_link, field="deepLink")
    url = _object(deep_link.get(platform), field=f"deepLink.{platform}").get("url")
    if not url:
        return None
    link = {"url": str(url)}
    if deep_link.get("trackingLink"):
        link["trackingUrl"] = str(deep_link["trackingLink"])
    return link


def _aps(message: Message, overrides: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - APNS_APS_KEYS)
    if unknown:
        raise PayloadError(
            "invalid_aps_key",
            f"data.apns.aps may only hold Apple's aps keys; not {', '.join(unknown)}. "
            "Put custom keys beside aps.",
        )
    if message.silent:
        shown = sorted(set(overrides) & APNS_SILENT_FORBIDDEN_KEYS)
        if shown:
            raise PayloadError(
                "silent_with_alert",
                f"A silent message cannot carry {', '.join(shown)} in aps.",
            )
        return {**overrides, "content-available": 1}
    aps: dict[str, Any] = {}
    alert = {
        key: value for key, value in (("title", message.title), ("body", message.body)) if value
    }
    if alert:
        aps["alert"] = alert
    if message.badge is not None:
        if message.badge < 0:
            raise PayloadError("invalid_badge", "badge must be 0 (clears it) or more.")
        aps["badge"] = message.badge
    if message.sound:
        aps["sound"] = message.sound
    if message.category:
        aps["category"] = message.category
    aps.update(overrides)
    return aps


def given_apns_payload(body: bytes, *, bundle_id: str) -> ApnsPayload:
    """A payload taken as given (Momentum MCMT): validated, its bytes sent unchanged.

    The body must be a UTF-8 JSON object of at most 4096 bytes with an `aps` object. The
    headers follow from it: a payload whose aps is only content-available 1 is a background
    push (priority 5, as Apple requires), anything else an alert (priority 10).
    """
    if not body.strip():
        raise PayloadError("payload_empty", "The payload is empty; APNs needs a JSON object.")
    if len(body) > APNS_MAX_PAYLOAD_BYTES:
        raise PayloadError(
            "apns_payload_too_large",
            f"The APNs payload is {len(body)} bytes; APNs takes at most {APNS_MAX_PAYLOAD_BYTES}.",
        )
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(
            "payload_not_utf8", f"The payload is not UTF-8 (byte {exc.start}); JSON must be."
        ) from exc
    except ValueError as exc:
        raise PayloadError("payload_not_json", f"The payload is not JSON: {exc}.") from exc
    except RecursionError as exc:
        # 4096 bytes of brackets nest deeper than Python's parser goes.
        raise PayloadError("payload_not_json", "The payload nests too deeply to be read.") from exc
    if not isinstance(payload, dict):
        raise PayloadError("payload_not_object", "The payload must be a JSON object.")
    aps = payload.get("aps")
    if not isinstance(aps, dict):
        raise PayloadError(
            "payload_without_aps", "The payload needs an aps object (alert, badge, sound...)."
        )
    background = aps == {"content-available": 1}
    headers = {
        "apns-push-type": "background" if background else "alert",
        "apns-priority": "5" if background else "10",
        "apns-topic": bundle_id,
    }
    return ApnsPayload(headers=headers, body=body)


def apns_payload(message: Message, *, bundle_id: str) -> ApnsPayload:
    """The APNs headers and JSON body of a message, refusing what APNs would refuse."""
    given = (
        message.apns_data.get(GIVEN_PAYLOAD_KEY) if isinstance(message.apns_data, dict) else None
    )
    if isinstance(given, str):
        # A payload injected as given (MCMT) is sent byte for byte, never rebuilt from fields;
        # it was validated when stored and is checked again here, as every payload is.
        return given_apns_payload(given.encode("utf-8"), bundle_id=bundle_id)
    _check_collapse_key(message)
    seconds_left = _seconds_left(message)
    extras = _object(message.extras, field="extras")
    apns_data = _object(message.apns_data, field="data.apns")
    if "aps" in extras:
        raise PayloadError("reserved_data_key", "extras cannot hold aps; use data.apns.aps.")
    payload: dict[str, Any] = {**extras, **apns_data}
    payload["aps"] = _aps(message, _object(apns_data.get("aps"), field="data.apns.aps"))
    deep_link = _deep_link(message, "apns")
    if deep_link:
        payload[DEEP_LINK_KEY] = deep_link
    body = _json_bytes(payload)
    if len(body) > APNS_MAX_PAYLOAD_BYTES:
        raise PayloadError(
            "apns_payload_too_large",
            f"The APNs payload is {len(body)} bytes; APNs takes at most {APNS_MAX_PAYLOAD_BYTES}.",
        )
    background = message.silent
    headers = {
        "apns-push-type": "background" if background else "alert",
        "apns-priority": "5" if background or message.priority == Priority.NORMAL else "10",
        "apns-topic": bundle_id,
    }
    if seconds_left is not None:
        headers["apns-expiration"] = str(int(message.valid_until.timestamp()))
    if message.collapse_key:
        headers["apns-collapse-id"] = message.collapse_key
    return ApnsPayload(headers=headers, body=body)


def _fcm_data(message: Message) -> dict[str, str]:
    """extras + data.fcm (+ the deep link) as FCM's map of strings."""
    merged = {
        **_object(message.extras, field="extras"),
        **_object(message.fcm_data, field="data.fcm"),
    }
    deep_link = _deep_link(message, "fcm")
    if deep_link:
        merged[DEEP_LINK_KEY] = deep_link
    for key in merged:
        if key in FCM_RESERVED_DATA_KEYS or key.startswith(FCM_RESERVED_DATA_PREFIXES):
            raise PayloadError(
                "reserved_data_key",
                f"FCM reserves the data key {key!r} (from, message_type, notification, "
                "google.*, gcm.*); rename it.",
            )
    return {
        key: value if isinstance(value, str) else _json_bytes(value).decode()
        for key, value in merged.items()
    }


def _android(message: Message, *, package_name: str, seconds_left: int | None) -> dict:
    android: dict[str, Any] = {
        "priority": "NORMAL" if message.priority == Priority.NORMAL else "HIGH"
    }
    if seconds_left is not None:
        android["ttl"] = f"{min(seconds_left, FCM_MAX_TTL_SECONDS)}s"
    if message.collapse_key:
        android["collapse_key"] = message.collapse_key
    if package_name:
        android["restricted_package_name"] = package_name
    if not message.silent:
        notification = {
            key: value
            for key, value in (
                ("icon", message.icon),
                ("sound", message.sound),
                ("tag", message.collapse_key),
            )
            if value
        }
        if notification:
            android["notification"] = notification
    return android


def fcm_message(message: Message, *, package_name: str) -> FcmPayload:
    """The FCM v1 `message` (without its token) of a message, refusing what FCM would refuse."""
    _check_collapse_key(message)
    seconds_left = _seconds_left(message)
    fcm: dict[str, Any] = {}
    if not message.silent:
        notification = {
            key: value for key, value in (("title", message.title), ("body", message.body)) if value
        }
        if notification:
            fcm["notification"] = notification
    data = _fcm_data(message)
    if data:
        fcm["data"] = data
    fcm["android"] = _android(message, package_name=package_name, seconds_left=seconds_left)
    encoded = _json_bytes(fcm)
    if len(encoded) > FCM_MAX_PAYLOAD_BYTES:
        raise PayloadError(
            "fcm_payload_too_large",
            f"The FCM message is {len(encoded)} bytes; FCM takes at most {FCM_MAX_PAYLOAD_BYTES}.",
        )
    # `encoded` ends with "}"; the token goes in as the message's last field.
    return FcmPayload(
        message=fcm,
        body_prefix=b'{"message":' + encoded[:-1] + b',"token":',
        body_suffix=b"}}",
    )


def validate_message(message: Message, *, bundle_id: str = "", package_name: str = "") -> None:
    """Raise the PayloadError either platform would raise; pass the space's ids when known."""
    apns_payload(message, bundle_id=bundle_id)
    fcm_message(message, package_name=package_name)
