"""Device registration from a session's push details."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.devices import register_push_details, unregister_push_details
from channels_app.models import Device, Platform
from sessions_app.models import Session
from tests.factories import DeviceFactory, ProfileFactory

pytestmark = pytest.mark.django_db

APNS_TOKEN = "0f" * 32


def make_session(space, profile_id="alice") -> Session:
    profile = ProfileFactory(space=space, profile_id=profile_id)
    return Session.objects.create(
        space=space, profile=profile, expires_at=timezone.now() + timedelta(hours=1)
    )


def apns(environment="development", token=APNS_TOKEN, bundle_id="com.example.ios") -> dict:
    return {"apns": {"bundleId": bundle_id, "environment": environment, "token": token}}


def fcm(token="fcm-token", package="com.example.android") -> dict:
    return {"fcm": {"package": package, "registrationId": token}}


@pytest.mark.parametrize("environment", ["development", "production"])
def test_an_apns_device_remembers_its_environment_and_bundle_id(space, environment):
    session = make_session(space)

    device = register_push_details(session=session, push=apns(environment))

    device.refresh_from_db()
    assert device.platform == Platform.IOS
    assert device.environment == environment
    assert device.app_id == "com.example.ios"
    assert device.token == APNS_TOKEN
    assert device.profile == session.profile and device.session == session
    assert device.active


def test_an_fcm_device_remembers_its_package(space):
    device = register_push_details(session=make_session(space), push=fcm())

    assert (device.platform, device.app_id, device.environment) == (
        Platform.ANDROID,
        "com.example.android",
        "",
    )


def test_a_known_token_moves_to_the_new_profile_and_is_reactivated(space):
    long_ago = timezone.now() - timedelta(days=30)
    old = DeviceFactory(
        space=space,
        platform=Platform.IOS,
        token=APNS_TOKEN,
        environment="production",
        active=False,
        deactivated_at=long_ago,
        deactivation_reason="unregistered",
        registered_at=long_ago,
    )
    session = make_session(space, profile_id="new-owner")

    device = register_push_details(session=session, push=apns("development"))

    assert device.pk == old.pk
    device.refresh_from_db()
    assert device.profile.profile_id == "new-owner"
    assert device.active
    assert device.deactivated_at is None and device.deactivation_reason == ""
    assert device.registered_at > long_ago
    assert device.environment == "development"
    assert Device.objects.count() == 1


def test_the_same_token_in_another_space_is_another_device(space, other_space):
    theirs = DeviceFactory(space=other_space, platform=Platform.IOS, token=APNS_TOKEN)

    mine = register_push_details(session=make_session(space), push=apns())

    assert mine.pk != theirs.pk
    theirs.refresh_from_db()
    assert theirs.space == other_space and theirs.active


def test_a_new_token_for_the_same_session_replaces_the_old_device(space):
    session = make_session(space)
    first = register_push_details(session=session, push=fcm("first"))

    second = register_push_details(session=session, push=fcm("second"))

    first.refresh_from_db()
    assert not first.active and first.deactivation_reason == "replaced"
    assert first.profile == session.profile
    assert second.active and second.session == session


def test_registering_the_same_token_again_keeps_one_active_device(space):
    session = make_session(space)
    register_push_details(session=session, push=fcm("same"))

    register_push_details(session=session, push=fcm("same"))

    assert list(Device.objects.values_list("token", "active")) == [("same", True)]


def test_unregistering_deactivates_and_detaches_the_sessions_device(space):
    session = make_session(space)
    device = register_push_details(session=session, push=apns())
    bystander = DeviceFactory(space=space)

    assert unregister_push_details(session=session) == 1

    device.refresh_from_db()
    assert not device.active and device.session is None
    assert device.deactivation_reason == "unregistered" and device.deactivated_at
    assert device.profile == session.profile
    bystander.refresh_from_db()
    assert bystander.active
