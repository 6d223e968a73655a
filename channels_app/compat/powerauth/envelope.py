"""The PowerAuth envelopes: {"requestObject": ...} in, {"status": "OK"|"ERROR", ...} out.

Every failure on this surface, authentication and unknown routes included, answers the
PowerAuth error body with 400 (request or business problem) or 401 (credentials), as the
2021.03 reference lists; never Pushport's own {code, message}.
"""

import datetime as dt
import logging

from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from portal.errors import ApiError

logger = logging.getLogger(__name__)

ERROR_GENERIC = "ERROR_GENERIC"
ERROR_DATABASE = "ERROR_DATABASE"
BAD_REQUEST = 400
UNAUTHORIZED = 401


class PowerAuthError(Exception):
    """A refusal in PowerAuth's words: code ERROR_GENERIC or ERROR_DATABASE, status 400 or 401."""

    def __init__(self, message: str, *, code: str = ERROR_GENERIC, status: int = BAD_REQUEST):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def ok(response_object=None, **extra) -> Response:
    """{"status": "OK"[, "responseObject": ...]} plus any top-level extras (page, size)."""
    body = {"status": "OK", **extra}
    if response_object is not None:
        body["responseObject"] = response_object
    return Response(body)


def error_body(code: str, message: str) -> dict:
    """The PowerAuth error body."""
    return {"status": "ERROR", "responseObject": {"code": code, "message": message}}


def request_object(data, *, bare_allowed: bool = False):
    """The `requestObject` of a parsed body; PowerAuthError when there is none.

    `bare_allowed`: the 2021.03 text shows /push/device/status/update without the envelope, so
    that route takes the object itself as well.
    """
    if isinstance(data, dict) and "requestObject" in data:
        return data["requestObject"]
    if bare_allowed and isinstance(data, dict) and data:
        return data
    raise PowerAuthError("The request body has no requestObject.")


def obj(value, *, name: str = "requestObject") -> dict:
    """`value` when it is a JSON object."""
    if not isinstance(value, dict):
        raise PowerAuthError(f"{name} must be a JSON object.")
    return value


def text(data: dict, name: str, *, required: bool = True, max_length: int = 255) -> str:
    """A string field, stripped; PowerAuthError naming it when missing, empty or too long."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise PowerAuthError(f"The field {name} is required.")
        return ""
    if not isinstance(value, str):
        raise PowerAuthError(f"The field {name} must be a string.")
    value = value.strip()
    if required and not value:
        raise PowerAuthError(f"The field {name} is required.")
    if len(value) > max_length:
        raise PowerAuthError(f"The field {name} has more than {max_length} characters.")
    return value


def number(data: dict, name: str, *, required: bool = True) -> int | None:
    """A whole number field; a string of digits counts too (the reference sends "appId": "2")."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise PowerAuthError(f"The field {name} is required.")
        return None
    if isinstance(value, bool):
        raise PowerAuthError(f"The field {name} must be a number.")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise PowerAuthError(f"The field {name} must be a whole number.")
    return value


def flag(data: dict, name: str) -> bool:
    """An optional boolean field (false when absent)."""
    value = data.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PowerAuthError(f"The field {name} must be true or false.")
    return value


def timestamp(data: dict, name: str) -> dt.datetime | None:
    """An optional ISO 8601 timestamp field."""
    value = data.get(name)
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise PowerAuthError(f"The field {name} must be an ISO 8601 timestamp.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def exception_handler(exc, context) -> Response:
    """Every exception of a PowerAuth view as the PowerAuth error body (400 or 401).

    Unexpected ones are logged and answered too: callers of this surface only understand
    its envelope.
    """
    if isinstance(exc, PowerAuthError):
        return Response(error_body(exc.code, exc.message), status=exc.status)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return Response(
            error_body(ERROR_GENERIC, f"Unauthorized: {exc.detail}"), status=UNAUTHORIZED
        )
    if isinstance(exc, ApiError) and exc.code == "api_key_scope_missing":
        # PowerAuth knows 400 and 401 only; a key without the scope is not authorized here.
        return Response(error_body(ERROR_GENERIC, exc.message), status=UNAUTHORIZED)
    if isinstance(exc, ApiError):
        return Response(error_body(ERROR_GENERIC, exc.message), status=BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        return Response(
            error_body(ERROR_GENERIC, "The request body is not valid JSON."), status=BAD_REQUEST
        )
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(error_body(ERROR_GENERIC, "Not found."), status=BAD_REQUEST)
    if isinstance(exc, exceptions.APIException):
        return Response(error_body(ERROR_GENERIC, str(exc.detail)), status=BAD_REQUEST)
    if isinstance(exc, DatabaseError):
        logger.exception("database error on the PowerAuth API")
        return Response(
            error_body(ERROR_DATABASE, "The database refused the operation."), status=BAD_REQUEST
        )
    logger.error("unhandled error on the PowerAuth API", exc_info=exc)
    return Response(error_body(ERROR_GENERIC, "The request failed."), status=BAD_REQUEST)


@csrf_exempt
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any other path under the PowerAuth prefix, in the PowerAuth error body."""
    return JsonResponse(
        error_body(
            ERROR_GENERIC, f"No PowerAuth Push Server endpoint {request.method} {request.path}."
        ),
        status=404,
    )
