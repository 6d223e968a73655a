"""DRF authentication for SDK calls: `Authorization: Bearer <session token>`."""

import jwt
from rest_framework import authentication, exceptions, permissions, status

from portal.errors import ApiError

from .models import Session
from .sessions import find_session, note_activity
from .spaces import as_uuid, parse_space_id
from .tokens import decode_session_token


class SessionTokenRejected(ApiError, exceptions.AuthenticationFailed):
    """401, so the SDK re-authenticates and retries."""

    status_code = status.HTTP_401_UNAUTHORIZED


def verify_session_token(*, space_id: str, token: str) -> Session:
    """The live Session a token names in the URL's space; SessionTokenRejected otherwise.

    The REST routes and App Messaging's socket both verify with this, so the socket accepts
    exactly the tokens REST accepts (the SDK otherwise reconnects forever with a dead token).
    """
    try:
        claims = decode_session_token(token)
    except jwt.ExpiredSignatureError:
        raise SessionTokenRejected(
            "session_expired", "The session token has expired; start a new session."
        ) from None
    except jwt.PyJWTError:
        raise SessionTokenRejected(
            "session_token_invalid", "The bearer token is not a session token of this server."
        ) from None
    parsed_space_id = parse_space_id(space_id)
    if as_uuid(claims["apiSpaceId"]) != parsed_space_id:
        raise SessionTokenRejected(
            "session_token_invalid", "This session token belongs to another API space."
        )
    session = find_session(space_id=parsed_space_id, session_id=claims["sessionId"])
    if session is None or not session.is_live:
        raise SessionTokenRejected(
            "session_expired", "This session has ended or expired; start a new session."
        )
    return session


class SessionTokenAuthentication(authentication.BaseAuthentication):
    """request.auth is the live Session of the URL's space; request.user stays None.

    An expired, ended, malformed or other-space token answers 401 with a specific code.
    """

    keyword = "bearer"

    def authenticate(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != self.keyword or not token.strip():
            return None
        session = verify_session_token(
            space_id=request.parser_context["kwargs"]["space_id"], token=token.strip()
        )
        note_activity(session=session)
        return (None, session)

    def authenticate_header(self, request):
        return 'Bearer realm="session"'


class HasSession(permissions.BasePermission):
    """Allows requests that a session token authenticated."""

    def has_permission(self, request, view):
        return isinstance(request.auth, Session)
