"""Issuing and verifying JWTs: apps' tokens (self-issued or anonymous) and our session tokens."""

import json
import time
import uuid

import jwt
from django.conf import settings
from rest_framework import status

from portal.errors import ApiError

from .models import AppMessagingAuth, Session

APP_TOKEN_ALGORITHMS = ("HS256", "HS384", "HS512")
SESSION_TOKEN_ALGORITHM = "HS256"
MAX_ID_CLAIM_LENGTH = 255
# An exp further out than this is almost surely in milliseconds, which the protocol forbids.
MAX_EXP_AHEAD_SECONDS = 10 * 365 * 86400


class InvalidAppToken(ApiError):
    """The JWT an app presented at session creation was refused (403, as Comapi answers)."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "token_invalid"
    default_detail = "The authentication token is not valid."


# The most specific PyJWT exception first: several derive from DecodeError or each other.
_PYJWT_ERRORS = (
    (
        jwt.InvalidSignatureError,
        "token_signature_invalid",
        "The token's signature does not match this space's shared secret.",
    ),
    (jwt.ExpiredSignatureError, "token_expired", "The token has expired (exp)."),
    (
        jwt.ImmatureSignatureError,
        "token_not_yet_valid",
        "The token is not valid yet (nbf or iat is in the future; NumericDates are in seconds).",
    ),
    (
        jwt.InvalidIssuerError,
        "token_issuer_mismatch",
        "The token's iss is not this space's issuer (compared case-sensitively).",
    ),
    (
        jwt.InvalidAudienceError,
        "token_audience_mismatch",
        "The token's aud does not name this space's audience.",
    ),
    (
        jwt.InvalidIssuedAtError,
        "token_claim_invalid",
        "The token's iat must be a number of seconds.",
    ),
    (
        jwt.InvalidAlgorithmError,
        "token_algorithm_not_allowed",
        "The token's algorithm is not allowed; use HS256, HS384 or HS512.",
    ),
    (jwt.DecodeError, "token_malformed", "The token is not a well-formed JWT."),
)


def _raise_for(exc: jwt.PyJWTError):
    if isinstance(exc, jwt.MissingRequiredClaimError):
        raise InvalidAppToken("token_claim_missing", f"The token has no '{exc.claim}' claim.")
    for cls, code, message in _PYJWT_ERRORS:
        if isinstance(exc, cls):
            if cls is jwt.DecodeError:
                message = f"{message} ({exc})"
            raise InvalidAppToken(code, message) from exc
    raise InvalidAppToken("token_invalid", f"The token is not valid ({exc}).") from exc


def _check_header(token) -> None:
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidAppToken(
            "token_malformed", "The token must be a JWT: three base64url segments joined by '.'."
        )
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAppToken(
            "token_malformed", f"The token's header is unreadable ({exc})."
        ) from None
    alg = header.get("alg")
    if alg not in APP_TOKEN_ALGORITHMS:
        raise InvalidAppToken(
            "token_algorithm_not_allowed",
            f"The token's alg is {alg!r}; only HS256, HS384 and HS512 signed with the space's "
            "shared secret are accepted.",
        )


def verify_app_token(*, auth: AppMessagingAuth, token, nonce: str) -> str:
    """Check an app's JWT against the space's settings and a challenge nonce; return the profile id.

    Raises InvalidAppToken (403) with a specific code for every failure.
    """
    _check_header(token)
    try:
        claims = jwt.decode(
            token,
            key=auth.shared_secret,
            algorithms=list(APP_TOKEN_ALGORITHMS),
            issuer=auth.issuer,
            audience=auth.audience,
            leeway=settings.PUSHPORT_JWT_LEEWAY,
            # sub and jti are checked below, under our own codes, when they matter.
            options={"require": ["exp", "iss", "aud"], "verify_sub": False, "verify_jti": False},
        )
    except jwt.PyJWTError as exc:
        _raise_for(exc)
    # PyJWT compares int(exp), so "1795000000" passes its check; a NumericDate is a number.
    if not _is_numeric_date(claims["exp"]):
        raise InvalidAppToken(
            "token_claim_invalid", "The token's exp must be a number of seconds, not a string."
        )
    if claims["exp"] > time.time() + MAX_EXP_AHEAD_SECONDS:
        raise InvalidAppToken(
            "token_claim_invalid", "The token's exp is too far ahead: NumericDates are seconds."
        )
    if "nonce" not in claims:
        raise InvalidAppToken("nonce_missing", "The token has no nonce claim.")
    if claims["nonce"] != nonce:
        raise InvalidAppToken(
            "nonce_mismatch", "The token's nonce is not the nonce of this authenticationId."
        )
    if auth.id_claim not in claims:
        raise InvalidAppToken("id_claim_missing", f"The token has no '{auth.id_claim}' claim.")
    profile_id = claims[auth.id_claim]
    if not isinstance(profile_id, str) or not profile_id.strip():
        raise InvalidAppToken(
            "id_claim_invalid", f"The token's '{auth.id_claim}' claim must be a non-empty string."
        )
    if len(profile_id) > MAX_ID_CLAIM_LENGTH:
        raise InvalidAppToken(
            "id_claim_invalid",
            f"The token's '{auth.id_claim}' claim is longer than {MAX_ID_CLAIM_LENGTH} characters.",
        )
    if not _storable(profile_id):
        raise InvalidAppToken(
            "id_claim_invalid",
            f"The token's '{auth.id_claim}' claim holds a lone surrogate or a NUL character.",
        )
    return profile_id


def _is_numeric_date(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _storable(text: str) -> bool:
    """Whether every database can store the text.

    No lone surrogate (a JSON escape such as backslash-u-d800 decodes to one, and UTF-8 has
    no encoding for it) and no NUL, which PostgreSQL refuses in text.
    """
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def issue_anonymous_token(*, auth: AppMessagingAuth, user_id: str, nonce: str) -> str:
    """An anonymous user's JWT, signed with the space's secret, that verify_app_token accepts."""
    now = int(time.time())
    claims = {
        "iss": auth.issuer,
        "aud": auth.audience,
        auth.id_claim: f"anon_{user_id}",
        "nonce": nonce,
        "iat": now,
        "exp": now + auth.anonymous_token_lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, auth.shared_secret, algorithm="HS256")


class _AtobSafeJSONEncoder(json.JSONEncoder):
    """JSON whose base64url form holds no '-' or '_', so browsers' atob() decodes it.

    In ASCII text only a byte ending a 3-byte group can map to the base64 digits 62 or 63,
    and only if it is '>', '?' or '~' (DEL never appears in JSON). Those are escaped as
    \\u003e, \\u003f and \\u007e, which JSON allows inside strings, the only place they occur.
    """

    def __init__(self, *args, **kwargs):
        kwargs["ensure_ascii"] = True
        super().__init__(*args, **kwargs)

    def encode(self, o) -> str:
        text = super().encode(o)
        return text.replace(">", "\\u003e").replace("?", "\\u003f").replace("~", "\\u007e")


def issue_session_token(*, session: Session, api_space_id: str | None = None) -> str:
    """Pushport's own JWT for a session: a strict HS256 JWT whose payload atob() can read.

    `api_space_id` is the space id as the app spelled it (the SDK compares it verbatim with
    its configuration, and re-authenticates on every call when they differ).
    """
    claims = {
        "apiSpaceId": api_space_id or str(session.space_id),
        "sub": session.profile.profile_id,
        "sessionId": str(session.id),
        "iat": int(session.created_at.timestamp()),
        "exp": int(session.expires_at.timestamp()),
    }
    return jwt.encode(
        claims,
        settings.PUSHPORT_SESSION_TOKEN_KEY,
        algorithm=SESSION_TOKEN_ALGORITHM,
        json_encoder=_AtobSafeJSONEncoder,
    )


def decode_session_token(token: str) -> dict:
    """The claims of a session token signed by us; raises jwt.PyJWTError when it is not one."""
    claims = jwt.decode(
        token,
        settings.PUSHPORT_SESSION_TOKEN_KEY,
        algorithms=[SESSION_TOKEN_ALGORITHM],
        options={"require": ["exp", "apiSpaceId", "sessionId", "sub"]},
    )
    if not isinstance(claims["apiSpaceId"], str) or not isinstance(claims["sessionId"], str):
        raise jwt.InvalidTokenError("apiSpaceId and sessionId must be strings")
    return claims
