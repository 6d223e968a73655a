"""The SDK's conversation routes under /apispaces/{apiSpaceId}/conversations: thin views that
validate, call one service and render. Auth is the session token (sessions_app)."""

import copy

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from portal.errors import ApiError
from sessions_app.views import SessionApiView, errors

from . import conversations, messages
from .query import first, raw_query
from .serializers import (
    ConversationCreateSerializer,
    ConversationUpdateSerializer,
    MessagePostSerializer,
    ParticipantSerializer,
    StatusUpdateSerializer,
)

APP_MESSAGING = ["App Messaging"]
# The SDK's getConversations sends the enum's name or, from plain JS, its number.
SCOPES = {"public": "public", "0": "public", "participant": "participant", "1": "participant"}


def doc(summary, *, request=None, ok=200, body=OpenApiTypes.OBJECT, many=False, **extra):
    """The OpenAPI description of one route of this surface."""
    return extend_schema(
        tags=APP_MESSAGING,
        summary=summary,
        request=request(many=True) if many else request,
        responses={ok: None if ok == 204 else body, **errors(400, 401, 403, 404, 409, 412)},
        **extra,
    )


def _valid(serializer_class, data, **kwargs):
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _number(values, key: str, *, default: int | None = None, minimum: int = 0) -> int | None:
    raw = first(values, key)
    if raw in (None, ""):
        return default
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ApiError(
            "query_invalid", f"`{key}` must be a whole number of at least {minimum}, not {raw!r}."
        )
    return number


def _with_etag(body: dict, conversation, status_code=status.HTTP_200_OK) -> Response:
    response = Response(body, status=status_code)
    # The SDK copies this header into the result's _etag, which the app passes back on PUT.
    response["ETag"] = conversation.etag
    return response


class ConversationsView(SessionApiView):
    @doc(
        "Create a conversation (the caller is its owner)",
        request=ConversationCreateSerializer,
        ok=201,
    )
    def post(self, request, space_id):
        data = _valid(ConversationCreateSerializer, request.data)
        conversation = conversations.create_conversation(
            session=request.auth,
            conversation_id=data["id"],
            name=data["name"],
            description=data["description"] or "",
            is_public=data["isPublic"],
            roles=data.get("roles") or copy.deepcopy(conversations.DEFAULT_ROLES),
            participants=data["participants"],
        )
        return _with_etag(
            conversations.as_json(conversation), conversation, status.HTTP_201_CREATED
        )

    @doc(
        "List conversations (the caller's, or public)", operation_id="apispaces_conversations_list"
    )
    def get(self, request, space_id):
        query = raw_query(request)
        scope = first(query, "scope")
        if scope not in (None, "") and scope not in SCOPES:
            raise ApiError("query_invalid", "`scope` must be public, participant, 0 or 1.")
        return Response(
            conversations.list_conversations(
                session=request.auth,
                scope=SCOPES.get(scope or ""),
                profile_id=first(query, "profileId") or None,
            )
        )


class ConversationView(SessionApiView):
    @doc("Read a conversation")
    def get(self, request, space_id, conversation_id):
        conversation = conversations.readable(session=request.auth, conversation_id=conversation_id)
        return _with_etag(conversations.as_json(conversation), conversation)

    @doc("Update a conversation (If-Match optional)", request=ConversationUpdateSerializer)
    def put(self, request, space_id, conversation_id):
        data = _valid(ConversationUpdateSerializer, request.data)
        conversation = conversations.update_conversation(
            session=request.auth,
            conversation_id=conversation_id,
            if_match=request.headers.get("If-Match"),
            name=data["name"],
            description=data["description"] or "",
            roles=data.get("roles") or copy.deepcopy(conversations.DEFAULT_ROLES),
            is_public=data["isPublic"],
        )
        return _with_etag(conversations.as_json(conversation), conversation)

    @doc("Delete a conversation (owners)", ok=204)
    def delete(self, request, space_id, conversation_id):
        conversations.delete_conversation(session=request.auth, conversation_id=conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ParticipantsView(SessionApiView):
    @doc("List a conversation's participants")
    def get(self, request, space_id, conversation_id):
        return Response(
            conversations.list_participants(session=request.auth, conversation_id=conversation_id)
        )

    @doc("Add participants", request=ParticipantSerializer, many=True, ok=201, body=None)
    def post(self, request, space_id, conversation_id):
        data = _valid(ParticipantSerializer, request.data, many=True)
        conversations.add_participants(
            session=request.auth, conversation_id=conversation_id, participants=data
        )
        return Response(status=status.HTTP_201_CREATED)

    @doc("Remove participants (?id=a&id=b or ?id=a,b)", ok=204)
    def delete(self, request, space_id, conversation_id):
        ids = raw_query(request).get("id", [])
        # The SDK repeats the key; the OpenAPI file joins values with commas.
        if len(ids) == 1:
            ids = ids[0].split(",")
        ids = [pid for pid in ids if pid]
        if not ids:
            raise ApiError("query_invalid", "Name the participants to remove: ?id=a&id=b.")
        conversations.remove_participants(
            session=request.auth, conversation_id=conversation_id, profile_ids=ids
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TypingView(SessionApiView):
    @doc("The caller is typing", ok=204)
    def post(self, request, space_id, conversation_id):
        conversations.typing(session=request.auth, conversation_id=conversation_id, on=True)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @doc("The caller stopped typing", ok=204)
    def delete(self, request, space_id, conversation_id):
        conversations.typing(session=request.auth, conversation_id=conversation_id, on=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessagesView(SessionApiView):
    # The body a caller sends; the /cpaas twin's adds `from`.
    post_serializer = MessagePostSerializer

    def sender(self, data: dict) -> dict | None:
        """Whom the message is from, when not the caller's own profile."""
        return None

    @doc("Send a message", request=MessagePostSerializer)
    def post(self, request, space_id=None, conversation_id=None):
        data = _valid(self.post_serializer, request.data)
        message = messages.send_message(
            session=request.auth,
            conversation_id=conversation_id,
            parts=data["parts"],
            metadata=data["metadata"],
            alert=data["alert"],
            sender=self.sender(data),
        )
        return Response({"id": str(message.id), "eventId": message.sent_event_id})

    @doc("A page of history (?limit=N[&from=T])")
    def get(self, request, space_id, conversation_id):
        query = raw_query(request)
        page = messages.history_page(
            session=request.auth,
            conversation_id=conversation_id,
            limit=_number(query, "limit", default=messages.MAX_PAGE, minimum=1),
            before=_number(query, "from"),
        )
        return Response(page)


class StatusUpdatesView(SessionApiView):
    @doc("Mark messages delivered or read", request=StatusUpdateSerializer, many=True, body=None)
    def post(self, request, space_id, conversation_id):
        data = _valid(StatusUpdateSerializer, request.data, many=True)
        messages.update_statuses(
            session=request.auth, conversation_id=conversation_id, updates=data
        )
        return Response(status=status.HTTP_200_OK)


class EventsView(SessionApiView):
    @doc("Message events from an id (?from=F&limit=L)")
    def get(self, request, space_id, conversation_id):
        query = raw_query(request)
        return Response(
            messages.events_page(
                session=request.auth,
                conversation_id=conversation_id,
                from_id=_number(query, "from", default=0),
                limit=_number(query, "limit", default=messages.MAX_PAGE, minimum=1),
            )
        )
