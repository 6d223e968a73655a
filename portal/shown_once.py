"""Secrets shown once: a POST keeps the new secret for exactly one page view after its redirect.

The secret waits in the user's session, encrypted with the field-encryption keys, and the page
that shows it takes it out; a reload finds nothing, so it can neither show the secret again nor
make another. The page itself is sent with Cache-Control: no-store.
"""

from .fields import decrypt, encrypt

SESSION_KEY = "pushport_shown_once"


def keep(request, *, purpose: str, secret: str) -> None:
    """Keep `secret` for the next take() of the same purpose in this user's session."""
    kept = request.session.get(SESSION_KEY, {})
    kept[purpose] = encrypt(secret)
    request.session[SESSION_KEY] = kept


def take(request, *, purpose: str) -> str | None:
    """The secret kept for `purpose`, removed from the session: the next call returns None."""
    kept = request.session.get(SESSION_KEY, {})
    token = kept.pop(purpose, None)
    if token is None:
        return None
    if kept:
        request.session[SESSION_KEY] = kept
    else:
        del request.session[SESSION_KEY]
    return decrypt(token)
