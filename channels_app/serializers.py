"""Send API shapes (Comapi "One API" MessageBase and Message, plus Pushport's push fields)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Channel, Delivery, Message, Priority
from .tracking import message_counts

SUPPORTED_RULES = tuple(Channel.values)
MAX_BADGE = 2**31 - 1
# Channels of the Comapi API that Pushport does not deliver (yet): named, not just "invalid".
KNOWN_RULES = ("sms", "mms", "email", "fbMessenger", "whatsApp", "rcs")


class ToSerializer(serializers.Serializer):
    profileId = serializers.CharField(max_length=255)


class UrlSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)


class DeepLinkSerializer(serializers.Serializer):
    trackingLink = serializers.CharField(max_length=2000, required=False)
    apns = UrlSerializer(required=False)
    fcm = UrlSerializer(required=False)


class PushDataSerializer(serializers.Serializer):
    apns = serializers.DictField(
        required=False, help_text="Merged into the APNs payload (keys beside aps, or aps keys)."
    )
    fcm = serializers.DictField(
        required=False, help_text="Merged into the FCM data (values sent as strings)."
    )
    isSilent = serializers.BooleanField(required=False, default=False)


class NativePushSerializer(serializers.Serializer):
    data = PushDataSerializer(required=False)
    deepLink = DeepLinkSerializer(required=False)
    # Stored in a 32-bit integer column: a larger number is a 400, never a database error.
    badge = serializers.IntegerField(required=False, min_value=0, max_value=MAX_BADGE)
    sound = serializers.CharField(required=False, max_length=255)
    category = serializers.CharField(required=False, max_length=255)
    icon = serializers.CharField(required=False, max_length=255)
    collapseKey = serializers.CharField(required=False, max_length=255)
    priority = serializers.ChoiceField(choices=Priority.values, required=False)


class SenderSerializer(serializers.Serializer):
    """channelOptions.appMessaging.from: who the conversation shows as the sender."""

    profileId = serializers.CharField(max_length=255, required=False)
    name = serializers.CharField(max_length=255, required=False)
    avatarUrl = serializers.CharField(max_length=2000, required=False)


class AppMessagingSerializer(serializers.Serializer):
    def get_fields(self):
        # `from` is a Python keyword, so it cannot be declared as a class attribute.
        fields = super().get_fields()
        fields["from"] = SenderSerializer(required=False)
        return fields


class ChannelOptionsSerializer(serializers.Serializer):
    appMessaging = AppMessagingSerializer(required=False)
    nativePush = NativePushSerializer(required=False)


class MessagePartSerializer(serializers.Serializer):
    """One part of a message's content (Comapi messagePart)."""

    type = serializers.CharField(max_length=255, help_text="Its MIME type, e.g. text/plain.")
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    data = serializers.JSONField(required=False, help_text="A string or a JSON object.")
    size = serializers.IntegerField(min_value=0, max_value=MAX_BADGE, required=False)
    channels = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        help_text="The channels it is for; without it, every channel.",
    )


# Comapi fields Pushport refuses rather than ignore (a send would silently lose them).
UNSUPPORTED_FIELDS = {
    "customBody": "send nativePush's platform data in channelOptions.nativePush.data",
    "overrides": "create or update the conversation through App Messaging's API first",
}


