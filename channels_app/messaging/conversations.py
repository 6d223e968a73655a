"""Conversations and their participants: who may see, change and join them.

The reference leaves permissions mostly to us; the rules, chosen for what SDK apps need:
- a participant sees the conversation; anyone in the space may GET a public one and find
  it with scope=public; everything else a non-participant asks answers 403 (never 401,
  which would make the SDK re-authenticate and reconnect, up to three times a call);
- owners update and delete; the roles' canAddParticipants and canRemoveParticipants gate
  the participant routes, and anyone may remove themselves (leaving needs no privilege);
- another space's conversation does not exist (404).
"""

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from rest_framework import status

from portal.errors import ApiError
from sessions_app.models import Session

from . import events
from .actors import BackEnd
from .models import Conversation, Participant, ParticipantRole

PRIVILEGES = ("canSend", "canAddParticipants", "canRemoveParticipants")
# What a back end (API key) is in every conversation of its space: more than an owner.
SPACE_ROLE = "space"
# The SDK's ConversationBuilder defaults: every privilege, for both roles.
DEFAULT_ROLES = {role: dict.fromkeys(PRIVILEGES, True) for role in ParticipantRole.values}


def caller_id(session: Session | BackEnd) -> str:
    """The profile id a session acts as (its JWT's ID claim), or a back end's principal."""
    if isinstance(session, BackEnd):
        return session.principal
    return session.profile.profile_id


def not_found(conversation_id: str) -> ApiError:
    return ApiError(
        "conversation_not_found",
        f"This space has no conversation {conversation_id!r}.",
        status_code=status.HTTP_404_NOT_FOUND,
    )


def forbidden(code: str, message: str) -> ApiError:
    return ApiError(code, message, status_code=status.HTTP_403_FORBIDDEN)


def find(*, space_id, conversation_id: str, lock: bool = False) -> Conversation:
    """The space's conversation with this id; 404 conversation_not_found otherwise."""
    rows = Conversation.objects.filter(space_id=space_id, conversation_id=conversation_id)
    if lock:
        rows = rows.select_for_update()
    conversation = rows.first()
    if conversation is None:
        raise not_found(conversation_id)
    return conversation


def role_of(conversation: Conversation, profile_id: str) -> str | None:
    """The profile's role in the conversation, or None when not a participant."""
    return (
        Participant.objects.filter(conversation=conversation, profile_id=profile_id)
        .values_list("role", flat=True)
        .first()
    )


def participant_ids(conversation: Conversation) -> list[str]:
    """Every current participant's profile id."""
    return list(
        Participant.objects.filter(conversation=conversation).values_list("profile_id", flat=True)
    )


def as_participant(
    *, session: Session, conversation_id: str, lock: bool = False
) -> tuple[Conversation, str]:
    """The conversation and the caller's role; 403 when the caller is not a participant.
    A back end's role is SPACE_ROLE."""
    conversation = find(space_id=session.space_id, conversation_id=conversation_id, lock=lock)
    if isinstance(session, BackEnd):
        return conversation, SPACE_ROLE
    role = role_of(conversation, caller_id(session))
    if role is None:
        raise forbidden(
            "conversation_participant_required",
            "Only the conversation's participants may do this.",
        )
    return conversation, role


def require_privilege(conversation: Conversation, role: str, privilege: str) -> None:
    """403 unless the conversation's roles grant the privilege to this role (or it is the
    space's)."""
    if role == SPACE_ROLE:
        return
    if not conversation.roles.get(role, {}).get(privilege, False):
        raise forbidden(
            "conversation_privilege_missing",
            f"The {role} role of this conversation lacks {privilege}.",
        )


def readable(*, session: Session, conversation_id: str) -> Conversation:
    """A conversation the caller may read: a participant's, or any public one."""
    conversation = find(space_id=session.space_id, conversation_id=conversation_id)
    if isinstance(session, BackEnd):
        return conversation
    if not conversation.is_public and role_of(conversation, caller_id(session)) is None:
        raise forbidden(
            "conversation_participant_required",
            "This conversation is private to its participants.",
        )
    return conversation


def as_json(conversation: Conversation, *, participant_count: int | None = None) -> dict:
    """The conversation as the SDK and the OpenAPI `Conversation` read it."""
    body = {
        "id": conversation.conversation_id,
        "name": conversation.name,
        "description": conversation.description,
        "roles": conversation.roles,
        "isPublic": conversation.is_public,
        "_createdOn": events.iso(conversation.created_at),
        "_createdBy": conversation.created_by,
        "_updatedOn": events.iso(conversation.updated_at),
        "_updatedBy": conversation.updated_by,
        # Chat apps compare these two to find what changed while their socket was closed.
        "_etag": conversation.etag,
    }
    if conversation.latest_sent_event_id is not None:
        # Absent, not null, when there is no message: apps read undefined as "no messages".
        body["latestSentEventId"] = conversation.latest_sent_event_id
    if participant_count is not None:
        body["participantCount"] = participant_count
    return body


