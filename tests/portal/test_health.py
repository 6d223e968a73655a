"""GET /healthz: the database and, when configured, the broker; no sign-in, nothing revealing."""

import socket

import pytest
from django.db import DatabaseError
from django.test import Client

from portal import health

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_answers_200_with_the_database_check_without_a_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert "no-store" in response["Cache-Control"]


def test_it_needs_no_sign_in_and_answers_head(client):
    assert Client().head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_a_reachable_broker_is_checked_too(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "memory://"

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_an_unreachable_broker_answers_503_without_naming_its_host(client, settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "checks": {"database": "ok", "broker": "failed"},
    }
    body = response.content.decode()
    assert "127.0.0.1" not in body and "hunter2" not in body
    assert "broker cannot be reached" in caplog.text


def test_a_database_failure_answers_503(client, monkeypatch):
    class BrokenCursor:
        def __enter__(self):
            raise DatabaseError("could not connect to server at db.internal")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", BrokenCursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "failed"}
    assert "db.internal" not in response.content.decode()


def test_it_is_served_over_plain_http_when_https_is_enforced(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301
