"""Conversation events: the socket frames, their numbering, their log and their fan-out.

Frames follow the envelope the Comapi SDK's mapper reads (name, eventId, apiSpaceId,
context.createdBy, publishedOn, payload, and a top-level conversationId or
conversationEventId). Only conversationMessage.* events are numbered and kept: the SDK and
Comapi's examples give participant, typing and conversation events no conversationEventId,
and apps treat a hole in the numbers as missed messages.
"""

import datetime as dt
import hashlib
import logging
import uuid

from django.utils import timezone

from portal.layers import send_after_commit

from .models import Conversation, ConversationEvent, ConversationMessage

logger = logging.getLogger(__name__)

# What a socket consumer receives from the channel layer: {"type": EVENT_TYPE, "frame": {...}}.
EVENT_TYPE = "messaging.event"


def iso(moment) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as Comapi writes its timestamps."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def group_for(*, space_id, profile_id: str) -> str:
    """The channel-layer group of a profile's sockets.

    Group names allow only ASCII letters, digits, '-', '_' and '.', under 100 characters;
    a profile id is free text, so it is hashed.
    """
    digest = hashlib.sha256(profile_id.encode()).hexdigest()[:40]
    return f"profile.{uuid.UUID(str(space_id)).hex}.{digest}"


def make_frame(
    *,
    space_id,
    name: str,
    created_by: str,
    payload: dict,
    conversation_id: str | None = None,
    **top_level,
) -> dict:
    """A server-to-client frame in the SDK's envelope; `top_level` adds fields such as
    conversationEventId, etag or revision."""
    now = iso(timezone.now())
    frame = {
        "eventId": str(uuid.uuid4()),
        "apiSpaceId": str(space_id),
        "name": name,
        # The mapper reads context.createdBy unguarded: a conversation.* frame without it is
        # lost inside the SDK's onmessage. The bare profile id is what Comapi's fixtures show.
        "context": {"createdBy": created_by, "createdOn": now},
        "publishedOn": now,
        "payload": payload,
    }
    if conversation_id is not None:
        frame["conversationId"] = conversation_id
    frame.update(top_level)
    return frame


def next_event_id(conversation: Conversation) -> int:
    """Take the conversation's next conversationEventId.

    The caller holds the conversation row locked (select_for_update) in its transaction, so
    two senders never take the same number and the sequence has no holes.
    """
    conversation.latest_event_id += 1
    Conversation.objects.filter(pk=conversation.pk).update(
        latest_event_id=conversation.latest_event_id
    )
    return conversation.latest_event_id


def record(
    *, conversation: Conversation, message: ConversationMessage, frame: dict
) -> ConversationEvent:
    """Keep a numbered conversationMessage.* frame in the conversation's log."""
    return ConversationEvent.objects.create(
        conversation=conversation,
        event_id=frame["conversationEventId"],
        name=frame["name"],
        message=message,
        frame=frame,
    )


def publish(*, space_id, profile_ids, frame: dict) -> None:
    """Send a frame to every open socket of these profiles once the transaction commits
    (a channel layer that is down costs the real-time frame: apps resynchronise from REST
    on reconnect)."""
    groups = sorted({group_for(space_id=space_id, profile_id=p) for p in profile_ids})
    send_after_commit(groups, {"type": EVENT_TYPE, "frame": frame})


def events_page(*, conversation: Conversation, from_id: int, limit: int) -> list[dict]:
    """The logged frames with conversationEventId >= from_id, ascending, at most `limit`.

    Socket-shaped, as the SDK's docs and Comapi's chat layer read this route (the OpenAPI
    file's {id, data} shape is what GET messages calls orphaned events).
    """
    rows = ConversationEvent.objects.filter(
        conversation=conversation, event_id__gte=from_id
    ).order_by("event_id")[:limit]
    return [row.frame for row in rows]
