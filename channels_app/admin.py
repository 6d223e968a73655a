"""Django admin for push credentials, devices, messages and deliveries, scoped to spaces."""

from django.contrib import admin

from portal.admin import SpaceScopedAdmin

from .messaging.models import (
    Conversation,
    ConversationEvent,
    ConversationMessage,
    ConversationMessageStatus,
    Participant,
)
from .models import (
    ApnsCredential,
    Bounce,
    Campaign,
    CampaignRecipient,
    DailyCount,
    Delivery,
    Device,
    DeviceActivation,
    FcmCredential,
    Message,
    PowerAuthApp,
    Webhook,
    WebhookCall,
)


@admin.register(FcmCredential)
class FcmCredentialAdmin(SpaceScopedAdmin):
    list_display = ["space", "project_id", "client_email", "package_name", "health"]
    list_filter = ["health"]
    search_fields = ["space__name", "project_id", "client_email"]
    # What was parsed from the uploaded JSON stays as parsed; upload a new file to change it.
    readonly_fields = [
        "space",
        "project_id",
        "client_email",
        "health_changed_at",
        "created_at",
        "updated_at",
    ]


@admin.register(ApnsCredential)
class ApnsCredentialAdmin(SpaceScopedAdmin):
    list_display = ["space", "kind", "bundle_id", "environment", "not_after", "health"]
    list_filter = ["kind", "environment", "health"]
    search_fields = ["space__name", "bundle_id", "key_id", "team_id", "topic"]
    readonly_fields = [
        "space",
        "kind",
        "key_id",
        "team_id",
        "subject",
        "topic",
        "not_after",
        "health_changed_at",
        "created_at",
        "updated_at",
    ]


@admin.register(Device)
class DeviceAdmin(SpaceScopedAdmin):
    list_display = ["__str__", "space", "platform", "environment", "active", "last_seen_at"]
    list_filter = ["platform", "active", "environment"]
    search_fields = ["token", "app_id", "profile__profile_id"]
    readonly_fields = ["created_at", "deactivated_at", "last_seen_at"]
    list_select_related = ["space"]
    raw_id_fields = ["profile", "session"]


@admin.register(Message)
class MessageAdmin(SpaceScopedAdmin):
    list_display = ["id", "space", "title", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["id", "title", "idempotency_key"]
    readonly_fields = ["created_at", "updated_at"]
    list_select_related = ["space"]

    def has_add_permission(self, request):
        # Messages are sent through the Server API, which resolves targets and queues deliveries.
        return False


@admin.register(Delivery)
class DeliveryAdmin(SpaceScopedAdmin):
    space_path = "message__space"
    list_display = ["id", "message", "device", "status", "attempts", "provider_status", "sent_at"]
    list_filter = ["status", "platform"]
    search_fields = ["id", "message__id", "provider_id"]
    readonly_fields = ["created_at", "updated_at", "sent_at", "lease_expires_at"]
    list_select_related = ["message", "device"]
    raw_id_fields = ["message", "device"]

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(SpaceScopedAdmin):
    """Records the engine and the portal keep: looked at here, changed there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DailyCount)
class DailyCountAdmin(ReadOnlyAdmin):
    list_display = ["day", "space", "platform", "outcome", "count"]
    list_filter = ["platform", "outcome"]
    list_select_related = ["space"]


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "space", "status", "send_at", "sent_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "id"]
    list_select_related = ["space"]
    raw_id_fields = ["sent_message"]


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(ReadOnlyAdmin):
    space_path = "campaign__space"
    list_display = ["profile_id", "campaign"]
    search_fields = ["profile_id"]
    list_select_related = ["campaign"]


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["url", "space", "active", "created_at"]
    list_filter = ["active"]
    # The signing secret is shown once, in the portal, and never again.
    exclude = ["secret"]


@admin.register(WebhookCall)
class WebhookCallAdmin(ReadOnlyAdmin):
    space_path = "webhook__space"
    list_display = ["id", "webhook", "event", "status", "attempts", "response_status"]
    list_filter = ["status", "event"]
    list_select_related = ["webhook"]
    exclude = ["payload"]


@admin.register(DeviceActivation)
class DeviceActivationAdmin(ReadOnlyAdmin):
    # PowerAuth's device routes bind and update activations; here they are looked at.
    space_path = "device__space"
    list_display = ["activation_id", "status", "device", "updated_at"]
    list_filter = ["status"]
    search_fields = ["activation_id", "device__token"]
    list_select_related = ["device"]


@admin.register(Bounce)
class BounceAdmin(ReadOnlyAdmin):
    space_path = "delivery__message__space"
    list_display = ["id", "return_path", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["return_path", "delivery__id"]
    raw_id_fields = ["delivery"]


@admin.register(PowerAuthApp)
class PowerAuthAppAdmin(SpaceScopedAdmin):
    list_display = ["app_id", "space", "created_at"]
    search_fields = ["app_id", "space__name"]


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["conversation_id", "space", "name", "is_public", "created_at"]
    list_filter = ["is_public"]
    search_fields = ["conversation_id", "name"]
    list_select_related = ["space"]


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    space_path = "conversation__space"
    list_display = ["profile_id", "role", "conversation", "added_at"]
    search_fields = ["profile_id"]
    list_select_related = ["conversation"]


@admin.register(ConversationMessage)
class ConversationMessageAdmin(ReadOnlyAdmin):
    space_path = "conversation__space"
    list_display = ["id", "conversation", "sender_profile_id", "sent_event_id", "created_at"]
    search_fields = ["id", "sender_profile_id"]
    list_select_related = ["conversation"]


@admin.register(ConversationMessageStatus)
class ConversationMessageStatusAdmin(ReadOnlyAdmin):
    space_path = "message__conversation__space"
    list_display = ["message", "profile_id", "status"]
    list_select_related = ["message"]


@admin.register(ConversationEvent)
class ConversationEventAdmin(ReadOnlyAdmin):
    space_path = "conversation__space"
    list_display = ["conversation", "event_id", "name", "created_at"]
    list_select_related = ["conversation"]
