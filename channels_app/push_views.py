"""PUT and DELETE /apispaces/{apiSpaceId}/sessions/{sessionId}/push: the Device API."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from sessions_app.serializers import PushDetailsSerializer
from sessions_app.sessions import session_for_push
from sessions_app.views import SESSION_API, SessionApiView, errors

from .devices import register_push_details, unregister_push_details


class SessionPushView(SessionApiView):
    """The caller's push details; see session_for_push for the SDK's retry after re-auth."""

    @extend_schema(
        tags=SESSION_API,
        summary="Register the session's push details (APNs or FCM)",
        request=PushDetailsSerializer,
        responses={204: None, **errors(400, 401, 403, 404)},
    )
    def put(self, request, space_id, session_id):
        session = session_for_push(caller=request.auth, session_id=session_id)
        push = PushDetailsSerializer(data=request.data)
        push.is_valid(raise_exception=True)
        register_push_details(session=session, push=push.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=SESSION_API,
        summary="Remove the session's push details",
        request=None,
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request, space_id, session_id):
        session = session_for_push(caller=request.auth, session_id=session_id)
        unregister_push_details(session=session)
        return Response(status=status.HTTP_204_NO_CONTENT)