class MessageRequestSerializer(serializers.Serializer):
    """One message to send (Comapi MessageBase)."""

    to = ToSerializer()
    rules = serializers.ListField(child=serializers.CharField(max_length=50), allow_empty=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    body = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    metadata = serializers.DictField(required=False)
    expiresOn = serializers.DateTimeField(required=False)
    conversationId = serializers.CharField(
        required=False,
        max_length=255,
        help_text="appMessaging: the conversation to post into, created when the space has "
        "none with this id; without it every send starts a new conversation.",
    )
    channelOptions = ChannelOptionsSerializer(required=False)
    messageParts = MessagePartSerializer(
        many=True,
        required=False,
        help_text="appMessaging: the conversation message's parts (those whose channels leave "
        "out appMessaging are not posted); without them, body (else title) is one text/plain "
        "part.",
    )
    customBody = serializers.DictField(required=False, help_text="Not supported: refused.")
    overrides = serializers.DictField(required=False, help_text="Not supported: refused.")

    def validate_customBody(self, value):
        raise _unsupported("customBody")

    def validate_overrides(self, value):
        raise _unsupported("overrides")

    def validate_rules(self, rules):
        for rule in rules:
            if rule in SUPPORTED_RULES:
                continue
            if rule in KNOWN_RULES:
                raise serializers.ValidationError(
                    f"The channel {rule!r} is not supported; Pushport delivers "
                    "appMessaging and nativePush.",
                    code="unsupported_rule",
                )
            raise serializers.ValidationError(
                f"{rule!r} is not a channel; use appMessaging or nativePush.",
                code="unknown_rule",
            )
        return rules

    @staticmethod
    def to_message(data: dict, *, space, sent_by: str = "") -> Message:
        """An unsaved Message of one validated item; `sent_by` is the caller as a conversation
        message's context.sentBy records it (e.g. "access:<API key id>")."""
        app_messaging = _plain(data.get("channelOptions", {}).get("appMessaging", {}))
        if sent_by:
            app_messaging["sentBy"] = sent_by
        if "messageParts" in data:
            app_messaging["messageParts"] = [_plain(part) for part in data["messageParts"]]
        push = data.get("channelOptions", {}).get("nativePush", {})
        push_data = push.get("data", {})
        return Message(
            space=space,
            to=dict(data["to"]),
            rules=data["rules"],
            title=data.get("title", ""),
            body=data.get("body", ""),
            metadata=data.get("metadata", {}),
            valid_until=data.get("expiresOn"),
            apns_data=push_data.get("apns", {}),
            fcm_data=push_data.get("fcm", {}),
            silent=push_data.get("isSilent", False),
            deep_link=_plain(push.get("deepLink", {})),
            badge=push.get("badge"),
            sound=push.get("sound", ""),
            category=push.get("category", ""),
            icon=push.get("icon", ""),
            collapse_key=push.get("collapseKey", ""),
            priority=push.get("priority", Priority.HIGH),
            conversation_id=data.get("conversationId", ""),
            app_messaging=app_messaging,
        )


def _unsupported(field: str) -> serializers.ValidationError:
    return serializers.ValidationError(
        f"{field} is not supported by Pushport; {UNSUPPORTED_FIELDS[field]}.",
        code="unsupported_field",
    )


def _plain(value):
    """Nested OrderedDicts of validated data as plain JSON values."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


class PlatformCountsSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Not yet sent: queued, sending or retrying.")
    stuck = serializers.IntegerField(
        help_text="Of the pending, those nobody is moving: a worker's lease ran out, or no "
        "sweep has queued them for over 5 minutes. Non-zero means the operator should look."
    )
    failed = serializers.IntegerField()
    total = serializers.IntegerField()
    failures = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='Failed deliveries by reason, e.g. {"channel not configured": 2}.',
    )


class StatusDetailsSerializer(serializers.Serializer):
    channelId = serializers.ChoiceField(
        choices=Channel.values,
        allow_null=True,
        help_text="The first channel of rules that accepted the message; null when none did.",
    )
    conversationId = serializers.CharField(
        required=False, help_text="appMessaging: the conversation the message was posted into."
    )
    failureReason = serializers.CharField(
        required=False, help_text="When no channel accepted the message: why each refused."
    )


def status_details(message: Message) -> dict:
    """statusDetails of a stored message: the channel that took it and what that adds."""
    return {"channelId": message.channel or None, **message.channel_details}


class MessageSerializer(serializers.Serializer):
    """A stored message: the echoed request, its status and per-platform counts."""

    messageId = serializers.UUIDField(source="id")
    status = serializers.CharField(
        help_text="processing, then sent or failed; an appMessaging message goes on to "
        "delivered and read as its recipient's SDK reports them."
    )
    statusDetails = serializers.SerializerMethodField()
    sentOn = serializers.DateTimeField(source="created_at")
    to = serializers.DictField()
    rules = serializers.ListField(child=serializers.CharField())
    title = serializers.CharField()
    body = serializers.CharField()
    metadata = serializers.DictField()
    expiresOn = serializers.DateTimeField(source="valid_until", allow_null=True)
    conversationId = serializers.CharField(source="conversation_id")
    channelOptions = serializers.SerializerMethodField()
    messageParts = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    @extend_schema_field(StatusDetailsSerializer)
    def get_statusDetails(self, message: Message) -> dict:
        return status_details(message)

    @extend_schema_field(ChannelOptionsSerializer)
    def get_channelOptions(self, message: Message) -> dict:
        fields = {
            "badge": message.badge,
            "sound": message.sound,
            "category": message.category,
            "icon": message.icon,
            "collapseKey": message.collapse_key,
            "deepLink": message.deep_link,
        }
        push = {key: value for key, value in fields.items() if value not in (None, "", {})}
        push["priority"] = message.priority
        data = {"isSilent": message.silent}
        if message.apns_data:
            data["apns"] = message.apns_data
        if message.fcm_data:
            data["fcm"] = message.fcm_data
        push["data"] = data
        options = {"nativePush": push}
        sender = message.app_messaging.get("from")
        if sender:
            options["appMessaging"] = {"from": sender}
        return options

    @extend_schema_field(MessagePartSerializer(many=True))
    def get_messageParts(self, message: Message) -> list:
        return message.app_messaging.get("messageParts", [])

    @extend_schema_field(serializers.DictField(child=PlatformCountsSerializer()))
    def get_counts(self, message: Message) -> dict:
        return message_counts(message)


class BatchItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    messageId = serializers.UUIDField()
    statusDetails = StatusDetailsSerializer()


class DeliverySerializer(serializers.ModelSerializer):
    """One message to one device; the token is shown only as its first 8 characters."""

    deliveryId = serializers.UUIDField(source="id")
    tokenPrefix = serializers.SerializerMethodField()
    providerStatus = serializers.IntegerField(source="provider_status", allow_null=True)
    providerId = serializers.CharField(source="provider_id")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Delivery
        fields = [
            "deliveryId",
            "platform",
            "tokenPrefix",
            "status",
            "attempts",
            "providerStatus",
            "reason",
            "providerId",
            "nextAttemptAt",
            "sentAt",
            "createdAt",
            "updatedAt",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_tokenPrefix(self, delivery: Delivery) -> str:
        return delivery.device.token[:8]
