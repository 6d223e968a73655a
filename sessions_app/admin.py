"""Django admin for identity inside a space, scoped to the caller's spaces."""

from django.contrib import admin

from portal.admin import SpaceScopedAdmin

from .models import AppMessagingAuth, AuthChallenge, Profile, Session
from .sessions import end_session


@admin.register(AppMessagingAuth)
class AppMessagingAuthAdmin(SpaceScopedAdmin):
    list_display = ["space", "issuer", "audience", "id_claim", "shared_secret_changed_at"]
    search_fields = ["space__name", "issuer", "audience"]
    # Edited on the Channels page, whose form validates issuer, claim and CORS origins.
    readonly_fields = [
        "space",
        "issuer",
        "audience",
        "id_claim",
        "anonymous_token_lifetime",
        "anonymous_token_access",
        "cors_origins",
        "shared_secret_changed_at",
        "updated_at",
    ]


@admin.register(Profile)
class ProfileAdmin(SpaceScopedAdmin):
    list_display = ["profile_id", "space", "created_at", "last_seen_at"]
    search_fields = ["profile_id", "space__name"]
    readonly_fields = ["etag", "created_at", "updated_at", "last_seen_at"]


@admin.register(AuthChallenge)
class AuthChallengeAdmin(SpaceScopedAdmin):
    list_display = ["id", "space", "created_at", "expires_at", "used_at"]
    readonly_fields = ["space", "nonce", "created_at", "expires_at", "used_at"]

    def has_add_permission(self, request):
        # Challenges are handed out by sessions/start only.
        return False


@admin.register(Session)
class SessionAdmin(SpaceScopedAdmin):
    list_display = ["id", "space", "profile", "platform", "is_active", "created_at", "expires_at"]
    list_filter = ["is_active", "platform"]
    search_fields = ["id", "profile__profile_id", "device_id"]
    readonly_fields = ["created_at", "ended_at", "source_ip"]
    list_select_related = ["space", "profile"]
    raw_id_fields = ["profile"]

    def has_add_permission(self, request):
        # Sessions are started by the SDKs through the Session API.
        return False

    def save_model(self, request, obj, form, change):
        ending = change and "is_active" in form.changed_data and not obj.is_active
        if ending:
            obj.is_active = True  # end_session() ends it: ended_at, and its sockets closed
        super().save_model(request, obj, form, change)
        if ending:
            end_session(session=obj)
