"""The seam through which the push app stores the devices that sessions register.

sessions_app may not import channels_app (imports point portal <- sessions_app <- channels_app),
yet POST /sessions can carry push details, and closing a device's sessions must release its
push token. The push app therefore plugs its device service in here from its
AppConfig.ready(): `set_push_registrar(register=..., unregister=...)`. `register(*, session,
push)` takes push details already validated by PushDetailsSerializer and raises
portal.errors.ApiError for anything it refuses; `unregister(*, session)` deactivates the
session's devices. Callers run them inside the transaction of the session they belong to, so
a refusal leaves nothing half-saved.
"""

from rest_framework import status

from portal.errors import ApiError

_registrar = {}


def set_push_registrar(*, register, unregister) -> None:
    """Install the callables that register and unregister a session's push details."""
    _registrar.update(register=register, unregister=unregister)


def _installed(name: str):
    if name not in _registrar:
        raise ApiError(
            "push_unavailable",
            "This server has no push channel installed.",
            status_code=status.HTTP_501_NOT_IMPLEMENTED,
        )
    return _registrar[name]


def register_push(*, session, push: dict) -> None:
    """Register validated push details for a session through the installed registrar."""
    _installed("register")(session=session, push=push)


def unregister_push(*, session) -> None:
    """Deactivate the session's devices through the installed registrar."""
    _installed("unregister")(session=session)
