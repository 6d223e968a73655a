"""End to end: the real Comapi JS Foundation SDK, run by Node, against a live Pushport server."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from channels_app.models import Device, Platform
from portal.apikeys import create_api_key
from sessions_app.models import AnonymousTokenAccess, Profile, Session
from tests.factories import AppMessagingAuthFactory
from tests.services import node_binary

HERE = Path(__file__).resolve().parent
SDK_FILES = ("package.json", "package-lock.json", "flow.js")

pytestmark = pytest.mark.services


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory) -> Path:
    """A temporary copy of the SDK project with its locked dependencies installed."""
    node = node_binary()
    npm = shutil.which("npm", path=str(Path(node).parent)) or shutil.which("npm")
    workdir = tmp_path_factory.mktemp("sdk")
    for name in SDK_FILES:
        shutil.copy(HERE / name, workdir / name)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return workdir


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
    apns = Device.objects.get(space=auth.space, platform=Platform.IOS)
    assert apns.profile == profile
    assert apns.token == "a1b2c3d4" * 8
    assert apns.app_id == "com.example.ios"
    assert apns.environment == "development"
    assert apns.active is True
    # The APNs details replaced the FCM ones the same session had registered first.
    fcm = Device.objects.get(space=auth.space, platform=Platform.ANDROID)
    assert fcm.token == "fcm-registration-token-from-sdk"
    assert fcm.app_id == "com.example.web"
    assert fcm.profile == profile
    assert fcm.active is False
    assert fcm.deactivation_reason == "replaced"


def test_the_sdk_reads_and_writes_its_profile_with_etags(flow):
    auth, output = flow
    assert output["profile"]["id"] == "anon_visitor-42"
    assert "_createdOn" in output["profile"]
    assert output["updated"]["nickname"] == "Ada"
    assert output["patched"]["nickname"] == "Ada"
    assert output["patched"]["colour"] == "green"
    assert output["stalePatch"]["statusCode"] == 412
    assert output["stalePatch"]["response"]["code"] == "etag_mismatch"
    profile = Profile.objects.get(space=auth.space, profile_id="anon_visitor-42")
    assert profile.data == {"nickname": "Ada", "colour": "green"}

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
        ("DELETE", f"sessions/{output['sessionAfterRevocation']['id']}"),
    ]
    put, patch = output["requests"][5], output["requests"][6]
    # The SDK sent back the ETags it read, which Pushport accepted.
    assert put["headers"]["if-match"].startswith('"')
    assert patch["headers"]["if-match"] != put["headers"]["if-match"]


def test_a_revoked_session_makes_the_sdk_authenticate_again_and_retry(flow):
    auth, output = flow
    assert output["revokedStatus"] == 204
    assert output["profileAfterRevocation"]["nickname"] == "Ada"
    assert output["authChallenges"] == 2
    first, second = output["session"], output["sessionAfterRevocation"]
    assert second["id"] != first["id"]
    assert second["profileId"] == first["profileId"]
    statuses = [r["status"] for r in output["requests"]]
    assert statuses == [200, 201, 204, 204, 200, 200, 200, 412, 401, 200, 201, 200, 204]
    # The SDK re-sent its APNs details with the new session: the device follows it.
    apns = Device.objects.get(space=auth.space, platform=Platform.IOS)
    assert str(apns.session_id) == second["id"]
    assert apns.active and apns.environment == "development"


def test_ending_the_session_keeps_the_profile_and_its_devices(flow):
    auth, output = flow
    assert output["ended"] is True
    sessions = Session.objects.filter(space=auth.space)
    assert sessions.count() == 2
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