def added_frame(conversation: Conversation, *, by: str, profile_id: str, role: str) -> dict:
    """The conversation.participantAdded frame announcing one participant."""
    return events.make_frame(
        space_id=conversation.space_id,
        name="conversation.participantAdded",
        created_by=by,
        conversation_id=conversation.conversation_id,
        payload={
            "profileId": profile_id,
            "role": role,
            "conversationId": conversation.conversation_id,
            "apiSpaceId": str(conversation.space_id),
        },
    )


@transaction.atomic
def create_conversation(
    *,
    session: Session,
    conversation_id: str,
    name: str,
    description: str,
    is_public: bool,
    roles: dict,
    participants: list[dict],
) -> Conversation:
    """Create a conversation; the creator is always an owner (listed or not, with a role or
    not), and every initial participant, owner included, gets participantAdded. A back end
    is no participant: its conversation has the participants it lists.

    409 conversation_exists when the space already has this id.
    """
    me = caller_id(session)
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                space_id=session.space_id,
                conversation_id=conversation_id,
                name=name,
                description=description,
                is_public=is_public,
                roles=roles,
                created_by=me,
                updated_by=me,
            )
    except IntegrityError:
        raise ApiError(
            "conversation_exists",
            f"This space already has a conversation {conversation_id!r}.",
            status_code=status.HTTP_409_CONFLICT,
        ) from None
    members = {p["id"]: p.get("role") or ParticipantRole.PARTICIPANT for p in participants}
    if not isinstance(session, BackEnd):
        members[me] = ParticipantRole.OWNER
    admit(conversation, members, by=me)
    return conversation


@transaction.atomic
def update_conversation(
    *,
    session: Session,
    conversation_id: str,
    if_match: str | None,
    name: str,
    description: str,
    roles: dict,
    is_public: bool | None,
) -> Conversation:
    """Replace name, description and roles (an absent description clears it), and isPublic
    when given. Owners only. `if_match`, when sent, must equal the current ETag exactly (412
    otherwise, which the SDK passes to the app to refresh and retry); none updates
    unconditionally, as Comapi does."""
    conversation, role = as_participant(session=session, conversation_id=conversation_id, lock=True)
    if role not in (ParticipantRole.OWNER, SPACE_ROLE):
        raise forbidden("conversation_owner_required", "Only an owner may update a conversation.")
    if if_match is not None and if_match != conversation.etag:
        raise ApiError(
            "conversation_etag_mismatch",
            "The If-Match ETag is not the conversation's current one; read it again and retry.",
            status_code=status.HTTP_412_PRECONDITION_FAILED,
        )
    conversation.name = name
    conversation.description = description
    conversation.roles = roles
    if is_public is not None:
        conversation.is_public = is_public
    conversation.revision += 1
    conversation.updated_by = caller_id(session)
    conversation.save()
    frame = events.make_frame(
        space_id=session.space_id,
        name="conversation.update",
        created_by=caller_id(session),
        conversation_id=conversation.conversation_id,
        payload={
            "name": conversation.name,
            "description": conversation.description,
            "roles": conversation.roles,
            "isPublic": conversation.is_public,
        },
        etag=conversation.etag,
        revision=conversation.revision,
    )
    events.publish(
        space_id=session.space_id, profile_ids=participant_ids(conversation), frame=frame
    )
    return conversation


@transaction.atomic
def delete_conversation(*, session: Session, conversation_id: str) -> None:
    """Delete a conversation with its participants, messages and events. Owners only."""
    conversation, role = as_participant(session=session, conversation_id=conversation_id, lock=True)
    if role not in (ParticipantRole.OWNER, SPACE_ROLE):
        raise forbidden("conversation_owner_required", "Only an owner may delete a conversation.")
    frame = events.make_frame(
        space_id=session.space_id,
        name="conversation.delete",
        created_by=caller_id(session),
        conversation_id=conversation.conversation_id,
        payload={"date": events.iso(conversation.updated_at)},
    )
    events.publish(
        space_id=session.space_id, profile_ids=participant_ids(conversation), frame=frame
    )
    conversation.delete()


def list_conversations(
    *, session: Session, scope: str | None, profile_id: str | None
) -> list[dict]:
    """The conversations a list call asks for, each with latestSentEventId,
    participantCount and _etag.

    No scope (or participant): the conversations `profile_id` (default: the caller) is in.
    scope=public: the public ones, of that profile when one is named. A caller naming another
    profile sees only what it could read anyway: public conversations and its own.
    A back end reads every conversation of its space: all of them without a profile.
    """
    me = caller_id(session)
    rows = Conversation.objects.filter(space_id=session.space_id)
    if isinstance(session, BackEnd):
        if scope == "public":
            rows = rows.filter(is_public=True)
        if profile_id:
            rows = rows.filter(participants__profile_id=profile_id)
        return _listed(rows)
    visible = Q(is_public=True) | Q(participants__profile_id=me)
    rows = rows.filter(pk__in=Conversation.objects.filter(visible).values("pk"))
    if scope == "public":
        rows = rows.filter(is_public=True)
        if profile_id:
            rows = rows.filter(participants__profile_id=profile_id)
    else:
        rows = rows.filter(participants__profile_id=profile_id or me)
    return _listed(rows)


