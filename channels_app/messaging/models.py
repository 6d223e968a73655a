"""App Messaging data: conversations, their participants, messages, per-profile statuses and
the numbered event log of each conversation.

Participants and statuses name profiles by their profile id, not by a foreign key: the SDK
adds people to a conversation before they have ever opened a session, so their Profile row
may not exist yet.
"""

import hashlib
import json
import uuid

from django.db import models

from portal.models import ApiSpace


class ParticipantRole(models.TextChoices):
    OWNER = "owner", "Owner"
    PARTICIPANT = "participant", "Participant"


class Conversation(models.Model):
    """A conversation of a space; `conversation_id` is the id the client chose."""

    space = models.ForeignKey(ApiSpace, on_delete=models.CASCADE, related_name="conversations")
    conversation_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=False)
    roles = models.JSONField(default=dict)
    # Bumped on every update; the conversation.update frame carries it as `revision`.
    revision = models.PositiveIntegerField(default=1)
    etag = models.CharField(max_length=80, blank=True)
    # The last conversationEventId handed out: the sequence is dense over message events.
    latest_event_id = models.PositiveBigIntegerField(default=0)
    latest_sent_event_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "channels_app"
        constraints = [
            models.UniqueConstraint(
                fields=["space", "conversation_id"], name="conversation_id_per_space"
            )
        ]
        indexes = [models.Index(fields=["space", "is_public"])]

    def __str__(self):
        return self.conversation_id

    def save(self, *args, **kwargs):
        # The ETag follows the content, so every writer keeps it right.
        self.etag = self.etag_for(self)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "etag"}
        super().save(*args, **kwargs)

    @staticmethod
    def etag_for(conversation) -> str:
        """A strong, quoted ETag over what the SDK can change with PUT.

        Participants are left out, as Comapi's own mock server does, so adding someone does
        not make an app's stored ETag stale.
        """
        content = {
            "id": conversation.conversation_id,
            "name": conversation.name,
            "description": conversation.description,
            "roles": conversation.roles,
            "isPublic": conversation.is_public,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


class Participant(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    profile_id = models.CharField(max_length=255)
    role = models.CharField(
        max_length=20, choices=ParticipantRole.choices, default=ParticipantRole.PARTICIPANT
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "channels_app"
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "profile_id"], name="participant_once_per_conversation"
            )
        ]
        indexes = [models.Index(fields=["profile_id"])]

    def __str__(self):
        return f"{self.profile_id} in {self.conversation_id}"


class ConversationMessage(models.Model):
    """A message as the SDK sent it: parts and metadata stored verbatim."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender_profile_id = models.CharField(max_length=255)
    context = models.JSONField(default=dict)
    parts = models.JSONField(default=list)
    metadata = models.JSONField(default=dict)
    alert = models.JSONField(null=True, blank=True)
    sent_event_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "channels_app"
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "sent_event_id"], name="message_sent_event_once"
            )
        ]

    def __str__(self):
        return str(self.id)


class ConversationMessageStatusKind(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"


class ConversationMessageStatus(models.Model):
    """How far one profile got with one message; read implies delivered.

    Named apart from the push engine's MessageStatus, which is about native sends.
    """

    message = models.ForeignKey(
        ConversationMessage, on_delete=models.CASCADE, related_name="statuses"
    )
    profile_id = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=ConversationMessageStatusKind.choices)
    # The client's own timestamp from the status update, which the SDK shows as `on`.
    on = models.CharField(max_length=40)

    class Meta:
        app_label = "channels_app"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "profile_id"], name="message_status_per_profile"
            )
        ]

    def __str__(self):
        return f"{self.profile_id}: {self.status}"


class ConversationEvent(models.Model):
    """One numbered conversationMessage.* event, kept as the frame the socket sent.

    `event_id` counts from 1 per conversation (0 means "none"), so the SDK's paging rule
    (stop once earliestEventId - 1 <= 0) never skips the first message.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    event_id = models.PositiveBigIntegerField()
    name = models.CharField(max_length=60)
    message = models.ForeignKey(
        ConversationMessage, on_delete=models.CASCADE, related_name="events", null=True
    )
    frame = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "channels_app"
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "event_id"], name="conversation_event_id_once"
            )
        ]

    def __str__(self):
        return f"{self.conversation_id}#{self.event_id} {self.name}"
