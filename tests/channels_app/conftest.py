"""Delivery engine fixtures: a space whose APNs and FCM credentials the fakes trust."""

import json
import time

import pytest
from django.db.models import Min
from django.utils import timezone

from channels_app import tasks
from channels_app.delivery import CLAIMABLE
from channels_app.models import Delivery, Platform
from tests.factories import (
    ApnsTokenCredentialFactory,
    DeviceFactory,
    FcmCredentialFactory,
    ProfileFactory,
)


@pytest.fixture
def fast_retries(settings):
    """Backoff in milliseconds, so retries are exercised without waiting."""
    settings.PUSHPORT_RETRY_BASE_SECONDS = 0.01
    settings.PUSHPORT_RETRY_MAX_SECONDS = 0.05
    return settings


@pytest.fixture
def apns_credential(space, apns_fake):
    credential = ApnsTokenCredentialFactory(space=space, response_timeout=5.0)
    apns_fake.register_key(
        key_id=credential.key_id,
        team_id=credential.team_id,
        private_or_public_key=credential.key_p8,
        topics=[credential.bundle_id],
    )
    return credential


@pytest.fixture
def fcm_credential(space, fcm_fake):
    account = fcm_fake.service_account(project_id="pushport-test")
    return FcmCredentialFactory(
        space=space,
        project_id=account["project_id"],
        client_email=account["client_email"],
        service_account_json=json.dumps(account),
        response_timeout=5.0,
    )


@pytest.fixture
def configured(apns_credential, fcm_credential, fast_retries):
    """The space can push to both platforms through the fakes."""
    return apns_credential, fcm_credential


@pytest.fixture
def profile(space):
    return ProfileFactory(space=space, profile_id="alice")


@pytest.fixture
def iphone(space, profile):
    return DeviceFactory(space=space, profile=profile, platform=Platform.IOS)


@pytest.fixture
def pixel(space, profile):
    return DeviceFactory(space=space, profile=profile, platform=Platform.ANDROID)


@pytest.fixture
def drain():
    """Sweep until no delivery is left to send, as the embedded scheduler would, waiting for
    each retry's due time (milliseconds under fast_retries)."""

    def run(*, sweeps: int = 50):
        for _ in range(sweeps):
            waiting = Delivery.objects.filter(status__in=CLAIMABLE)
            if not waiting.exists():
                return
            due = waiting.aggregate(due=Min("sweep_after"))["due"]
            time.sleep(max((due - timezone.now()).total_seconds(), 0.0))
            tasks.sweep()
        raise AssertionError("deliveries were still unsent after every sweep")

    return run
