"""The seam through which the push app stores the devices that sessions register.

sessions_app may not import channels_app (imports point portal <- sessions_app <- channels_app),
yet POST /sessions can carry push details, and closing a device's sessions must release its
push token. The push app therefore plugs its device service in here from its
AppConfig.ready(): `set_push_registrar(register=..., unregister=..., describe=...)`.
`register(*, session, push)` takes push details already validated by PushDetailsSerializer and
raises portal.errors.ApiError for anything it refuses; `unregister(*, session)` deactivates the
session's devices; `describe(*, session)` gives the push details the session registered (the
PUT body's shape) or None. Callers run them inside the transaction of the session they belong to, so
a refusal leaves nothing half-saved.
"""

from rest_framework import status

from portal.errors import ApiError

_registrar = {}


def set_push_registrar(*, register, unregister, describe=None) -> None:
    """Install the callables that register, unregister and describe a session's push details."""
    _registrar.update(register=register, unregister=unregister)
    if describe is not None:
        _registrar["describe"] = describe


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


def push_details(*, session) -> dict | None:
    """The push details the session registered, as the PUT body gave them; None without any."""
    describe = _registrar.get("describe")
    return describe(session=session) if describe is not None else None
