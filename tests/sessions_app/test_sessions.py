"""The session services, under concurrency where it matters."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from portal.errors import ApiError
from sessions_app.models import AuthChallenge, Session
from sessions_app.sessions import create_session, find_session, start_authentication
from tests.sessions_app.flows import app_jwt

DEVICE = {
    "device_id": "d",
    "platform": "ios",
    "platform_version": "17",
    "sdk_type": "native",
    "sdk_version": "1",
}


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_of_one_challenge_open_exactly_one_session(auth):
    if connection.vendor != "postgresql":
        pytest.skip("needs truly concurrent transactions (PostgreSQL)")
    challenge = start_authentication(auth=auth)
    token = app_jwt(auth, nonce=challenge.nonce)
    attempts = 6
    barrier = threading.Barrier(attempts)

    def attempt(_):
        barrier.wait()
        try:
            create_session(
                auth=auth,
                authentication_id=str(challenge.id),
                authentication_token=token,
                device=DEVICE,
                source_ip=None,
            )
            return "opened"
        except ApiError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(attempts) as pool:
        outcomes = sorted(pool.map(attempt, range(attempts)))

    assert outcomes == ["authentication_used"] * (attempts - 1) + ["opened"]
    assert Session.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("session_id", ["", "x", "1" * 300, "00000000-0000-0000-0000-00000000000g"])
def test_finding_a_session_by_any_string_is_a_question_not_an_error(space, session_id):
    assert find_session(space_id=space.id, session_id=session_id) is None


@pytest.mark.django_db
def test_starting_clears_the_spaces_long_expired_challenges_only(auth, other_auth):
    now = timezone.now()
    long_dead = start_authentication(auth=auth)
    recently_expired = start_authentication(auth=auth)
    elsewhere = start_authentication(auth=other_auth)
    AuthChallenge.objects.filter(pk__in=[long_dead.pk, elsewhere.pk]).update(
        expires_at=now - timedelta(hours=2)
    )
    AuthChallenge.objects.filter(pk=recently_expired.pk).update(
        expires_at=now - timedelta(minutes=5)
    )

    fresh = start_authentication(auth=auth)

    remaining = set(AuthChallenge.objects.values_list("pk", flat=True))
    assert remaining == {recently_expired.pk, elsewhere.pk, fresh.pk}
