"""Request and response shapes of the Session API, named as the Comapi SDKs name them."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Profile, Session
from .push import push_details

ANON_USER_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
APNS_TOKEN_PATTERN = r"^[0-9A-Fa-f]{64,200}$"
FCM_TOKEN_PATTERN = r"^\S{1,512}$"
MAX_PLATFORM_VERSION = Session._meta.get_field("platform_version").max_length


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.JSONField(required=False)


class SessionStartSerializer(serializers.Serializer):
    authenticationId = serializers.CharField()
    provider = serializers.CharField()
    nonce = serializers.CharField()
    expiresOn = serializers.DateTimeField()


class ApnsPushSerializer(serializers.Serializer):
    bundleId = serializers.CharField(max_length=255)
    environment = serializers.ChoiceField(choices=["development", "production"])
    token = serializers.RegexField(
        APNS_TOKEN_PATTERN,
        error_messages={"invalid": "An APNs device token is 64 or more hexadecimal characters."},
    )

    def validate_token(self, value: str) -> str:
        # APNs tokens are hex: one device, one spelling, whatever case the app sent.
        return value.lower()


class FcmPushSerializer(serializers.Serializer):
    package = serializers.CharField(max_length=255)
    registrationId = serializers.RegexField(
        FCM_TOKEN_PATTERN,
        error_messages={"invalid": "An FCM registration token is 1 to 512 non-space characters."},
    )


class PushDetailsSerializer(serializers.Serializer):
    """Exactly one of `apns` or `fcm`."""

    apns = ApnsPushSerializer(required=False)
    fcm = FcmPushSerializer(required=False)

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Give exactly one of 'apns' or 'fcm'.")
        return attrs


class SessionCreateSerializer(serializers.Serializer):
    authenticationId = serializers.CharField(max_length=64)
    authenticationToken = serializers.CharField(max_length=16384)
    deviceId = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    platform = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    platformVersion = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=f"Kept to its first {MAX_PLATFORM_VERSION} characters (browsers send their "
        "whole user agent).",
    )
    sdkType = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    sdkVersion = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    push = PushDetailsSerializer(required=False, allow_null=True)

    def validate_platformVersion(self, value: str) -> str:
        return value[:MAX_PLATFORM_VERSION]

    def device(self) -> dict:
        """The validated device fields, named as the Session model names them."""
        data = self.validated_data
        return {
            "device_id": data["deviceId"],
            "platform": data["platform"],
            "platform_version": data["platformVersion"],
            "sdk_type": data["sdkType"],
            "sdk_version": data["sdkVersion"],
        }


class SessionSerializer(serializers.ModelSerializer):
    profileId = serializers.CharField(source="profile.profile_id")
    deviceId = serializers.CharField(source="device_id")
    platformVersion = serializers.CharField(source="platform_version")
    sdkType = serializers.CharField(source="sdk_type")
    sdkVersion = serializers.CharField(source="sdk_version")
    sourceIp = serializers.IPAddressField(source="source_ip", allow_null=True)
    isActive = serializers.BooleanField(source="is_active")
    createdOn = serializers.DateTimeField(source="created_at", help_text="As the JS SDK reads it.")
    startedOn = serializers.DateTimeField(source="created_at", help_text="As the OpenAPI names it.")
    expiresOn = serializers.DateTimeField(source="expires_at")
    push = serializers.SerializerMethodField(
        help_text="The push details the session registered; absent when it registered none."
    )

    class Meta:
        model = Session
        fields = [
            "id",
            "profileId",
            "deviceId",
            "platform",
            "platformVersion",
            "sdkType",
            "sdkVersion",
            "sourceIp",
            "isActive",
            "createdOn",
            "startedOn",
            "expiresOn",
            "push",
        ]

    @extend_schema_field(PushDetailsSerializer(required=False))
    def get_push(self, session: Session) -> dict | None:
        return push_details(session=session)

    def to_representation(self, instance: Session) -> dict:
        data = super().to_representation(instance)
        # The public schema's push is optional: absent, not null, when nothing is registered.
        if data.get("push") is None:
            data.pop("push", None)
        return data


class SessionCreatedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The session token: send it as a Bearer token.")
    session = SessionSerializer()


class AnonTokenQuerySerializer(serializers.Serializer):
    id = serializers.RegexField(
        ANON_USER_ID_PATTERN,
        help_text="The anonymous user's id; the profile id becomes anon_<id>.",
        error_messages={"invalid": "An id is 1 to 128 letters, digits or any of . _ : -"},
    )
    nonce = serializers.CharField(max_length=64, help_text="The nonce from sessions/start.")


class AnonTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="A JWT to answer the SDK's authChallenge with.")


class ProfileSerializer(serializers.Serializer):
    """A profile as the API shows it: `id`, the client's own fields, and read-only `_` fields."""

    id = serializers.CharField(source="profile_id")
    _createdOn = serializers.DateTimeField(source="created_at")
    _updatedOn = serializers.DateTimeField(source="updated_at")
    _lastActivityOn = serializers.DateTimeField(source="last_seen_at", allow_null=True)

    def to_representation(self, instance: Profile) -> dict:
        fixed = super().to_representation(instance)
        # id first; the server's own fields last, so client data can never override them.
        return {"id": fixed["id"], **instance.data, **fixed}
