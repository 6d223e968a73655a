"""Push: channel credentials, devices, messages and their deliveries."""

import base64
import uuid

from django.db import models
from django.utils import timezone

from channels_app.ids import uuid7
from portal.fields import EncryptedTextField
from portal.models import ApiSpace
from sessions_app.models import Profile, Session

from . import validators


class Health(models.TextChoices):
    # Until a verification or a real send succeeds, nobody knows the provider takes it.
    UNVERIFIED = "unverified", "Unverified"
    OK = "ok", "OK"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"


class ChannelCredential(models.Model):
    """What every provider credential shares: its space, and the health sends report."""

    health = models.CharField(max_length=20, choices=Health.choices, default=Health.UNVERIFIED)
    health_reason = models.CharField(max_length=255, blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    # The last explicit verification (Verify button, validate_only / dummy-token request):
    # when, and the provider's answer in words.
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_result = models.CharField(max_length=255, blank=True)
    max_connections = models.PositiveSmallIntegerField(
        default=2,
        validators=validators.max_connections_validators,
        help_text="Most HTTP/2 connections this process opens for this credential (1 to 32).",
    )
    response_timeout = models.FloatField(
        default=10.0,
        validators=validators.response_timeout_validators,
        help_text="Seconds to wait for the provider's answer to one request (1 to 60).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    max_connections__gte=validators.MAX_CONNECTIONS_RANGE[0],
                    max_connections__lte=validators.MAX_CONNECTIONS_RANGE[1],
                ),
                name="%(app_label)s_%(class)s_max_connections_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    response_timeout__gte=validators.RESPONSE_TIMEOUT_RANGE[0],
                    response_timeout__lte=validators.RESPONSE_TIMEOUT_RANGE[1],
                ),
                name="%(app_label)s_%(class)s_response_timeout_range",
            ),
        ]

    def mark_needs_attention(self, reason: str) -> None:
        """Flag the credential for the portal after the provider refused it."""
        type(self).objects.filter(pk=self.pk).update(
            health=Health.NEEDS_ATTENTION,
            health_reason=reason[:255],
            health_changed_at=timezone.now(),
        )

    def mark_ok(self) -> None:
        """Clear a needs-attention flag after a successful send."""
        type(self).objects.filter(pk=self.pk).exclude(health=Health.OK).update(
            health=Health.OK, health_reason="", health_changed_at=timezone.now()
        )


class FcmCredential(ChannelCredential):
    space = models.OneToOneField(ApiSpace, on_delete=models.CASCADE, related_name="fcm_credential")
    package_name = models.CharField(max_length=255)
    service_account_json = EncryptedTextField()
    project_id = models.CharField(max_length=255)
    client_email = models.CharField(max_length=255)

    def __str__(self):
        return f"FCM {self.project_id}"


class ApnsKind(models.TextChoices):
    TOKEN = "token", "Token (.p8)"
    CERTIFICATE = "certificate", "Certificate (.p12)"


class ApnsEnvironment(models.TextChoices):
    PRODUCTION = "production", "Production"
    SANDBOX = "sandbox", "Sandbox"


class ApnsCredential(ChannelCredential):
    """A space's one APNs configuration: token (.p8) or certificate (.p12)."""

    space = models.OneToOneField(ApiSpace, on_delete=models.CASCADE, related_name="apns_credential")
    kind = models.CharField(max_length=12, choices=ApnsKind.choices)
    bundle_id = models.CharField(max_length=255)
    environment = models.CharField(
        max_length=12, choices=ApnsEnvironment.choices, default=ApnsEnvironment.PRODUCTION
    )
    key_p8 = EncryptedTextField(blank=True)
    key_id = models.CharField(max_length=10, blank=True)
    team_id = models.CharField(max_length=10, blank=True)
    certificate_p12 = EncryptedTextField(blank=True, help_text="base64 of the .p12 file")
    certificate_password = EncryptedTextField(blank=True)
    subject = models.CharField(max_length=500, blank=True)
    topic = models.CharField(max_length=255, blank=True)
    not_after = models.DateTimeField(null=True, blank=True)
    endpoint = models.CharField(
        max_length=255,
        blank=True,
        validators=[validators.validate_apns_endpoint],
        help_text="host:port overriding Apple's hosts; only hosts the operator allows "
        "(PUSHPORT_APNS_ENDPOINT_ALLOWLIST).",
    )

    def __str__(self):
        return f"APNs {self.kind} {self.bundle_id}"

    @property
    def p12_bytes(self) -> bytes:
        return base64.b64decode(self.certificate_p12) if self.certificate_p12 else b""


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"


