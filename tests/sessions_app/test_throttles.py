"""Throttles of sessions/start: per client IP and per space, answered as 429 with Retry-After."""

import pytest
from django.test import override_settings

from sessions_app.models import AuthChallenge
from tests.sessions_app.flows import base

pytestmark = pytest.mark.django_db


def start_url(space_id) -> str:
    return f"{base(space_id)}/sessions/start"


@override_settings(PUSHPORT_SESSION_START_RATE="3/min", PUSHPORT_SESSION_START_SPACE_RATE="100/min")
def test_sessions_start_is_throttled_per_client_ip(api, auth):
    statuses = [
        api.get(start_url(auth.space_id), REMOTE_ADDR="10.0.0.1").status_code for _ in range(4)
    ]
    throttled = api.get(start_url(auth.space_id), REMOTE_ADDR="10.0.0.1")

    assert statuses == [200, 200, 200, 429]
    assert throttled.json()["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 61
    assert AuthChallenge.objects.count() == 3
    # Another client is not held back, and a forged X-Forwarded-For does not dodge the limit.
    assert api.get(start_url(auth.space_id), REMOTE_ADDR="10.0.0.2").status_code == 200
    forged = api.get(
        start_url(auth.space_id), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert forged.status_code == 429


@override_settings(PUSHPORT_SESSION_START_RATE="100/min", PUSHPORT_SESSION_START_SPACE_RATE="2/min")
def test_sessions_start_is_throttled_per_space(api, auth, other_auth):
    statuses = [
        api.get(start_url(auth.space_id), REMOTE_ADDR=f"10.0.1.{n}").status_code for n in range(3)
    ]

    assert statuses == [200, 200, 429]
    assert "Retry-After" in api.get(start_url(auth.space_id), REMOTE_ADDR="10.0.2.1")
    assert api.get(start_url(other_auth.space_id), REMOTE_ADDR="10.0.2.1").status_code == 200
