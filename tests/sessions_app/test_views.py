"""The Session API endpoints: start, create, read and end sessions."""

import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from channels_app.models import Device
from portal.apikeys import create_api_key
from sessions_app.models import AuthChallenge, Profile, Session
from sessions_app.tokens import decode_session_token
from tests.factories import ApiSpaceFactory
from tests.sessions_app.flows import (
    app_jwt,
    base,
    basic,
    create_session,
    open_session,
    session_body,
    start,
)

pytestmark = pytest.mark.django_db


def test_start_answers_a_single_use_challenge_that_expires(api, auth):
    before = timezone.now()

    body = start(api, auth.space_id)

    challenge = AuthChallenge.objects.get(pk=body["authenticationId"])
    assert body["provider"] == "jsonWebToken"
    assert body["nonce"] == challenge.nonce and len(body["nonce"]) >= 24
    assert challenge.space == auth.space
    assert challenge.expires_at - before >= timedelta(seconds=299)
    assert start(api, auth.space_id)["nonce"] != body["nonce"]


@pytest.mark.parametrize("space_id", [uuid.uuid4(), "not-a-uuid", "%00"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "sessions/start"),
        ("post", "sessions"),
        ("get", "sessions/tokens/anon?id=a&nonce=b"),
        ("get", f"sessions/{uuid.uuid4()}"),
        ("delete", f"sessions/{uuid.uuid4()}"),
        ("put", f"sessions/{uuid.uuid4()}/push"),
        ("get", "profiles/someone"),
    ],
)
def test_an_unknown_space_answers_404_space_not_found(api, method, path, space_id):
    response = getattr(api, method)(f"/apispaces/{space_id}/{path}", {}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "space_not_found"


def test_a_space_without_app_messaging_settings_says_so(api, space):
    response = api.get(f"{base(space.id)}/sessions/start")

    assert response.status_code == 403
    assert response.json()["code"] == "auth_not_configured"


def test_creating_a_session_answers_what_the_sdk_stores(api, auth):
    response = create_session(api, auth, profile_id="alice", platformVersion="x" * 400)

    assert response.status_code == 201, response.content
    body = response.json()
    session = Session.objects.get(pk=body["session"]["id"])
    assert body["session"] == {
        "id": str(session.id),
        "profileId": "alice",
        "deviceId": session.device_id,
        "platform": "javascript",
        "platformVersion": "x" * 255,
        "sdkType": "native",
        "sdkVersion": "1.3.0.46",
        "sourceIp": "127.0.0.1",
        "isActive": True,
        "createdOn": body["session"]["createdOn"],
        "startedOn": body["session"]["createdOn"],
        "expiresOn": body["session"]["expiresOn"],
    }
    assert session.profile.profile_id == "alice"
    assert session.profile.last_seen_at is not None
    assert body["token"].count(".") == 2


def test_a_second_session_reuses_the_profile(auth):
    open_session(auth, profile_id="alice")
    open_session(auth, profile_id="alice")

    assert Profile.objects.filter(space=auth.space, profile_id="alice").count() == 1
    assert Session.objects.filter(profile__profile_id="alice").count() == 2


def test_the_same_profile_id_in_two_spaces_is_two_profiles(auth, other_auth):
    open_session(auth, profile_id="alice")
    open_session(other_auth, profile_id="alice")

    assert Profile.objects.filter(profile_id="alice").count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"authenticationId": "x"},
        {"authenticationId": ["x"], "authenticationToken": {"a": 1}},
        {"authenticationId": "x", "authenticationToken": "y", "sdkType": "z" * 51},
        {"authenticationId": "x", "authenticationToken": "y", "push": "yes"},
        [1, 2],
    ],
)
def test_a_malformed_session_body_is_a_400_validation_error(api, auth, body):
    response = api.post(f"{base(auth.space_id)}/sessions", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_body_that_is_not_json_is_a_400(api, auth):
    response = api.post(
        f"{base(auth.space_id)}/sessions", b"{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


def test_push_details_in_the_session_body_register_a_device(api, auth):
    response = create_session(
        api,
        auth,
        profile_id="bob",
        push={"fcm": {"package": "com.example.app", "registrationId": "fcm-token-1"}},
    )

    assert response.status_code == 201, response.content
    device = Device.objects.get(space=auth.space)
    assert device.profile.profile_id == "bob"
    assert str(device.session_id) == response.json()["session"]["id"]
    assert (device.platform, device.token, device.app_id) == (
        "android",
        "fcm-token-1",
        "com.example.app",
    )


@pytest.mark.parametrize(
    "push",
    [
        {"apns": {"bundleId": "b", "environment": "staging", "token": "ab" * 32}},
        {"apns": {"bundleId": "b", "environment": "production", "token": "not-hex"}},
        {"fcm": {"package": "p"}},
        {"fcm": {"package": "p", "registrationId": "has space"}},
        {
            "apns": {"bundleId": "b", "environment": "production", "token": "ab" * 32},
            "fcm": {"package": "p", "registrationId": "t"},
        },
        {},
    ],
)
def test_bad_push_details_refuse_the_session_and_save_nothing(api, auth, push):
    challenge = start(api, auth.space_id)
    token = app_jwt(auth, nonce=challenge["nonce"])

    response = api.post(
        f"{base(auth.space_id)}/sessions", session_body(challenge, token, push=push), format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "push" in response.json()["details"]
    assert not Session.objects.exists() and not Profile.objects.exists()
    assert not Device.objects.exists()
    assert AuthChallenge.objects.get(pk=challenge["authenticationId"]).used_at is None


def test_the_session_token_reads_its_own_session(auth):
    client, session = open_session(auth)

    response = client.get(f"{base(auth.space_id)}/sessions/{session['id']}")

    assert response.status_code == 200
    assert response.json()["id"] == session["id"]
    assert response.json()["isActive"] is True


def test_a_session_token_cannot_read_or_end_another_session(auth):
    client, _ = open_session(auth, profile_id="alice")
    _, other = open_session(auth, profile_id="bob")

    for method in ("get", "delete"):
        response = getattr(client, method)(f"{base(auth.space_id)}/sessions/{other['id']}")
        assert response.status_code == 403
        assert response.json()["code"] == "session_forbidden"
    assert Session.objects.get(pk=other["id"]).is_active


def test_deleting_a_session_ends_it_and_its_token_then_answers_401(auth):
    client, session = open_session(auth)
    url = f"{base(auth.space_id)}/sessions/{session['id']}"

    assert client.delete(url).status_code == 204

    stored = Session.objects.get(pk=session["id"])
    assert stored.is_active is False and stored.ended_at is not None
    for response in (client.get(url), client.delete(url)):
        assert response.status_code == 401
        assert response.json()["code"] == "session_expired"
        assert response["WWW-Authenticate"].startswith("Bearer")
    # The profile stays.
    assert Profile.objects.filter(profile_id=session["profileId"]).exists()


def test_an_expired_session_token_answers_401(auth):
    with override_settings(PUSHPORT_SESSION_TOKEN_LIFETIME=-10):
        client, session = open_session(auth)

    response = client.get(f"{base(auth.space_id)}/sessions/{session['id']}")

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_a_session_token_of_another_space_answers_401(auth, other_auth):
    client, session = open_session(other_auth)

    response = client.get(f"{base(auth.space_id)}/sessions/{session['id']}")

    assert response.status_code == 401
    assert response.json()["code"] == "session_token_invalid"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJub25lIn0.eyJzZXNzaW9uSWQiOiJ4In0.",
        "Bearer \u00e9\u00e9",
    ],
)
def test_a_bad_bearer_token_answers_401(api, auth, authorization):
    _, session = open_session(auth)

    response = api.get(
        f"{base(auth.space_id)}/sessions/{session['id']}", HTTP_AUTHORIZATION=authorization
    )

    assert response.status_code == 401
    assert response.json()["code"] == "session_token_invalid"


def test_a_token_signed_with_a_space_secret_is_not_a_session_token(api, auth):
    _, session = open_session(auth)
    forged = app_jwt(
        auth, nonce="x", apiSpaceId=str(auth.space_id), sessionId=session["id"], sub="user-1"
    )

    response = api.get(
        f"{base(auth.space_id)}/sessions/{session['id']}", HTTP_AUTHORIZATION=f"Bearer {forged}"
    )

    assert response.status_code == 401


def test_no_token_answers_401_not_authenticated(api, auth):
    response = api.get(f"{base(auth.space_id)}/sessions/{uuid.uuid4()}")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_session_of_a_deleted_space_is_gone(auth):
    client, session = open_session(auth)
    space_id = auth.space_id
    auth.space.delete()
    ApiSpaceFactory()

    response = client.get(f"{base(space_id)}/sessions/{session['id']}")

    assert response.status_code == 404


def test_the_session_token_repeats_the_space_id_as_the_app_spelled_it(api, auth):
    spelled = str(auth.space_id).upper()
    challenge = start(api, spelled)
    token = app_jwt(auth, nonce=challenge["nonce"])

    created = api.post(
        f"/apispaces/{spelled}/sessions", session_body(challenge, token), format="json"
    )
    session_token = created.json()["token"]

    assert decode_session_token(session_token)["apiSpaceId"] == spelled
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token}")
    session_id = created.json()["session"]["id"]
    for space_id in (spelled, str(auth.space_id)):
        assert api.get(f"/apispaces/{space_id}/sessions/{session_id}").status_code == 200


