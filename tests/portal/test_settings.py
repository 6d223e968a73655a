"""Production settings: DEBUG=false refuses public secrets, and `check --deploy` passes."""

import base64
import hashlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from portal.settings import DEVELOPMENT_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent.parent

# Everything settings.py reads that a developer's shell might have set.
SETTINGS_VARIABLES = [
    "DEBUG",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "PUSHPORT_ENCRYPTION_KEYS",
    "PUSHPORT_SESSION_TOKEN_KEY",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
]


def derived(purpose: str) -> str:
    """A key derived from the development SECRET_KEY as settings.py derives its defaults."""
    digest = hashlib.sha256(f"pushport:{purpose}:{DEVELOPMENT_SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def production_variables() -> dict[str, str]:
    """The variables the README's Production guide asks for, with fresh secrets.

    Nothing here is connected to: settings and `check --deploy` only read them.
    """
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PUSHPORT_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PUSHPORT_SESSION_TOKEN_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "push.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://push.example.com",
        "DATABASE_URL": "postgres://pushport:password@db.internal:5432/pushport",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        "CACHE_URL": "redis://redis.internal:6379/1",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "SECURE_HSTS_PRELOAD": "true",
    }


def run(*args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env |= {"DJANGO_SETTINGS_MODULE": "portal.settings", **variables}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def start(**variables: str) -> subprocess.CompletedProcess:
    return run("-c", "import django; django.setup()", **variables)


def test_the_documented_production_variables_start():
    result = start(**production_variables())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", None),
        ("SECRET_KEY", ""),
        ("SECRET_KEY", DEVELOPMENT_SECRET_KEY),
        ("PUSHPORT_ENCRYPTION_KEYS", None),
        ("PUSHPORT_ENCRYPTION_KEYS", derived("field-encryption")),
        (
            "PUSHPORT_ENCRYPTION_KEYS",
            f"{Fernet.generate_key().decode()},{derived('field-encryption')}",
        ),
        ("PUSHPORT_SESSION_TOKEN_KEY", None),
        ("PUSHPORT_SESSION_TOKEN_KEY", derived("session-token")),
    ],
)
def test_debug_false_refuses_to_start_with_an_unset_or_development_secret(name, value):
    variables = production_variables()
    if value is None:
        del variables[name]
    else:
        variables[name] = value

    result = start(**variables)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name} must be set" in result.stderr


def test_debug_true_starts_with_the_development_defaults():
    assert start().returncode == 0


def test_manage_py_check_deploy_passes_with_the_production_variables():
    result = run(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", **production_variables()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_proxy_ssl_header_needs_a_header_and_a_value():
    result = start(**production_variables() | {"SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"})
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must be a header and a value" in result.stderr


def test_debug_false_turns_on_https_cookies_and_hsts():
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_HSTS_PRELOAD, s.SECURE_PROXY_SSL_HEADER)"
    )
    variables = production_variables()
    del variables["SECURE_HSTS_PRELOAD"]
    del variables["SECURE_PROXY_SSL_HEADER"]

    defaults = run("-c", show, **variables)
    behind_proxy = run(
        "-c", show, **variables, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https"
    )

    assert defaults.stdout.split() == ["True"] * 4 + ["31536000", "True", "False", "None"]
    assert behind_proxy.stdout.split()[-2:] == ["('HTTP_X_FORWARDED_PROTO',", "'https')"]


def test_only_runserver_in_development_loads_daphne_and_twisted():
    loaded = "import django, sys; django.setup(); print('twisted' in sys.modules)"

    production = run("-c", loaded, **production_variables())
    development = run("-c", loaded, DEBUG="true")

    assert (production.stdout.strip(), development.stdout.strip()) == ("False", "True")
