"""CORS for the Session API routes, with allowed origins a space setting.

The SDK adds non-simple headers to every request, so browsers preflight each call; the
answer names exactly what the SDK sends, and `ETag` is exposed so profile writes can send
If-Match.
"""

import re
import uuid

from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers

from .models import AppMessagingAuth

SESSION_API_PATH = re.compile(
    r"^/apispaces/(?P<space_id>[^/]+)/(?:sessions|profiles|conversations|content)(?:/|$)"
)
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOW_HEADERS = "content-type, authorization, cache-control, pragma, if-modified-since, if-match"
PREFLIGHT_MAX_AGE = "600"
# Schemes a page calling the Session API may have: the web's, and those of the web views
# hybrid apps run in (Capacitor and Ionic on iOS, Cordova's custom scheme, Tauri). A
# browser sends the origin as scheme://host[:port] for all of them.
ORIGIN_SCHEMES = ("https", "http", "capacitor", "ionic", "app", "tauri")


def _normalized(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(*, space_id: str, origin: str) -> bool:
    """Whether the space lists this origin (or `*`) among its CORS origins."""
    try:
        parsed = uuid.UUID(space_id)
    except ValueError:
        return False
    auth = AppMessagingAuth.objects.filter(space_id=parsed).only("cors_origins").first()
    if auth is None:
        return False
    allowed = {_normalized(entry) for entry in auth.allowed_origins}
    return "*" in allowed or _normalized(origin) in allowed


class CorsMiddleware:
    """Answers preflights and adds CORS headers on the /apispaces/ Session API routes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = SESSION_API_PATH.match(request.path_info)
        origin = request.headers.get("Origin")
        if match is None or not origin:
            return self.get_response(request)
        allowed = origin_allowed(space_id=match["space_id"], origin=origin)
        is_preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in (
            request.headers
        )
        if is_preflight:
            if not allowed:
                response = JsonResponse(
                    {
                        "code": "cors_origin_not_allowed",
                        "message": f"The origin {origin} is not among this space's CORS origins.",
                    },
                    status=403,
                )
                patch_vary_headers(response, ["Origin"])
                return response
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            response = self.get_response(request)
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = "ETag"
        patch_vary_headers(response, ["Origin"])
        return response
