"""End to end: the real Comapi JS Foundation SDK, run by Node, against a live Pushport server."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from channels_app.models import Device, Platform
from portal.apikeys import create_api_key
from sessions_app.models import AnonymousTokenAccess, Profile, Session
from tests.factories import AppMessagingAuthFactory
from tests.services import node_binary

pytestmark = pytest.mark.services


APP_ORIGIN = "http://app.example.test"


def run_flow(sdk_dir: Path, *, auth, live_server, origin=APP_ORIGIN) -> tuple[int, dict]:
    """Run flow.js in a page at `origin`; its exit status and JSON output."""
    _, api_key = create_api_key(space=auth.space, name="app backend")
    result = subprocess.run(
        [node_binary(), "flow.js"],
        cwd=sdk_dir,
        env={
            **os.environ,
            "PUSHPORT_URL": live_server.url,
            "PUSHPORT_SPACE_ID": str(auth.space_id),
            "PUSHPORT_API_KEY": api_key,
            "PUSHPORT_USER_ID": "visitor-42",
            "PUSHPORT_ORIGIN": origin,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def auth(transactional_db):
    return AppMessagingAuthFactory(
        anonymous_token_access=AnonymousTokenAccess.API_KEY, cors_origins=APP_ORIGIN
    )


@pytest.fixture
def flow(sdk_dir, live_server, auth):
    status, output = run_flow(sdk_dir, auth=auth, live_server=live_server)
    assert status == 0, output
    return auth, output


def test_the_sdk_starts_a_session_through_an_anonymous_token(flow):
    auth, output = flow
    session = output["session"]
    assert session["profileId"] == "anon_visitor-42"
    assert session["platform"] == "javascript"
    assert "jsdom" in session["platformVersion"]
    assert session["sdkType"] == "native"
    assert session["isActive"] is True
    # The second startSession() reused the cached token: the SDK could decode its payload.
    assert output["secondSession"]["id"] == session["id"]
    stored = Session.objects.get(pk=session["id"])
    assert stored.space_id == auth.space_id
    assert stored.device_id == session["deviceId"]
    assert stored.source_ip == "127.0.0.1"


def test_the_sdk_registers_push_details_as_devices_of_its_profile(flow):
    auth, output = flow
    assert output["fcmRegistered"] is True
    assert output["apnsRegistered"] is True
    profile = Profile.objects.get(space=auth.space, profile_id="anon_visitor-42")
    apns = Device.objects.get(space=auth.space, platform=Platform.IOS, token="a1b2c3d4" * 8)
    assert apns.profile == profile
    assert apns.app_id == "com.example.ios"
    assert apns.environment == "development"
    # Active until the flow's last registration replaced it (see the push retry test).
    assert apns.deactivation_reason == "replaced"
    # The APNs details replaced the FCM ones the same session had registered first.
    fcm = Device.objects.get(space=auth.space, platform=Platform.ANDROID)
    assert fcm.token == "fcm-registration-token-from-sdk"
    assert fcm.app_id == "com.example.web"
    assert fcm.profile == profile
    assert fcm.active is False
    assert fcm.deactivation_reason == "replaced"


def test_the_sdk_reads_and_writes_its_profile_with_etags(flow):
    _, output = flow
    assert output["profile"]["id"] == "anon_visitor-42"
    assert "_createdOn" in output["profile"]
    assert output["updated"]["nickname"] == "Ada"
    assert output["patched"]["nickname"] == "Ada"
    assert output["patched"]["colour"] == "green"
    assert output["stalePatch"]["statusCode"] == 412
    assert output["stalePatch"]["response"]["code"] == "etag_mismatch"
    calls = [(r["method"], r["path"].split("/", 3)[3]) for r in output["requests"]]
    session_id = output["session"]["id"]
    assert calls == [
        ("GET", "sessions/start"),
        ("POST", "sessions"),
        ("PUT", f"sessions/{session_id}/push"),
        ("PUT", f"sessions/{session_id}/push"),
        ("GET", "profiles/anon_visitor-42"),
        ("PUT", "profiles/anon_visitor-42"),
        ("PATCH", "profiles/anon_visitor-42"),
        ("PATCH", "profiles/anon_visitor-42"),
        ("GET", "profiles/anon_visitor-42"),
        ("GET", "sessions/start"),
        ("POST", "sessions"),
        ("GET", "profiles/anon_visitor-42"),
        ("GET", "profiles/anon_visitor-42"),
        ("PUT", "profiles/anon_visitor-42"),
        ("PUT", f"sessions/{output['sessionAfterRevocation']['id']}/push"),
        ("GET", "sessions/start"),
        ("POST", "sessions"),
        ("PUT", f"sessions/{output['sessionAfterRevocation']['id']}/push"),
        ("DELETE", f"sessions/{output['sessionAfterPushRetry']['id']}"),
    ]
    put, patch = output["requests"][5], output["requests"][6]
    # The SDK sent back the ETags it read, which Pushport accepted.
    assert put["headers"]["if-match"].startswith('"')
    assert patch["headers"]["if-match"] != put["headers"]["if-match"]


def test_a_revoked_session_makes_the_sdk_authenticate_again_and_retry(flow):
    _, output = flow
    assert output["revokedStatus"] == 204
    assert output["profileAfterRevocation"]["nickname"] == "Ada"
    assert output["authChallenges"] == 3
    first, second = output["session"], output["sessionAfterRevocation"]
    assert second["id"] != first["id"]
    assert second["profileId"] == first["profileId"]
    statuses = [r["status"] for r in output["requests"]]
    assert statuses[:12] == [200, 201, 204, 204, 200, 200, 200, 412, 401, 200, 201, 200]
    # The SDK re-sent its APNs details with the new session, which says so in its answer.
    assert second["push"] == {
        "apns": {
            "bundleId": "com.example.ios",
            "environment": "development",
            "token": "a1b2c3d4" * 8,
        }
    }


def test_the_sdks_profile_read_modify_write_keeps_the_servers_fields(flow):
    auth, output = flow
    assert output["roundTrip"]["statusCode"] == 200, output["roundTrip"]
    assert output["roundTrip"]["profile"]["score"] == 1
    profile = Profile.objects.get(space=auth.space, profile_id="anon_visitor-42")
    assert profile.data == {"nickname": "Ada", "colour": "green", "score": 1}


def test_push_details_retried_on_the_old_session_url_reach_the_new_session(flow):
    auth, output = flow
    assert output["revokedAgainStatus"] == 204
    assert output["pushAfterRevocation"] == {"statusCode": 200, "ok": True}
    statuses = [r["status"] for r in output["requests"]]
    assert statuses[12:] == [200, 200, 401, 200, 201, 204, 204]
    third = output["sessionAfterPushRetry"]
    apns = Device.objects.get(space=auth.space, platform=Platform.IOS, token="e5f6a7b8" * 8)
    assert str(apns.session_id) == third["id"]
    assert apns.active and apns.environment == "production"


def test_ending_the_session_keeps_the_profile_and_its_devices(flow):
    auth, output = flow
    assert output["ended"] is True
    sessions = Session.objects.filter(space=auth.space)
    assert sessions.count() == 3
    assert not sessions.filter(is_active=True).exists()
    assert all(session.ended_at for session in sessions)
    profile = Profile.objects.get(space=auth.space, profile_id="anon_visitor-42")
    assert profile.devices.filter(active=True, platform=Platform.IOS).count() == 1


def test_a_page_from_an_origin_the_space_does_not_allow_cannot_start_a_session(
    sdk_dir, live_server, auth
):
    status, output = run_flow(
        sdk_dir, auth=auth, live_server=live_server, origin="http://elsewhere.example.test"
    )

    # The browser refused the preflight's answer: the SDK sees a network error.
    assert status == 1
    assert output["error"]["statusCode"] == 0
    assert [(r["method"], r["status"]) for r in output["requests"]] == [("GET", 0)]
    assert not Session.objects.exists()
