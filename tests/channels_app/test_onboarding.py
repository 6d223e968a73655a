"""The overview's getting-started steps tick from real state; credentials say their health."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Health
from channels_app.onboarding import credential_states, expiry_words, getting_started
from portal.apikeys import create_api_key
from tests.factories import (
    ApnsCertificateCredentialFactory,
    AppMessagingAuthFactory,
    DeviceFactory,
    FcmCredentialFactory,
    MessageFactory,
)

pytestmark = pytest.mark.django_db


def done(space) -> dict:
    return {step.key: step.done for step in getting_started(space=space)}


def test_a_new_space_has_every_step_to_do(space):
    assert done(space) == dict.fromkeys(
        ["auth", "credential", "api_key", "sdk", "test_push"], False
    )


def test_each_step_ticks_when_its_state_exists(space):
    AppMessagingAuthFactory(space=space)
    credential = FcmCredentialFactory(space=space)
    assert done(space)["credential"] is False  # uploaded is not verified
    credential.mark_ok()
    create_api_key(space=space, name="server")
    DeviceFactory(space=space)
    MessageFactory(space=space)

    assert all(done(space).values())


def test_a_refused_credential_does_not_tick_and_says_why(space):
    FcmCredentialFactory(
        space=space, health=Health.NEEDS_ATTENTION, health_reason="PERMISSION_DENIED"
    )

    assert done(space)["credential"] is False
    (state,) = credential_states(space=space)
    assert state.words == "needs attention: PERMISSION_DENIED"


def test_a_new_credential_is_unverified_and_a_certificate_says_when_it_expires(space):
    now = timezone.now()
    ApnsCertificateCredentialFactory(space=space, not_after=now + dt.timedelta(days=9, hours=2))

    (state,) = credential_states(space=space, now=now)

    assert state.words == "unverified"
    assert state.expiry == "expiring"
    assert state.expiry_words == "expires in 9 days"


def test_expiry_reads_in_days():
    now = timezone.now()
    assert expiry_words(now + dt.timedelta(days=1, hours=1), now=now) == "expires in 1 day"
    assert expiry_words(now + dt.timedelta(hours=3), now=now) == "expires today"
    assert expiry_words(now - dt.timedelta(days=2, hours=1), now=now) == "expired 2 days ago"


def test_the_overview_shows_the_steps_health_and_the_sdk_snippet(owner_client, space):
    FcmCredentialFactory(space=space)

    html = owner_client.get(reverse("space-overview", kwargs={"space_id": space.id})).content
    html = html.decode()

    assert 'id="getting-started"' in html and "0 of 5 done" in html
    assert 'id="step-credential" class="todo"' in html
    assert 'id="health-fcm"' in html and ">unverified<" in html
    assert f'.withApiSpace("{space.id}")' in html
    assert '.withUrlBase("http://testserver")' in html
