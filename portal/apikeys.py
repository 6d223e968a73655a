"""Issuing, checking and revoking API keys."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.utils import timezone

from .models import ApiKey, ApiKeyScope, ApiSpace, default_scopes

KEY_PREFIX = "pp_"


def _hash(secret: str) -> str:
    # The secret is 256 random bits, so a plain digest resists guessing; no slow KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    *, space: ApiSpace, name: str, scopes: Iterable[str] | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the full secret, which is never shown again.

    `scopes` are ApiKeyScope values; without them the key gets the default (send, devices).
    """
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    chosen = default_scopes() if scopes is None else _clean_scopes(scopes)
    key = ApiKey.objects.create(
        space=space, name=name, prefix=prefix, secret_hash=_hash(secret), scopes=chosen
    )
    return key, f"{KEY_PREFIX}{prefix}.{secret}"


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    """Known scopes, once each, in the order ApiKeyScope lists them."""
    wanted = set(scopes)
    unknown = wanted - set(ApiKeyScope.values)
    if unknown:
        raise ValueError(f"unknown API key scopes: {sorted(unknown)}")
    return [scope for scope in ApiKeyScope.values if scope in wanted]


def authenticate_api_key(raw: str, *, space_id=None) -> ApiKey | None:
    """The active key matching a presented secret (and space, when given), or None."""
    if not raw.startswith(KEY_PREFIX) or "." not in raw:
        return None
    prefix, _, secret = raw[len(KEY_PREFIX) :].partition(".")
    key = (
        ApiKey.objects.select_related("space")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    if space_id is not None and str(key.space_id) != str(space_id):
        return None
    now = timezone.now()
    # Writing on every request would serialize hot senders on one row; a minute is precise enough.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke_api_key(*, key: ApiKey) -> None:
    """Revoke a key; requests using it fail from now on."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
