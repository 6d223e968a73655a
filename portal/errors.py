"""API errors: JSON with a stable machine code and a human message."""

import logging
import re

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An API failure with a stable code; subclass or instantiate with code, message, status."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request is not valid."

    def __init__(self, code=None, message=None, *, status_code=None, details=None):
        self.code = code or self.default_code
        self.message = message or self.default_detail
        if status_code is not None:
            self.status_code = status_code
        self.details = details
        super().__init__(detail=self.message, code=self.code)


_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "malformed_body",
    exceptions.ValidationError: "validation_error",
}


def api_exception_handler(exc, context):
    """Render every API exception as {"code", "message"[, "details"]}."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = {"code": exc.code, "message": exc.message}
        if exc.details is not None:
            body["details"] = exc.details
    elif isinstance(exc, exceptions.ValidationError):
        body = {
            "code": "validation_error",
            "message": "The request body has invalid fields.",
            "details": exc.detail,
        }
    else:
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
        body = {"code": code, "message": str(exc.detail)}
    response.data = body
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response


def error_response(code: str, message: str, status_code: int) -> Response:
    """A Response in the API's error shape, for code outside DRF's exception flow."""
    return Response({"code": code, "message": message}, status=status_code)


# The API's routes: whatever goes wrong under these prefixes answers the JSON error shape,
# never Django's HTML page (which, with DEBUG on, also lists every URL pattern). Portal pages
# keep their HTML.
API_PATH = re.compile(r"^/(?:apispaces|cpaas|api)(?:/|$)")


def is_api_path(path: str) -> bool:
    """Whether a request path belongs to an API (Session, Server, dotdigital or docs)."""
    return API_PATH.match(path) is not None


def json_error(code: str, message: str, status_code: int) -> JsonResponse:
    """A plain Django response in the API's error shape, for code outside DRF."""
    return JsonResponse({"code": code, "message": message}, status=status_code)


def _not_found() -> JsonResponse:
    return json_error("not_found", "No API route or object at this path.", 404)


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """The last URL pattern under the API prefixes: an unknown path or a malformed id."""
    return _not_found()


def _for_exception(exc: Exception) -> JsonResponse | None:
    """The JSON answer to an exception Django would render as a page; None for a bug."""
    if isinstance(exc, RequestDataTooBig):
        return json_error(
            "body_too_large",
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            413,
        )
    if isinstance(exc, Http404):
        return _not_found()
    if isinstance(exc, PermissionDenied):
        return json_error("permission_denied", "You may not do this.", 403)
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return json_error("bad_request", "The request is not valid.", 400)
    return None


class ApiErrorMiddleware:
    """On API paths, exceptions a view leaves unhandled become JSON errors.

    Known request problems keep their status (413 for a body over the limit); anything else
    is logged with its traceback and answered as a JSON 500, never Django's debug page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_path(request.path_info):
            return None
        response = _for_exception(exception)
        if response is None:
            logger.error(
                "unhandled error on %s %s", request.method, request.path, exc_info=exception
            )
            response = json_error("server_error", "The server failed to answer; try again.", 500)
        return response


def _page_or_json(request, exception, default_view, status_code: int):
    if is_api_path(request.path_info):
        response = _for_exception(exception) if exception is not None else None
        if response is None:
            response = json_error(
                {400: "bad_request", 403: "permission_denied", 404: "not_found"}.get(
                    status_code, "server_error"
                ),
                "The request failed.",
                status_code,
            )
        return response
    if exception is None:
        return default_view(request)
    return default_view(request, exception)


def handler400(request, exception=None):
    """Django's 400 page, or the JSON error on API paths."""
    return _page_or_json(request, exception, defaults.bad_request, 400)


def handler403(request, exception=None):
    """Django's 403 page, or the JSON error on API paths."""
    return _page_or_json(request, exception, defaults.permission_denied, 403)


def handler404(request, exception=None):
    """Django's 404 page, or the JSON error on API paths."""
    return _page_or_json(request, exception, defaults.page_not_found, 404)


def handler500(request):
    """Django's 500 page, or the JSON error on API paths."""
    return _page_or_json(request, None, defaults.server_error, 500)