def test_a_profile_id_with_a_slash_is_reachable(auth):
    client, _ = open_session(auth, profile_id="google-oauth2/1234")

    response = client.get(f"{base(auth.space_id)}/profiles/google-oauth2%2F1234")

    assert response.status_code == 200
    assert response.json()["id"] == "google-oauth2/1234"


def test_a_server_reads_and_ends_a_session_of_its_space_through_cpaas(api, auth, api_key):
    client, session = open_session(auth)
    url = f"/cpaas/sessions/{session['id']}"
    credentials = {"HTTP_AUTHORIZATION": basic(auth.space_id, api_key)}

    read = api.get(url, **credentials)
    assert read.status_code == 200
    assert read.json()["id"] == session["id"] and read.json()["isActive"] is True

    assert api.delete(url, **credentials).status_code == 204
    assert api.delete(url, **credentials).status_code == 204
    assert api.get(url, **credentials).json()["isActive"] is False
    assert client.get(f"{base(auth.space_id)}/sessions/{session['id']}").status_code == 401


@pytest.mark.parametrize("session_id", ["not-a-uuid", str(uuid.uuid4())])
def test_cpaas_answers_404_for_an_unknown_session(api, auth, api_key, session_id):
    response = api.get(
        f"/cpaas/sessions/{session_id}", HTTP_AUTHORIZATION=basic(auth.space_id, api_key)
    )

    assert response.status_code == 404
    assert response.json()["code"] == "session_not_found"


