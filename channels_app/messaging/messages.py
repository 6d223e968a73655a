"""Messages of a conversation: sending, history pages, and delivered/read status updates.

Every sent, delivered and read event takes the next number of the conversation's one
sequence (from 1), which is what the SDK pages by and what chat apps use to find gaps.
"""

import uuid

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Session

from . import conversations, events, one_api, push
from .actors import BackEnd
from .models import (
    ConversationMessage,
    ConversationMessageStatus,
    ConversationMessageStatusKind,
)

MAX_PAGE = 100
# A status only moves forward: read implies delivered, and delivered never undoes read.
RANK = {None: 0, ConversationMessageStatusKind.DELIVERED: 1, ConversationMessageStatusKind.READ: 2}


def _sender(session: Session) -> dict:
    """context.from: the sender's profile id (the SDK compares it with its own), plus the
    profile's `name` and `avatarUrl` when it has them, which chat apps show."""
    profile = session.profile
    sender = {"id": profile.profile_id}
    data = profile.data if isinstance(profile.data, dict) else {}
    for field in ("name", "avatarUrl"):
        if isinstance(data.get(field), str):
            sender[field] = data[field]
    return sender


@transaction.atomic
def send_message(
    *,
    session: Session | BackEnd,
    conversation_id: str,
    parts: list,
    metadata: dict,
    alert: dict | None,
    sender: dict | None = None,
) -> ConversationMessage:
    """Store a message from the caller (needs the role's canSend) as the conversation's next
    event, and send conversationMessage.sent to every participant, the sender included (their
    other devices). Any `from` in the body is ignored: a session speaks as its profile.

    A back end names the sender: `sender` ({id, name?}, the body's from.profileId and name),
    which need not be a participant; without one the message is from the back end itself.
    """
    conversation, role = conversations.as_participant(
        session=session, conversation_id=conversation_id, lock=True
    )
    conversations.require_privilege(conversation, role, "canSend")
    me = conversations.caller_id(session)
    if isinstance(session, BackEnd):
        context_from, sent_by = sender or {"id": me}, me
    else:
        context_from, sent_by = _sender(session), f"session:{me}"
    event_id = events.next_event_id(conversation)
    message = ConversationMessage(
        conversation=conversation,
        sender_profile_id=context_from["id"],
        parts=parts,
        metadata=metadata,
        alert=alert,
        sent_event_id=event_id,
    )
    message.context = {
        "from": context_from,
        "conversationId": conversation.conversation_id,
        "sentBy": sent_by,
        "sentOn": events.iso(timezone.now()),
    }
    message.save()
    conversation.latest_sent_event_id = event_id
    conversation.updated_by = me
    # updated_at moves too: chat apps show _updatedOn as the time of the last message.
    conversation.save(update_fields=["latest_sent_event_id", "updated_by", "updated_at"])
    payload = {
        "messageId": str(message.id),
        "metadata": metadata,
        "context": message.context,
        "parts": parts,
    }
    if alert is not None:
        payload["alert"] = alert
    frame = events.make_frame(
        space_id=session.space_id,
        name="conversationMessage.sent",
        created_by=me,
        payload=payload,
        # The SDK reads payload.context.conversationId; the top-level copy serves other readers.
        conversation_id=conversation.conversation_id,
        conversationEventId=event_id,
        revision=event_id,
    )
    events.record(conversation=conversation, message=message, frame=frame)
    everyone = conversations.participant_ids(conversation)
    events.publish(space_id=session.space_id, profile_ids=everyone, frame=frame)
    push.push_alert(
        conversation=conversation,
        message=message,
        recipients=[pid for pid in everyone if pid != context_from["id"]],
    )
    return message


def _status_map(messages) -> dict:
    """{message id: {profileId: {status, on}}} for these messages."""
    found = {m.id: {} for m in messages}
    for row in ConversationMessageStatus.objects.filter(message__in=list(found)):
        found[row.message_id][row.profile_id] = {"status": row.status, "on": row.on}
    return found


def message_json(message: ConversationMessage, status_updates: dict) -> dict:
    """A message as GET messages lists it (the OpenAPI MessageComplete; no alert)."""
    return {
        "id": str(message.id),
        "sentEventId": message.sent_event_id,
        "metadata": message.metadata,
        "context": message.context,
        "parts": message.parts,
        # Always an object: the SDK writes statusUpdates[profileId] into it.
        "statusUpdates": status_updates,
    }


