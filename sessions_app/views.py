"""Session API views (Comapi-compatible): thin, each validating, calling one service, rendering."""

from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.authentication import (
    ApiKeyAuthentication,
    BasicApiKeyAuthentication,
    require_scope,
)
from portal.errors import ApiError
from portal.models import ApiKeyScope, ApiSpace

from .authentication import HasSession, SessionTokenAuthentication
from .models import AnonymousTokenAccess, AppMessagingAuth
from .profiles import quoted_etag, write_profile
from .serializers import (
    AnonTokenQuerySerializer,
    AnonTokenSerializer,
    ErrorSerializer,
    ProfileSerializer,
    SessionCreatedSerializer,
    SessionCreateSerializer,
    SessionSerializer,
    SessionStartSerializer,
)
from .sessions import (
    close_device,
    create_session,
    end_session,
    find_session,
    open_challenge_exists,
    start_authentication,
)
from .spaces import auth_for_space, parse_space_id, space_not_found
from .throttles import (
    AnonTokenIpThrottle,
    AnonTokenSpaceThrottle,
    SessionStartIpThrottle,
    SessionStartSpaceThrottle,
    client_ip,
)
from .tokens import issue_anonymous_token

SESSION_API = ["Session API"]


def errors(*statuses: int) -> dict:
    """OpenAPI error responses in the API's {code, message} shape."""
    return {code: OpenApiResponse(ErrorSerializer) for code in statuses}


class SpaceApiView(APIView):
    """A Session API view under /apispaces/{space_id}/: an unknown space answers 404 first."""

    def initial(self, request, *args, **kwargs):
        space_id = parse_space_id(kwargs["space_id"])
        if not ApiSpace.objects.filter(pk=space_id).exists():
            raise space_not_found()
        super().initial(request, *args, **kwargs)


class SpaceApiKeyMixin:
    """For server-to-server routes under /apispaces/{space_id}/: `Bearer <API key>`."""

    def require_space_key(self, space_id: str, *, scope: str = "") -> None:
        """401 unless the request carries an active API key of this very space; 403 when the
        key lacks `scope` (an ApiKeyScope value)."""
        if self.request.auth is None:
            self.permission_denied(self.request, message="An API key of this space is required.")
        if self.request.auth.space_id != parse_space_id(space_id):
            raise ApiError(
                "api_key_invalid",
                "The API key is unknown or revoked.",
                status_code=status.HTTP_401_UNAUTHORIZED,
            )
        if scope:
            require_scope(self.request.auth, scope)


