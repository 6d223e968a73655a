"""The One API's appMessaging channel: a server message posted into a conversation as the
space, and the One API message's status following its recipient's status updates.

Per the reference's recommendations (comapi-app-messaging.md section 5):
- the conversation message takes the One API message's id, so either id finds the other;
- with a conversationId the message goes into that conversation (created when the space has
  none with that id, so a caller can keep one thread per profile with a stable id); without
  one, every send starts its own conversation, whose id is the message id;
- the recipient (to.profileId) is added as a participant when missing, and
  channelOptions.appMessaging.from.profileId, when given, as the owner of a new
  conversation; participantAdded frames go out before conversationMessage.sent, since chat
  apps set a conversation up from participantAdded;
- `from` becomes context.from ({id, name, avatarUrl}); `messageParts` the parts (those for
  appMessaging), else `body` (else `title`) one text/plain part; `metadata` the message's
  metadata. No alert: the recipient has the SDK, and the
  reference does not say the One API adds one.
"""

from django.utils import timezone

from ..models import Channel, Message, MessageStatus
from . import conversations, events
from .models import Conversation, ConversationMessage, ParticipantRole

# How far an appMessaging message got: a status update only ever moves it forward.
PROGRESS = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


def _sender(message: Message) -> dict:
    """context.from of the conversation message: channelOptions.appMessaging.from renamed."""
    given = message.app_messaging.get("from") or {}
    sender = {"id": given.get("profileId", "")}
    for field in ("name", "avatarUrl"):
        if given.get(field):
            sender[field] = given[field]
    return sender


def _parts(message: Message) -> list[dict]:
    """The conversation message's parts: the messageParts for appMessaging (their `channels`
    dropped), else body (else title) as one text/plain part."""
    given = message.app_messaging.get("messageParts")
    if given is None:
        text = message.body or message.title
        return [{"type": "text/plain", "data": text, "size": len(text.encode())}] if text else []
    return [
        {key: value for key, value in part.items() if key != "channels"}
        for part in given
        if Channel.APP_MESSAGING in part.get("channels", [Channel.APP_MESSAGING])
    ]


def _conversation(message: Message, *, by: str) -> tuple[Conversation, bool]:
    """The conversation to post into, locked for numbering; whether it was created."""
    conversation_id = message.conversation_id or str(message.pk)
    conversation, created = Conversation.objects.get_or_create(
        space_id=message.space_id,
        conversation_id=conversation_id,
        defaults={
            "name": message.title,
            "roles": conversations.DEFAULT_ROLES,
            "created_by": by,
            "updated_by": by,
        },
    )
    # Locked (on databases that lock) so that two senders never take one event number.
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    return conversation, created


def post(*, message: Message) -> ConversationMessage:
    """Post a saved One API message into its conversation as the space; call it inside the
    transaction that stored the message, so both commit or neither does. Sets the message's
    status to sent and its channel details to the conversation."""
    sent_by = message.app_messaging.get("sentBy") or f"space:{message.space_id}"
    sender = _sender(message)
    recipient = message.to["profileId"]
    conversation, created = _conversation(message, by=sent_by)
    members = {}
    if created and sender["id"]:
        members[sender["id"]] = ParticipantRole.OWNER
    members.setdefault(recipient, ParticipantRole.PARTICIPANT)
    conversations.admit(conversation, members, by=sent_by)
    parts = _parts(message)
    event_id = events.next_event_id(conversation)
    posted = ConversationMessage.objects.create(
        id=message.pk,
        conversation=conversation,
        sender_profile_id=sender["id"],
        parts=parts,
        metadata=message.metadata,
        sent_event_id=event_id,
        context={
            "from": sender,
            "conversationId": conversation.conversation_id,
            "sentBy": sent_by,
            "sentOn": events.iso(timezone.now()),
        },
    )
    conversation.latest_sent_event_id = event_id
    conversation.updated_by = sent_by
    conversation.save(update_fields=["latest_sent_event_id", "updated_by", "updated_at"])
    frame = events.make_frame(
        space_id=message.space_id,
        name="conversationMessage.sent",
        created_by=sender["id"] or sent_by,
        payload={
            "messageId": str(posted.id),
            "metadata": posted.metadata,
            "context": posted.context,
            "parts": parts,
        },
        conversation_id=conversation.conversation_id,
        conversationEventId=event_id,
        revision=event_id,
    )
    events.record(conversation=conversation, message=posted, frame=frame)
    events.publish(
        space_id=message.space_id,
        profile_ids=conversations.participant_ids(conversation),
        frame=frame,
    )
    message.status = MessageStatus.SENT
    message.channel_details = {"conversationId": conversation.conversation_id}
    Message.objects.filter(pk=message.pk).update(
        status=message.status, channel_details=message.channel_details
    )
    return posted


def follow_status(*, space_id, message_id, profile_id: str, status: str) -> None:
    """Move the One API message behind a conversation message to `status` (delivered or
    read) when `profile_id` is its recipient and it is not already as far."""
    earlier = PROGRESS[: PROGRESS.index(status)]
    candidates = Message.objects.filter(
        pk=message_id, space_id=space_id, channel=Channel.APP_MESSAGING, status__in=earlier
    )
    # Filtered in Python, not by a JSON lookup: at most one row, and any database does it.
    for found in candidates.only("pk", "to"):
        if found.to.get("profileId") == profile_id:
            Message.objects.filter(pk=found.pk, status__in=earlier).update(status=status)