def history_page(*, session: Session, conversation_id: str, limit: int, before: int | None) -> dict:
    """One page of history, newest first, in the SDK's paging contract.

    Walks the events with id <= `before` (all of them on the first page) down until `limit`
    messages are found or the start is reached. earliestEventId is the lowest id walked
    (1 once the start is reached, which ends the SDK's paging since its next token would be
    0), latestEventId the highest. Each message carries its current statuses, so no orphaned
    events are needed and the list is always empty.
    """
    conversation, _ = conversations.as_participant(session=session, conversation_id=conversation_id)
    limit = max(1, min(limit, MAX_PAGE))
    top = (
        conversation.latest_event_id
        if before is None
        else min(before, conversation.latest_event_id)
    )
    if top <= 0:
        return {"earliestEventId": 0, "latestEventId": 0, "messages": [], "orphanedEvents": []}
    messages = list(
        ConversationMessage.objects.filter(
            conversation=conversation, sent_event_id__lte=top
        ).order_by("-sent_event_id")[: limit + 1]
    )
    more = len(messages) > limit
    messages = messages[:limit]
    # With more messages below, the walk stopped at the last one taken; otherwise it reached
    # event 1, and the page says so whatever the first event was.
    earliest = messages[-1].sent_event_id if more else 1
    statuses = _status_map(messages)
    return {
        "earliestEventId": earliest,
        "latestEventId": top,
        "messages": [message_json(m, statuses[m.id]) for m in reversed(messages)],
        "orphanedEvents": [],
    }


@transaction.atomic
def update_statuses(*, session: Session, conversation_id: str, updates: list[dict]) -> int:
    """Apply the caller's delivered/read updates; how many changed something.

    A repeat, a `delivered` after `read`, a status on one's own message and an id that is
    not a message of this conversation are ignored without an error: the SDK posts these
    after every history page, and getMessages() rejects if this call fails. Each change is
    a numbered conversationMessage.<status> event sent to every participant.
    """
    conversation, _ = conversations.as_participant(
        session=session, conversation_id=conversation_id, lock=True
    )
    me = conversations.caller_id(session)
    wanted = {str(mid) for update in updates for mid in update["messageIds"]}
    messages = {
        str(m.id): m
        for m in ConversationMessage.objects.filter(
            conversation=conversation, id__in=[_uuid(mid) for mid in wanted if _uuid(mid)]
        ).exclude(sender_profile_id=me)
    }
    current = {
        str(row.message_id): row
        for row in ConversationMessageStatus.objects.filter(
            message__in=list(messages.values()), profile_id=me
        )
    }
    everyone = conversations.participant_ids(conversation)
    changed = 0
    for update in updates:
        for mid in update["messageIds"]:
            message = messages.get(str(mid))
            if message is None:
                continue
            row = current.get(str(mid))
            if RANK[update["status"]] <= RANK[row.status if row else None]:
                continue
            if row is None:
                row = ConversationMessageStatus(message=message, profile_id=me)
                current[str(mid)] = row
            row.status = update["status"]
            row.on = update["timestamp"]
            row.save()
            changed += 1
            # A One API message sent through appMessaging reports its recipient's progress.
            one_api.follow_status(
                space_id=session.space_id,
                message_id=message.id,
                profile_id=me,
                status=update["status"],
            )
            event_id = events.next_event_id(conversation)
            frame = events.make_frame(
                space_id=session.space_id,
                name=f"conversationMessage.{update['status']}",
                created_by=me,
                payload={
                    "messageId": str(message.id),
                    "conversationId": conversation.conversation_id,
                    "profileId": me,
                    "timestamp": update["timestamp"],
                },
                conversation_id=conversation.conversation_id,
                conversationEventId=event_id,
                revision=event_id,
            )
            events.record(conversation=conversation, message=message, frame=frame)
            events.publish(space_id=session.space_id, profile_ids=everyone, frame=frame)
    return changed


def _uuid(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def events_page(*, session: Session, conversation_id: str, from_id: int, limit: int) -> list[dict]:
    """The conversation's numbered events from `from_id` on, for a participant."""
    conversation, _ = conversations.as_participant(session=session, conversation_id=conversation_id)
    return events.events_page(
        conversation=conversation, from_id=from_id, limit=max(1, min(limit, MAX_PAGE))
    )
