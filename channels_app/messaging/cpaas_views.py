"""The /cpaas twins of the conversation routes, for back ends (dotdigital's conversation and
conversation-message APIs): HTTP Basic with the apiSpaceId and an API key of that space with
the send scope. The same views and services as the SDK's routes, with the caller a BackEnd
acting as the space: it reads and changes every conversation of the space, lists all of them
(or a profile's, with ?profileId=), and sends messages from the profile its body's
`from.profileId` names."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.views import APIView

from portal.authentication import BasicApiKeyAuthentication, require_scope
from portal.models import ApiKeyScope

from . import views
from .actors import BackEnd
from .serializers import MessagePostSerializer


class CpaasMixin:
    """Basic credentials of a key with send; request.auth becomes the space's BackEnd."""

    authentication_classes = [BasicApiKeyAuthentication]
    permission_classes = []

    def initial(self, request, *args, **kwargs):
        # APIView's, not SpaceApiView's: the space is the key's, not one named by the URL.
        APIView.initial(self, request, *args, **kwargs)
        if request.auth is None:
            self.permission_denied(request, message="Basic credentials are required.")
        require_scope(request.auth, ApiKeyScope.SEND)
        request.auth = BackEnd(space_id=request.auth.space_id, key_id=request.auth.id)


class MessageFromSerializer(serializers.Serializer):
    profileId = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)


class CpaasMessagePostSerializer(MessagePostSerializer):
    """The OpenAPI MessagePost: the SDK's body plus `from {profileId, name}`."""

    # `from` is a Python keyword: declared through the class namespace.
    locals()["from"] = MessageFromSerializer(required=False)


class CpaasConversationsView(CpaasMixin, views.ConversationsView):
    @views.doc("Create a conversation as the space", request=views.ConversationCreateSerializer)
    def post(self, request, space_id=None):
        return super().post(request, space_id)

    @views.doc(
        "List the space's conversations (?scope=public, ?profileId=P)",
        operation_id="cpaas_conversations_list",
    )
    def get(self, request, space_id=None):
        return super().get(request, space_id)


class CpaasConversationView(CpaasMixin, views.ConversationView):
    pass


class CpaasParticipantsView(CpaasMixin, views.ParticipantsView):
    pass


class CpaasTypingView(CpaasMixin, views.TypingView):
    pass


@extend_schema_view(
    post=extend_schema(
        tags=views.APP_MESSAGING,
        summary="Send a message as the space, from the profile `from.profileId` names",
        request=CpaasMessagePostSerializer,
        responses={200: views.OpenApiTypes.OBJECT, **views.errors(400, 401, 403, 404)},
    )
)
class CpaasMessagesView(CpaasMixin, views.MessagesView):
    post_serializer = CpaasMessagePostSerializer

    def sender(self, data: dict) -> dict | None:
        """The profile `from.profileId` names (with its `from.name`), if the body names one."""
        given = data.get("from")
        if not given:
            return None
        sender = {"id": given["profileId"]}
        if given.get("name"):
            sender["name"] = given["name"]
        return sender


class CpaasStatusUpdatesView(CpaasMixin, views.StatusUpdatesView):
    pass


class CpaasEventsView(CpaasMixin, views.EventsView):
    pass
