"""PUT and DELETE /apispaces/{id}/sessions/{id}/push, as the SDKs call them."""

import pytest

from channels_app.models import Device
from sessions_app.models import Session
from tests.factories import AppMessagingAuthFactory
from tests.sessions_app.flows import base, open_session

pytestmark = pytest.mark.django_db

APNS = {"apns": {"bundleId": "com.example.ios", "environment": "production", "token": "ab" * 32}}
FCM = {"fcm": {"package": "com.example.android", "registrationId": "fcm:token-1"}}


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


def push_url(auth, session) -> str:
    return f"{base(auth.space_id)}/sessions/{session['id']}/push"


@pytest.mark.parametrize("body", [APNS, FCM])
def test_putting_push_details_registers_the_device(auth, body):
    client, session = open_session(auth, profile_id="alice")

    response = client.put(push_url(auth, session), body, format="json")

    assert response.status_code == 204
    device = Device.objects.get(space=auth.space)
    assert device.profile.profile_id == "alice"
    assert str(device.session_id) == session["id"]


def test_an_uppercase_apns_token_is_the_same_device(auth):
    client, session = open_session(auth)
    upper = {"apns": {**APNS["apns"], "token": "AB" * 32}}

    client.put(push_url(auth, session), APNS, format="json")
    client.put(push_url(auth, session), upper, format="json")

    assert list(Device.objects.values_list("token", flat=True)) == ["ab" * 32]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"apns": {"bundleId": "x", "environment": "sandbox", "token": "ab" * 32}},
        {"apns": {"bundleId": "x", "environment": "production", "token": "ab"}},
        {"fcm": {"registrationId": "t"}},
        {"fcm": {"package": "p", "registrationId": ""}},
        {**APNS, **FCM},
        ["apns"],
    ],
)
def test_bad_push_details_are_a_400_and_register_nothing(auth, body):
    client, session = open_session(auth)

    response = client.put(push_url(auth, session), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not Device.objects.exists()


def test_deleting_push_details_deactivates_the_device(auth):
    client, session = open_session(auth)
    client.put(push_url(auth, session), FCM, format="json")

    response = client.delete(push_url(auth, session))

    assert response.status_code == 204
    device = Device.objects.get()
    assert not device.active and device.deactivation_reason == "unregistered"


def test_ending_the_session_keeps_the_device(auth):
    client, session = open_session(auth)
    client.put(push_url(auth, session), APNS, format="json")

    client.delete(f"{base(auth.space_id)}/sessions/{session['id']}")

    assert not Session.objects.get(pk=session["id"]).is_active
    assert Device.objects.get().active


def test_a_session_cannot_touch_another_sessions_push_details(auth):
    client, _ = open_session(auth, profile_id="alice")
    _, other = open_session(auth, profile_id="bob")

    for response in (
        client.put(push_url(auth, other), FCM, format="json"),
        client.delete(push_url(auth, other)),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "session_forbidden"
    assert not Device.objects.exists()


def test_another_spaces_session_token_answers_401(auth, other_space):
    other_auth = AppMessagingAuthFactory(space=other_space)
    client, session = open_session(other_auth)

    response = client.put(
        f"{base(auth.space_id)}/sessions/{session['id']}/push", FCM, format="json"
    )

    assert response.status_code == 401
    assert not Device.objects.exists()


def test_an_ended_sessions_token_cannot_register_push(auth):
    client, session = open_session(auth)
    client.delete(f"{base(auth.space_id)}/sessions/{session['id']}")

    response = client.put(push_url(auth, session), FCM, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def revoke(auth, session) -> None:
    """End a session as a server would (dotdigital's DELETE /cpaas/sessions/{id})."""
    Session.objects.filter(pk=session["id"]).update(is_active=False)


def test_the_sdks_retry_after_reauthentication_registers_on_the_new_session(auth):
    # The SDK got 401 for PUT sessions/OLD/push, signed in again, and repeats the same URL.
    _, old = open_session(auth, profile_id="alice", deviceId="device-1")
    revoke(auth, old)
    client, new = open_session(auth, profile_id="alice", deviceId="device-1")

    response = client.put(push_url(auth, old), APNS, format="json")

    assert response.status_code == 204, response.content
    device = Device.objects.get()
    assert str(device.session_id) == new["id"]
    assert device.profile.profile_id == "alice"
    session = client.get(f"{base(auth.space_id)}/sessions/{new['id']}").json()
    assert session["push"] == APNS


def test_the_retry_may_also_remove_the_push_details(auth):
    _, old = open_session(auth, profile_id="alice", deviceId="device-1")
    revoke(auth, old)
    client, new = open_session(auth, profile_id="alice", deviceId="device-1")
    client.put(push_url(auth, new), FCM, format="json")

    assert client.delete(push_url(auth, old)).status_code == 204
    assert not Device.objects.get().active


@pytest.mark.parametrize(
    ("old_profile", "old_device", "new_device"),
    [
        ("bob", "device-1", "device-1"),  # another user's session
        ("alice", "device-1", "device-2"),  # the same user on another device
    ],
)
def test_the_retry_is_refused_for_another_profile_or_device(
    auth, old_profile, old_device, new_device
):
    _, old = open_session(auth, profile_id=old_profile, deviceId=old_device)
    revoke(auth, old)
    client, _ = open_session(auth, profile_id="alice", deviceId=new_device)

    response = client.put(push_url(auth, old), FCM, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "session_forbidden"
    assert not Device.objects.exists()


def test_the_retry_is_refused_for_another_spaces_session(auth, other_space):
    other_auth = AppMessagingAuthFactory(space=other_space)
    _, foreign = open_session(other_auth, profile_id="alice", deviceId="device-1")
    client, _ = open_session(auth, profile_id="alice", deviceId="device-1")

    response = client.put(push_url(auth, foreign), FCM, format="json")

    assert response.status_code == 403
    assert not Device.objects.exists()


@pytest.mark.parametrize("body", [APNS, FCM])
def test_the_session_answer_carries_the_push_details_it_registered(auth, body):
    client, session = open_session(auth, profile_id="alice")
    url = f"{base(auth.space_id)}/sessions/{session['id']}"
    assert "push" not in client.get(url).json()

    client.put(push_url(auth, session), body, format="json")

    assert client.get(url).json()["push"] == body


def test_push_details_given_at_session_creation_are_in_its_answer(auth):
    _, session = open_session(auth, profile_id="alice", push=FCM)
    assert session["push"] == FCM