class DeviceEnvironment(models.TextChoices):
    DEVELOPMENT = "development", "Development (sandbox)"
    PRODUCTION = "production", "Production"


class Device(models.Model):
    """A push token of one app install; unique per space and platform."""

    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="devices")
    profile = models.ForeignKey(
        Profile, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    session = models.ForeignKey(
        Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    platform = models.CharField(max_length=10, choices=Platform.choices)
    token = models.CharField(max_length=512)
    app_id = models.CharField(
        max_length=255, blank=True, help_text="Bundle ID or package name the app registered."
    )
    environment = models.CharField(
        max_length=12, choices=DeviceEnvironment.choices, blank=True, default=""
    )
    active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=100, blank=True)
    registered_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["space", "platform", "token"], name="device_token_per_space"
            )
        ]
        indexes = [
            models.Index(fields=["profile", "active"]),
        ]

    def __str__(self):
        return f"{self.platform} {self.token[:8]}…"


class DeviceActivation(models.Model):
    """A PowerAuth activation bound to a device through the PowerAuth-compatible API.

    A device may carry several (/push/device/create/multi); an activation is on one device of
    its space at a time. Its status there (ACTIVE, BLOCKED, REMOVED...) decides whether the
    device receives personal messages.
    """

    # The space is the device's; kept here so the database can hold an activation id unique
    # per space (a constraint cannot reach through the device).
    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="activations")
    activation_id = models.CharField(max_length=64)
    status = models.CharField(max_length=20, default="ACTIVE")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["space", "activation_id"], name="one_activation_per_space"
            )
        ]

    def __str__(self):
        return f"{self.activation_id} {self.status}"


class MessageStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    SENT = "sent", "Sent"
    # Only an appMessaging message gets these, from its recipient's SDK status updates.
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


class Channel(models.TextChoices):
    """The One API channels Pushport delivers; a message records the one that took it."""

    APP_MESSAGING = "appMessaging", "App Messaging"
    NATIVE_PUSH = "nativePush", "Native push"


class Priority(models.TextChoices):
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"