def test_cpaas_answers_404_for_another_spaces_session(api, auth, other_auth, api_key):
    _, theirs = open_session(other_auth)

    for method in ("get", "delete"):
        response = getattr(api, method)(
            f"/cpaas/sessions/{theirs['id']}", HTTP_AUTHORIZATION=basic(auth.space_id, api_key)
        )
        assert response.status_code == 404
    assert Session.objects.get(pk=theirs["id"]).is_active


def test_cpaas_sessions_need_basic_credentials(api, auth):
    _, session = open_session(auth)

    response = api.get(f"/cpaas/sessions/{session['id']}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_a_body_nested_absurdly_deep_is_a_400_not_a_500(api, auth):
    response = api.post(
        f"{base(auth.space_id)}/sessions", b"[" * 100_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


HOSTILE_HEADERS = [
    {"HTTP_AUTHORIZATION": "Bearer"},
    {"HTTP_AUTHORIZATION": "Bearer ..."},
    {"HTTP_AUTHORIZATION": "Basic"},
    {"HTTP_AUTHORIZATION": "Basic " + "A" * 5000},
    {"HTTP_AUTHORIZATION": "Bearer \u00ff\u00fe.\u00fd.\u00fc"},
    {"HTTP_AUTHORIZATION": "Bearer eyJhbGciOiJIUzI1NiJ9.W10.AAAA"},
    {"HTTP_IF_MATCH": '"unterminated, W/'},
    {"HTTP_ORIGIN": "\u00e9vil://\u00ff"},
    {"HTTP_ORIGIN": "null", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"},
    {"HTTP_X_FORWARDED_FOR": "::::, ,"},
]


@pytest.mark.parametrize("headers", HOSTILE_HEADERS)
def test_no_malformed_header_gives_a_500(api, auth, headers):
    _, session = open_session(auth)
    prefix = base(auth.space_id)
    routes = [
        ("get", f"{prefix}/sessions/start"),
        ("post", f"{prefix}/sessions"),
        ("get", f"{prefix}/sessions/{session['id']}"),
        ("delete", f"{prefix}/sessions/{session['id']}"),
        ("put", f"{prefix}/sessions/{session['id']}/push"),
        ("patch", f"{prefix}/profiles/user-1"),
        ("get", f"{prefix}/profiles"),
        ("get", f"{prefix}/sessions/tokens/anon?id=a&nonce=b"),
        ("get", "/cpaas/sessions/tokens/anon?id=a&nonce=b"),
        ("get", f"/cpaas/sessions/{session['id']}"),
    ]
    for method in ("options", None):
        for route_method, url in routes:
            response = getattr(api, method or route_method)(url, {}, format="json", **headers)
            assert response.status_code < 500, (url, response.content)


def test_a_server_removes_a_profiles_device_and_closes_its_sessions(api, auth, api_key):
    phone_id = str(uuid.uuid4())
    push = {"fcm": {"package": "com.example.app", "registrationId": "phone-token"}}
    phone, first = open_session(auth, profile_id="alice", deviceId=phone_id, push=push)
    _, second = open_session(auth, profile_id="alice", deviceId=phone_id)
    _, laptop = open_session(auth, profile_id="alice")

    response = api.delete(
        f"{base(auth.space_id)}/profiles/alice/devices/{phone_id}",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )

    assert response.status_code == 204
    assert not Session.objects.filter(pk__in=[first["id"], second["id"]], is_active=True).exists()
    assert Session.objects.get(pk=laptop["id"]).is_active
    device = Device.objects.get(token="phone-token")
    assert not device.active and device.deactivation_reason == "unregistered"
    assert phone.get(f"{base(auth.space_id)}/sessions/{first['id']}").status_code == 401


def test_removing_an_unknown_device_is_a_404(api, auth, api_key):
    open_session(auth, profile_id="alice")

    response = api.delete(
        f"{base(auth.space_id)}/profiles/alice/devices/nope", HTTP_AUTHORIZATION=f"Bearer {api_key}"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "device_not_found"


def test_removing_a_device_needs_an_api_key_of_that_space(api, auth, other_auth, other_space):
    phone_id = str(uuid.uuid4())
    client, session = open_session(auth, profile_id="alice", deviceId=phone_id)
    url = f"{base(auth.space_id)}/profiles/alice/devices/{phone_id}"
    _, other_key = create_api_key(space=other_space, name="other")

    assert api.delete(url).status_code == 401
    assert api.delete(url, HTTP_AUTHORIZATION=f"Bearer {other_key}").status_code == 401
    # Nor does the user's own session token do.
    assert client.delete(url).status_code == 401
    assert Session.objects.get(pk=session["id"]).is_active
