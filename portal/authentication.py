"""DRF authentication for server-to-server calls with an API key."""

import base64
import binascii

from rest_framework import authentication, exceptions

from .apikeys import authenticate_api_key
from .errors import ApiError


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <API key>`; request.auth is the ApiKey, request.user None."""

    keyword = "bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword or not raw.strip():
            return None
        key = authenticate_api_key(raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown or revoked.")
        return (None, key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BasicApiKeyAuthentication(authentication.BaseAuthentication):
    """dotdigital's `/cpaas` form: HTTP Basic with username = apiSpaceId, password = API key."""

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = (
                base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from exc
        key = authenticate_api_key(password, space_id=username)
        if key is None:
            raise exceptions.AuthenticationFailed(
                "Basic credentials must be apiSpaceId:API key of that space."
            )
        return (None, key)

    def authenticate_header(self, request):
        return 'Basic realm="api"'


def require_scope(key, scope: str) -> None:
    """Refuse (403 api_key_scope_missing) an API key that was not given `scope`."""
    if key is None or not key.allows(scope):
        raise ApiError(
            "api_key_scope_missing",
            f"This API key lacks the {scope} scope; use a key that has it.",
            status_code=403,
        )