class SessionApiView(SpaceApiView):
    """A view for the holder of a session token; request.auth is the caller's Session."""

    authentication_classes = [SessionTokenAuthentication]
    permission_classes = [HasSession]

    def own_session(self, session_id: str):
        """The caller's session when the URL names it; 403 for any other session."""
        session = self.request.auth
        if str(session.id) != session_id:
            raise ApiError(
                "session_forbidden",
                "A session token may only act on its own session.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        return session


class SessionStartView(SpaceApiView):
    # Each call stores a challenge: bounded per client IP and per space.
    throttle_classes = [SessionStartIpThrottle, SessionStartSpaceThrottle]

    @extend_schema(
        tags=SESSION_API,
        summary="Start authentication: a nonce for the app's JWT",
        responses={200: SessionStartSerializer, **errors(403, 404, 429)},
    )
    def get(self, request, space_id):
        challenge = start_authentication(auth=auth_for_space(space_id))
        body = {
            "authenticationId": str(challenge.id),
            "provider": "jsonWebToken",
            "nonce": challenge.nonce,
            "expiresOn": challenge.expires_at,
        }
        return Response(SessionStartSerializer(body).data)


class SessionCreateView(SpaceApiView):
    @extend_schema(
        tags=SESSION_API,
        summary="Create a session from a verified JWT",
        request=SessionCreateSerializer,
        responses={201: SessionCreatedSerializer, **errors(400, 403, 404)},
    )
    def post(self, request, space_id):
        auth = auth_for_space(space_id)
        serializer = SessionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        session, token = create_session(
            auth=auth,
            authentication_id=data["authenticationId"],
            authentication_token=data["authenticationToken"],
            device=serializer.device(),
            source_ip=client_ip(request),
            push=data.get("push"),
            api_space_id=space_id,
        )
        body = {"token": token, "session": session}
        return Response(SessionCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


class SessionDetailView(SessionApiView):
    @extend_schema(
        tags=SESSION_API,
        summary="Read the caller's session",
        responses={200: SessionSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, space_id, session_id):
        return Response(SessionSerializer(self.own_session(session_id)).data)

    @extend_schema(
        tags=SESSION_API,
        summary="End the caller's session (its profile and devices stay)",
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request, space_id, session_id):
        end_session(session=self.own_session(session_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileQueryView(SessionApiView):
    """The SDK's queryProfiles: a session sees its own profile only, so it gets a clear no."""

    @extend_schema(
        tags=SESSION_API,
        summary="Query profiles (not open to sessions)",
        operation_id="apispaces_profiles_query",
        responses={403: ErrorSerializer, **errors(401, 404)},
    )
    def get(self, request, space_id):
        raise ApiError(
            "profile_query_forbidden",
            "A session may only read its own profile: GET profiles/{profileId}.",
            status_code=status.HTTP_403_FORBIDDEN,
        )


PROFILE_WRITE_PARAMETERS = [
    OpenApiParameter(
        "If-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="The ETag last read; a stale one answers 412.",
    ),
]


class ProfileView(SessionApiView):
    """The caller's own profile; another profile answers 403."""

    def own_profile(self, profile_id: str):
        profile = self.request.auth.profile
        if profile.profile_id != profile_id:
            raise ApiError(
                "profile_forbidden",
                "A session may only read and change its own profile.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        return profile

    def render(self, profile) -> Response:
        return Response(ProfileSerializer(profile).data, headers={"ETag": quoted_etag(profile)})

    def write(self, profile_id: str, *, merge: bool, deletes=()) -> Response:
        profile = write_profile(
            profile=self.own_profile(profile_id),
            body=self.request.data,
            if_match=self.request.headers.get("If-Match"),
            merge=merge,
            deletes=deletes,
        )
        return self.render(profile)

    @extend_schema(
        tags=SESSION_API,
        summary="Read the caller's profile (with its ETag)",
        responses={200: ProfileSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, space_id, profile_id):
        return self.render(self.own_profile(profile_id))

    @extend_schema(
        tags=SESSION_API,
        summary="Replace the caller's profile fields",
        parameters=PROFILE_WRITE_PARAMETERS,
        request=OpenApiTypes.OBJECT,
        responses={200: ProfileSerializer, **errors(400, 401, 403, 404, 412, 413)},
    )
    def put(self, request, space_id, profile_id):
        return self.write(profile_id, merge=False)

    @extend_schema(
        tags=SESSION_API,
        summary="Merge fields into the caller's profile",
        parameters=[
            *PROFILE_WRITE_PARAMETERS,
            OpenApiParameter(
                "deletes",
                OpenApiTypes.STR,
                description="Comma-separated top-level fields to remove.",
            ),
        ],
        request=OpenApiTypes.OBJECT,
        responses={200: ProfileSerializer, **errors(400, 401, 403, 404, 412, 413)},
    )
    def patch(self, request, space_id, profile_id):
        deletes = tuple(
            name.strip() for name in request.query_params.get("deletes", "").split(",") if name
        )
        return self.write(profile_id, merge=True, deletes=deletes)


class ProfileDeviceView(SpaceApiKeyMixin, SpaceApiView):
    """A server removes one of a profile's devices (the SDK's deviceId) and closes its sessions."""

    authentication_classes = [ApiKeyAuthentication]

    @extend_schema(
        tags=SESSION_API,
        summary="Remove a profile's device and close its sessions",
        responses={204: None, **errors(401, 404)},
    )
    def delete(self, request, space_id, profile_id, device_id):
        self.require_space_key(space_id, scope=ApiKeyScope.DEVICES)
        closed = close_device(
            auth=auth_for_space(space_id), profile_id=profile_id, device_id=device_id
        )
        if not closed:
            raise ApiError(
                "device_not_found",
                "This profile has no session from this deviceId.",
                status_code=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnonTokenMixin:
    """Mints an anonymous token for ?id=&nonce= once the caller is allowed."""

    def mint(self, request, auth: AppMessagingAuth) -> Response:
        query = AnonTokenQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        nonce = query.validated_data["nonce"]
        if not open_challenge_exists(auth=auth, nonce=nonce):
            raise ApiError(
                "nonce_unknown",
                "This nonce is not an open challenge of this space: call sessions/start first.",
            )
        token = issue_anonymous_token(auth=auth, user_id=query.validated_data["id"], nonce=nonce)
        return Response(AnonTokenSerializer({"token": token}).data)


ANON_TOKEN_PARAMETERS = [
    OpenApiParameter(
        "id", OpenApiTypes.STR, required=True, description="1 to 128 of [A-Za-z0-9._:-]"
    ),
    OpenApiParameter("nonce", OpenApiTypes.STR, required=True, description="From sessions/start."),
]


class AnonTokenView(AnonTokenMixin, SpaceApiKeyMixin, SpaceApiView):
    """The /apispaces/ form: nobody, API-key holders or anyone (throttled), as the space says."""

    authentication_classes = [ApiKeyAuthentication]
    throttle_anyone = False

    def perform_authentication(self, request):
        # Who must authenticate depends on the space's setting, read in the handler.
        pass

    def get_throttles(self):
        if self.throttle_anyone:
            return [AnonTokenIpThrottle(), AnonTokenSpaceThrottle()]
        return []

    @extend_schema(
        tags=SESSION_API,
        summary="Mint an anonymous user's JWT",
        parameters=ANON_TOKEN_PARAMETERS,
        responses={200: AnonTokenSerializer, **errors(400, 401, 403, 404, 429)},
    )
    def get(self, request, space_id):
        auth = auth_for_space(space_id)
        access = auth.anonymous_token_access
        if access == AnonymousTokenAccess.NOBODY:
            raise ApiError(
                "anonymous_tokens_disabled",
                "This space does not issue anonymous tokens.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        if access == AnonymousTokenAccess.ANYONE:
            self.throttle_anyone = True
            self.check_throttles(request)
        else:
            self.require_space_key(space_id)
        return self.mint(request, auth)


class CpaasApiView(APIView):
    """A dotdigital /cpaas route: HTTP Basic with the apiSpaceId and an API key of that space."""

    authentication_classes = [BasicApiKeyAuthentication]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.auth is None:
            self.permission_denied(request, message="Basic credentials are required.")


class CpaasSessionView(CpaasApiView):
    """A server reads or ends any session of its space."""

    def session(self, session_id: str):
        session = find_session(space_id=self.request.auth.space_id, session_id=session_id)
        if session is None:
            raise ApiError(
                "session_not_found",
                "This space has no session with this id.",
                status_code=status.HTTP_404_NOT_FOUND,
            )
        return session

    @extend_schema(
        tags=SESSION_API,
        summary="Read a session of the space",
        responses={200: SessionSerializer, **errors(401, 404)},
    )
    def get(self, request, session_id):
        return Response(SessionSerializer(self.session(session_id)).data)

    @extend_schema(
        tags=SESSION_API,
        summary="End a session of the space (its profile and devices stay)",
        responses={204: None, **errors(401, 404)},
    )
    def delete(self, request, session_id):
        end_session(session=self.session(session_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CpaasAnonTokenView(AnonTokenMixin, CpaasApiView):
    """dotdigital's /cpaas form: the space comes from the Basic credentials."""

    @extend_schema(
        tags=SESSION_API,
        summary="Mint an anonymous user's JWT (Basic: apiSpaceId and API key)",
        parameters=ANON_TOKEN_PARAMETERS,
        responses={200: AnonTokenSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request):
        return self.mint(request, auth_for_space(request.auth.space_id))


_profile_view = ProfileView.as_view()
_profile_device_view = ProfileDeviceView.as_view()


@csrf_exempt
def profile_or_device(request, space_id, profile_id, device_id):
    """profiles/{a}/devices/{b}: a server's DELETE of a device, or the profile "{a}/devices/{b}".

    The SDK encodes a "/" in a profile id as %2F, which is decoded before routing, so an id
    holding "/devices/" arrives like the device route. Only the device route has DELETE and
    only the profile has the Session API's methods, so the method tells them apart.
    """
    if request.method == "DELETE":
        return _profile_device_view(
            request, space_id=space_id, profile_id=profile_id, device_id=device_id
        )
    return _profile_view(request, space_id=space_id, profile_id=f"{profile_id}/devices/{device_id}")


# What the OpenAPI generator reads off a route's view: this route is documented as the
# device DELETE it is for servers (the profile methods are documented on profiles/{id}).
profile_or_device.cls = ProfileDeviceView
profile_or_device.initkwargs = {}
