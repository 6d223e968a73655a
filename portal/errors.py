"""API errors: JSON with a stable machine code and a human message."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
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