class Message(models.Model):
    """One send request: the notification and whom it targets."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by the (space, ...) index and constraint below, which serve every look-up by
    # space: an index of its own would only cost every insert.
    space = models.ForeignKey(
        ApiSpace, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    to = models.JSONField(default=dict)
    rules = models.JSONField(default=list)
    title = models.CharField(max_length=1000, blank=True)
    body = models.TextField(blank=True)
    badge = models.IntegerField(null=True, blank=True)
    sound = models.CharField(max_length=255, blank=True)
    icon = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=255, blank=True)
    collapse_key = models.CharField(max_length=255, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    silent = models.BooleanField(default=False)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.HIGH)
    extras = models.JSONField(default=dict, blank=True)
    apns_data = models.JSONField(default=dict, blank=True)
    fcm_data = models.JSONField(default=dict, blank=True)
    deep_link = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.PROCESSING
    )
    # The channel of `rules` that took the message; blank when none accepted it. Every path
    # but the One API's rules (campaigns, test pushes, conversation alerts, PowerAuth, MCMT)
    # pushes natively, hence the default.
    channel = models.CharField(
        max_length=20, choices=Channel.choices, blank=True, default=Channel.NATIVE_PUSH
    )
    # What the channel adds to statusDetails: the conversation of an appMessaging message,
    # or why no channel accepted the message.
    channel_details = models.JSONField(default=dict, blank=True)
    # The request's conversationId and channelOptions.appMessaging (its `from`), plus the
    # sentBy the conversation message records.
    conversation_id = models.CharField(max_length=255, blank=True)
    app_messaging = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["space", "idempotency_key"], name="idempotency_key_per_space"
            )
        ]
        indexes = [models.Index(fields=["space", "-created_at"])]

    def __str__(self):
        return str(self.id)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    INVALID_TOKEN = "invalid_token", "Invalid token"


class Delivery(models.Model):
    """One message to one device; its id is the apns-id."""

    # Time-ordered (UUIDv7), as are messages': the rows of a send sit together in every index.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Both are indexed first in the composite indexes and constraint below (look-ups, joins and
    # cascades use those): indexes of their own would only cost every insert.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    platform = models.CharField(max_length=10, choices=Platform.choices)
    status = models.CharField(
        max_length=15, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The sweeper queues an unclaimed pending or retrying row only once this has passed: set
    # ahead by the grace a queued task gets to arrive, to the due time of a retry, and to
    # now when a lease is reclaimed. The database, not the broker, says what is left to send.
    sweep_after = models.DateTimeField(default=timezone.now)
    # Set by the claiming worker; its results are written back only while it still holds it.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    provider_status = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            # A message reaches a device once, however many of its profiles name it (campaigns)
            # and however often an interrupted send is resumed.
            models.UniqueConstraint(fields=["message", "device"], name="one_delivery_per_device")
        ]
        indexes = [
            models.Index(fields=["message", "status"]),
            # A device page's recent deliveries.
            models.Index(fields=["device", "-created_at"]),
            models.Index(fields=["status", "sweep_after"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self):
        return str(self.id)


class DailyCount(models.Model):
    """Recorded outcomes per space, day, platform and outcome, kept as results are recorded.

    The overview chart reads 30 rows per series instead of counting a million deliveries.
    """

    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="daily_counts")
    day = models.DateField()
    platform = models.CharField(max_length=10, choices=Platform.choices)
    # A DeliveryStatus value: delivered, failed, invalid_token.
    outcome = models.CharField(max_length=15)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["space", "day", "platform", "outcome"], name="one_daily_count"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.platform} {self.outcome} {self.count}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"


class Campaign(models.Model):
    """A message for an audience of profile ids, sent once, live, when its owner says so.

    `message` holds the fields of a send (the One API body without `to`), validated by the send
    serializer; the live send stores one Message (`sent_message`) whose deliveries go one per
    device of the audience.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=255)
    message = models.JSONField(default=dict)
    # Optional throttle: at most this many deliveries a minute, across every worker.
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True)
    # Optional schedule: the sweep starts the live send at this time.
    send_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    sent_message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="campaign"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["space", "-created_at"]),
            models.Index(fields=["status", "send_at"]),
        ]

    def __str__(self):
        return self.name

    @property
    def sent(self) -> bool:
        return self.status == CampaignStatus.SENT


class CampaignRecipient(models.Model):
    """One profile id of a campaign's audience (the profile need not exist yet)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    profile_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "profile_id"], name="one_recipient")
        ]

    def __str__(self):
        return self.profile_id


class WebhookEvent(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    INVALID_TOKEN = "invalid_token", "Invalid token"
    CAMPAIGN_FINISHED = "campaign_finished", "Campaign finished"


class Webhook(models.Model):
    """An HTTPS endpoint of a space that hears its delivery events, signed with its secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = EncryptedTextField()
    # WebhookEvent values this endpoint wants.
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.url


class WebhookCallStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class WebhookCall(models.Model):
    """One event POSTed (or to be POSTed) to one webhook, with its attempts' outcome."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="calls")
    event = models.CharField(max_length=20, choices=WebhookEvent.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=WebhookCallStatus.choices, default=WebhookCallStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["webhook", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.event} {self.status}"


class PowerAuthApp(models.Model):
    """The numeric PowerAuth `appId` a space answers to on the PowerAuth-compatible API."""

    space = models.OneToOneField(ApiSpace, on_delete=models.CASCADE, related_name="powerauth_app")
    app_id = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"PowerAuth app {self.app_id}"


class BounceStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class Bounce(models.Model):
    """A delivery status notification (DSN) owed to the Return-Path of an injected message
    whose delivery failed, sent through the operator's SMTP relay by the workers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One per delivery: a result recorded twice (a reclaimed lease) still bounces once.
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="bounce")
    return_path = models.CharField(max_length=320)
    status = models.CharField(
        max_length=10, choices=BounceStatus.choices, default=BounceStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"bounce to {self.return_path} {self.status}"


# App Messaging keeps its models in its own package; imported here so Django registers them.
from .messaging.models import (  # noqa: E402, F401
    Conversation,
    ConversationEvent,
    ConversationMessage,
    ConversationMessageStatus,
    Participant,
)
