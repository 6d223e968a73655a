"""Native push fallback: a message's `alert` goes through the delivery engine to the
participants who would not see the socket frame.

The reference leaves who gets pushed to us. Chosen: participants other than the sender with
no open socket (presence.py), on every active device of their profile. The SDK's alert is
{text, platforms: {apns: {badge, sound, alert, payload}, fcm: {data, notification}}}; the
newer API's is {title, body, platforms}; both are read. First cut: one notification for both
platforms, its text from the platform fields when given (so an app that set them sees them),
and the conversation and message ids as data so a tap can open the conversation.
"""

from ..models import Device, Message
from ..sending import send_to_devices
from . import presence
from .models import Conversation, ConversationMessage


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _fields(alert: dict) -> dict:
    platforms = alert.get("platforms") if isinstance(alert.get("platforms"), dict) else {}
    apns = platforms.get("apns") if isinstance(platforms.get("apns"), dict) else {}
    fcm = platforms.get("fcm") if isinstance(platforms.get("fcm"), dict) else {}
    note = fcm.get("notification") if isinstance(fcm.get("notification"), dict) else {}
    apns_alert = apns.get("alert")
    if isinstance(apns_alert, dict):
        apns_title, apns_body = _text(apns_alert.get("title")), _text(apns_alert.get("body"))
    else:
        apns_title, apns_body = "", _text(apns_alert)
    fields = {
        "title": _text(note.get("title")) or apns_title or _text(alert.get("title")),
        "body": _text(note.get("body"))
        or apns_body
        or _text(alert.get("text"))
        or _text(alert.get("body")),
        "sound": _text(apns.get("sound")),
        "collapse_key": _text(fcm.get("collapse_key")),
    }
    if isinstance(apns.get("badge"), int):
        fields["badge"] = apns["badge"]
    if isinstance(apns.get("payload"), dict):
        fields["apns_data"] = {k: v for k, v in apns["payload"].items() if k != "aps"}
    if isinstance(fcm.get("data"), dict):
        fields["fcm_data"] = {k: str(v) for k, v in fcm["data"].items()}
    return fields


def push_alert(
    *, conversation: Conversation, message: ConversationMessage, recipients: list[str]
) -> int:
    """Queue the alert of a message to the offline recipients' devices; how many devices.

    Called inside the sending transaction: the deliveries commit with the message.
    """
    if not isinstance(message.alert, dict) or not recipients:
        return 0
    offline = set(recipients) - presence.online(
        space_id=conversation.space_id, profile_ids=recipients
    )
    devices = list(
        Device.objects.filter(
            space_id=conversation.space_id, active=True, profile__profile_id__in=offline
        ).select_related("profile")
    )
    by_profile: dict[str, list[Device]] = {}
    for device in devices:
        by_profile.setdefault(device.profile.profile_id, []).append(device)
    fields = _fields(message.alert)
    for profile_id, targets in by_profile.items():
        push = Message.objects.create(
            space_id=conversation.space_id,
            to={"profileId": profile_id},
            rules=["appMessaging"],
            extras={"conversationId": conversation.conversation_id, "messageId": str(message.id)},
            **fields,
        )
        send_to_devices(message=push, devices=targets)
    return len(devices)
