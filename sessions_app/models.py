"""Identity inside a space: App Messaging auth settings, profiles, challenges, sessions."""

import hashlib
import json
import uuid

from django.db import models
from django.utils import timezone

from portal.fields import EncryptedTextField
from portal.models import ApiSpace


class AnonymousTokenAccess(models.TextChoices):
    NOBODY = "nobody", "Nobody"
    API_KEY = "api_key", "Holders of an API key"
    ANYONE = "anyone", "Anyone (apps without a server; throttled)"


class AppMessagingAuth(models.Model):
    """How a space verifies the JWTs its apps present."""

    space = models.OneToOneField(
        ApiSpace, on_delete=models.CASCADE, related_name="app_messaging_auth"
    )
    issuer = models.CharField(max_length=255)
    audience = models.CharField(max_length=255)
    shared_secret = EncryptedTextField()
    shared_secret_changed_at = models.DateTimeField(default=timezone.now)
    id_claim = models.CharField(max_length=100, default="sub")
    anonymous_token_lifetime = models.PositiveIntegerField(
        default=86400, help_text="Seconds an anonymous token stays valid."
    )
    anonymous_token_access = models.CharField(
        max_length=10, choices=AnonymousTokenAccess.choices, default=AnonymousTokenAccess.API_KEY
    )
    cors_origins = models.TextField(
        blank=True, help_text="Origins allowed to call the Session API, one per line; * for any."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"App Messaging auth of {self.space}"

    @property
    def allowed_origins(self) -> list[str]:
        return [line.strip() for line in self.cors_origins.splitlines() if line.strip()]


class Profile(models.Model):
    """A user of a space's apps; profile_id is the JWT's ID claim."""

    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="profiles")
    profile_id = models.CharField(max_length=255)
    data = models.JSONField(default=dict, blank=True)
    etag = models.CharField(max_length=64, default="", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["space", "profile_id"], name="profile_id_per_space")
        ]

    def __str__(self):
        return self.profile_id

    def save(self, *args, **kwargs):
        # The ETag follows the content, so every writer (API, admin, factories) keeps it right.
        self.etag = self.etag_for(self.data)
        if kwargs.get("update_fields") is not None and "data" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "etag"}
        super().save(*args, **kwargs)

    @staticmethod
    def etag_for(data) -> str:
        """A strong validator of the profile's data (unquoted)."""
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class AuthChallenge(models.Model):
    """A nonce handed out by sessions/start; usable once, before it expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="auth_challenges")
    nonce = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["space", "expires_at"])]

    def __str__(self):
        return str(self.id)


class Session(models.Model):
    """An SDK session; its id is carried in the session token."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="sessions")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="sessions")
    device_id = models.CharField(max_length=255, blank=True)
    platform = models.CharField(max_length=50, blank=True)
    # Browsers send "product : user agent" here, which runs well past 50 characters.
    platform_version = models.CharField(max_length=255, blank=True)
    sdk_type = models.CharField(max_length=50, blank=True)
    sdk_version = models.CharField(max_length=100, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return str(self.id)

    @property
    def is_live(self) -> bool:
        """Not ended and not expired: its token still authenticates."""
        return self.is_active and self.expires_at > timezone.now()
