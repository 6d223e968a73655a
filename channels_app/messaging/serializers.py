"""Request bodies of the conversation surface, as the SDK's builders serialise them."""

from rest_framework import serializers

from .conversations import DEFAULT_ROLES, PRIVILEGES
from .models import ConversationMessageStatusKind, ParticipantRole


class PrivilegesSerializer(serializers.Serializer):
    canSend = serializers.BooleanField(required=False)
    canAddParticipants = serializers.BooleanField(required=False)
    canRemoveParticipants = serializers.BooleanField(required=False)


class RolesSerializer(serializers.Serializer):
    owner = PrivilegesSerializer(required=False)
    participant = PrivilegesSerializer(required=False)

    def to_internal_value(self, data):
        roles = super().to_internal_value(data)
        # A role or privilege left out keeps the SDK builder's default (granted), so an app
        # that sets only the owner's privileges still has a working participant role.
        return {
            role: {p: roles.get(role, {}).get(p, DEFAULT_ROLES[role][p]) for p in PRIVILEGES}
            for role in DEFAULT_ROLES
        }


class ParticipantSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=255)
    # The SDK's docs call the plain role "member"; the OpenAPI file "participant".
    role = serializers.ChoiceField(
        choices=[*ParticipantRole.values, "member"], required=False, allow_null=True
    )

    def validate_role(self, value):
        return ParticipantRole.PARTICIPANT if value in (None, "member") else value


class ConversationCreateSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    isPublic = serializers.BooleanField(required=False, default=False)
    roles = RolesSerializer(required=False)
    participants = ParticipantSerializer(many=True, required=False, default=list)


class ConversationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    isPublic = serializers.BooleanField(required=False, allow_null=True, default=None)
    roles = RolesSerializer(required=False)


class MessagePostSerializer(serializers.Serializer):
    parts = serializers.ListField(child=serializers.DictField(), allow_empty=True)
    metadata = serializers.DictField(required=False, default=dict)
    alert = serializers.DictField(required=False, allow_null=True, default=None)


class StatusUpdateSerializer(serializers.Serializer):
    messageIds = serializers.ListField(child=serializers.CharField(max_length=64))
    status = serializers.ChoiceField(choices=ConversationMessageStatusKind.values)
    timestamp = serializers.CharField(max_length=40)