def _listed(rows) -> list[dict]:
    """Conversations as list items, the latest updated first, with their participantCount."""
    rows = list(rows.distinct().order_by("-updated_at"))
    # Counted apart: an annotation would count over the participant join filtered above.
    counts = dict(
        Participant.objects.filter(conversation__in=[c.pk for c in rows])
        .values_list("conversation")
        .annotate(n=Count("id"))
        .values_list("conversation", "n")
    )
    return [as_json(c, participant_count=counts.get(c.pk, 0)) for c in rows]


def list_participants(*, session: Session, conversation_id: str) -> list[dict]:
    """[{id, role}] of a conversation the caller is in (or that is public)."""
    conversation = readable(session=session, conversation_id=conversation_id)
    if not isinstance(session, BackEnd) and role_of(conversation, caller_id(session)) is None:
        raise forbidden(
            "conversation_participant_required",
            "Only the conversation's participants may list them.",
        )
    return [
        {"id": pid, "role": role}
        for pid, role in Participant.objects.filter(conversation=conversation)
        .order_by("added_at", "id")
        .values_list("profile_id", "role")
    ]


@transaction.atomic
def add_participants(*, session: Session, conversation_id: str, participants: list[dict]) -> None:
    """Add profiles (who need not have a session yet); one already in keeps its role.
    Every participant, the new ones included, gets participantAdded."""
    conversation, role = as_participant(session=session, conversation_id=conversation_id, lock=True)
    require_privilege(conversation, role, "canAddParticipants")
    members = {p["id"]: p.get("role") or ParticipantRole.PARTICIPANT for p in participants}
    admit(conversation, members, by=caller_id(session))


def admit(conversation: Conversation, members: dict[str, str], *, by: str) -> None:
    """Add these {profile id: role}, but those already in (who keep their role); each one
    added is announced to every participant, the others added here included."""
    present = set(participant_ids(conversation))
    new = {pid: role for pid, role in members.items() if pid not in present}
    Participant.objects.bulk_create(
        Participant(conversation=conversation, profile_id=pid, role=role)
        for pid, role in new.items()
    )
    everyone = present | set(new)
    for pid, role in new.items():
        events.publish(
            space_id=conversation.space_id,
            profile_ids=everyone,
            frame=added_frame(conversation, by=by, profile_id=pid, role=role),
        )


@transaction.atomic
def remove_participants(*, session: Session, conversation_id: str, profile_ids: list[str]) -> None:
    """Remove profiles; ids not in the conversation are ignored. Removing only oneself
    needs no privilege. The removed profiles get their own participantRemoved too: the SDK
    tells apps to drop the conversation on it."""
    conversation, role = as_participant(session=session, conversation_id=conversation_id, lock=True)
    me = caller_id(session)
    if set(profile_ids) != {me}:
        require_privilege(conversation, role, "canRemoveParticipants")
    everyone = participant_ids(conversation)
    removed = [pid for pid in dict.fromkeys(profile_ids) if pid in everyone]
    Participant.objects.filter(conversation=conversation, profile_id__in=removed).delete()
    for pid in removed:
        frame = events.make_frame(
            space_id=session.space_id,
            name="conversation.participantRemoved",
            created_by=me,
            conversation_id=conversation.conversation_id,
            payload={
                "profileId": pid,
                "conversationId": conversation.conversation_id,
                "apiSpaceId": str(session.space_id),
            },
        )
        events.publish(space_id=session.space_id, profile_ids=everyone, frame=frame)


def typing(*, session: Session, conversation_id: str, on: bool) -> None:
    """Tell the other participants that the caller is typing (or stopped).

    Not stored and not numbered: a typing hint is stale within seconds, and a number on it
    would look like a missed message to apps that fill gaps in conversationEventIds.
    """
    conversation, _ = as_participant(session=session, conversation_id=conversation_id)
    me = caller_id(session)
    frame = events.make_frame(
        space_id=session.space_id,
        name="conversation.participantTyping" if on else "conversation.participantTypingOff",
        created_by=me,
        # The SDK reads payload.conversationId for these two, not the top-level one.
        payload={"conversationId": conversation.conversation_id, "profileId": me},
        conversation_id=conversation.conversation_id,
    )
    others = [pid for pid in participant_ids(conversation) if pid != me]
    events.publish(space_id=session.space_id, profile_ids=others, frame=frame)
