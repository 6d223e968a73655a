"""Tenants and their access: API spaces, memberships, API keys."""

import uuid

from django.conf import settings
from django.db import models


class ApiSpace(models.Model):
    """A tenant; its UUID is the apiSpaceId that SDKs and URLs carry."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    # Stored as "admin"; shown as Manager so it is not mistaken for Django's site administration.
    ADMIN = "admin", "Manager"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "space"], name="one_membership_per_user")
        ]

    def __str__(self):
        return f"{self.user} in {self.space} ({self.role})"

    @property
    def can_change(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)


class ApiKeyScope(models.TextChoices):
    SEND = "send", "Send messages and campaigns"
    DEVICES = "devices", "Register and remove devices"
    ADMIN = "admin", "Administer the space's channels (PowerAuth admin API)"


def default_scopes() -> list[str]:
    """What a key may do unless its creator chose otherwise: never administration."""
    return [ApiKeyScope.SEND, ApiKeyScope.DEVICES]


class ApiKey(models.Model):
    """A server-to-server credential: only a hash of its secret is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # ApiKeyScope values this key may use.
    scopes = models.JSONField(default=default_scopes)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """Whether this key carries the scope."""
        return scope in self.scopes
