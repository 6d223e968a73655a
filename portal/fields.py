"""Encryption at rest for secrets: one field type, Fernet keys from the environment."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("PUSHPORT_ENCRYPTION_KEYS is empty")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PUSHPORT_ENCRYPTION_KEYS must be url-safe base64 Fernet keys (32 bytes each)"
        ) from exc


def fernet() -> MultiFernet:
    """The MultiFernet for the configured keys: the first encrypts, all decrypt."""
    return _fernet(tuple(settings.PUSHPORT_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """Encrypt a string with the first key."""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a stored value with any configured key."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored secret cannot be decrypted with PUSHPORT_ENCRYPTION_KEYS "
            "(was the key that encrypted it removed?)"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a stored value with the first key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text field stored as a Fernet token; the Python value is the plaintext string.

    Binary secrets (a .p12) are stored base64-encoded by their model.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def encrypted_fields(model) -> list[models.Field]:
    """A model's encrypted columns, found by type so no list has to be kept."""
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
