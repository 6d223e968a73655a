"""The seam through which the push app stores the devices that sessions register.

sessions_app may not import channels_app (imports point portal <- sessions_app <- channels_app),
yet POST /sessions can carry push details. The push app therefore plugs its registration
service in here from its AppConfig.ready(): `set_push_registrar(register_push_details)`, where
the callable takes `(*, session, push)` with `push` already validated by PushDetailsSerializer
and raises portal.errors.ApiError for anything it refuses. Callers run it inside the same
transaction as the session it belongs to, so a refusal leaves nothing half-saved.
"""

from rest_framework import status

from portal.errors import ApiError

_registrar = None


def set_push_registrar(register) -> None:
    """Install the callable that registers a session's push details."""
    global _registrar
    _registrar = register


def register_push(*, session, push: dict) -> None:
    """Register validated push details for a session through the installed registrar."""
    if _registrar is None:
        raise ApiError(
            "push_unavailable",
            "This server has no push channel installed.",
            status_code=status.HTTP_501_NOT_IMPLEMENTED,
        )
    _registrar(session=session, push=push)
