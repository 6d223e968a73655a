"""PowerAuth messages reach the right devices (activation, personal) with final counts, and
its administration validates keys exactly as the portal's uploads do."""

import base64
import json
import logging

import pytest
from django.test import Client

from channels_app.models import ApnsCredential, DeviceActivation, Health, Platform, PowerAuthApp
from portal.apikeys import create_api_key
from tests import keys
from tests.factories import DeviceActivationFactory, DeviceFactory

APP_ID = 7


@pytest.fixture
def powerauth(space):
    PowerAuthApp.objects.create(space=space, app_id=APP_ID)
    _, secret = create_api_key(space=space, name="pa", scopes=["send", "devices", "admin"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def call(method, path, request_object):
        response = getattr(client, method)(
            f"/powerauth-push-server{path}",
            json.dumps({"requestObject": request_object}),
            content_type="application/json",
        )
        return response.status_code, response.json()

    return call


def send(powerauth, *, personal=False, activation_id=""):
    message = {"userId": "alice", "attributes": {"personal": personal}, "body": {"body": "Hi"}}
    if activation_id:
        message["activationId"] = activation_id
    status, body = powerauth("post", "/push/message/send", {"appId": APP_ID, "message": message})
    assert status == 200, body
    return body["responseObject"]["result"]


def test_a_send_answers_final_counts_per_platform(
    transactional_db, powerauth, configured, iphone, pixel
):
    # Committed for real: without a broker the first attempt runs on commit, in the request.
    result = send(powerauth)
    assert result == {
        "ios": {"sent": 1, "pending": 0, "failed": 0, "total": 1},
        "android": {"sent": 1, "pending": 0, "failed": 0, "total": 1},
    }


def activated(*, space, profile, activations, **device):
    """A device of the profile carrying these {activation_id: status}."""
    found = DeviceFactory(space=space, profile=profile, **device)
    for activation_id, status in activations.items():
        DeviceActivationFactory(device=found, activation_id=activation_id, status=status)
    return found


def test_a_personal_message_skips_a_device_whose_only_activation_is_blocked(
    powerauth, configured, space, profile
):
    activated(space=space, profile=profile, activations={"a1": "ACTIVE"})
    activated(space=space, profile=profile, activations={"a2": "BLOCKED"})
    assert send(powerauth, personal=True)["ios"]["total"] == 1
    assert send(powerauth, personal=False)["ios"]["total"] == 2


def test_a_personal_message_reaches_a_device_with_one_active_activation_among_others(
    powerauth, configured, space, profile
):
    activated(space=space, profile=profile, activations={"a1": "BLOCKED", "a2": "ACTIVE"})
    assert send(powerauth, personal=True)["ios"]["total"] == 1


def test_a_personal_message_reaches_a_device_registered_without_powerauth(
    powerauth, configured, space, profile
):
    DeviceFactory(space=space, profile=profile)
    assert send(powerauth, personal=True)["ios"]["total"] == 1


def test_a_status_update_blocks_personal_messages(powerauth, configured, space, profile):
    activated(space=space, profile=profile, activations={"a1": "ACTIVE"})
    status, _ = powerauth(
        "post", "/push/device/status/update", {"activationId": "a1", "activationStatus": "BLOCKED"}
    )
    assert status == 200
    assert DeviceActivation.objects.get(space=space, activation_id="a1").status == "BLOCKED"
    assert send(powerauth, personal=True)["ios"]["total"] == 0
    assert send(powerauth, personal=True, activation_id="a1")["ios"]["total"] == 0
    assert send(powerauth, personal=False, activation_id="a1")["ios"]["total"] == 1


def test_an_activation_id_narrows_the_send_to_its_device(powerauth, configured, space, profile):
    activated(space=space, profile=profile, activations={"a1": "ACTIVE"})
    activated(space=space, profile=profile, activations={"a2": "ACTIVE"}, platform=Platform.ANDROID)
    result = send(powerauth, activation_id="a2")
    assert (result["ios"]["total"], result["android"]["total"]) == (0, 1)


def test_a_message_to_the_second_activation_of_a_multi_registration_reaches_the_device(
    powerauth, configured, space
):
    multi = {
        "appId": APP_ID,
        "token": "ab" * 32,
        "platform": "ios",
        "activationIds": ["a1", "a2"],
        "userId": "alice",
    }
    assert powerauth("post", "/push/device/create/multi", multi)[0] == 200
    device = space.devices.get(token="ab" * 32)
    assert sorted(device.activations.values_list("activation_id", "status")) == [
        ("a1", "ACTIVE"),
        ("a2", "ACTIVE"),
    ]
    result = send(powerauth, activation_id="a2")
    assert result["ios"]["total"] == 1
    assert device.deliveries.count() == 1


def test_an_activation_registered_with_a_new_token_moves_there_and_keeps_its_status(
    powerauth, space
):
    old = activated(space=space, profile=None, activations={"a1": "BLOCKED"})
    create = {"appId": APP_ID, "token": "cd" * 32, "platform": "ios", "activationId": "a1"}
    assert powerauth("post", "/push/device/create", create)[0] == 200
    activation = DeviceActivation.objects.get(space=space, activation_id="a1")
    assert (activation.device.token, activation.status) == ("cd" * 32, "BLOCKED")
    old.refresh_from_db()
    assert (old.active, old.deactivation_reason) == (False, "replaced")


def test_a_device_keeps_its_other_activations_when_one_moves_away(powerauth, space):
    old = activated(space=space, profile=None, activations={"a1": "ACTIVE", "a2": "ACTIVE"})
    create = {"appId": APP_ID, "token": "cd" * 32, "platform": "ios", "activationId": "a1"}
    assert powerauth("post", "/push/device/create", create)[0] == 200
    old.refresh_from_db()
    assert old.active
    assert list(old.activations.values_list("activation_id", flat=True)) == ["a2"]


def test_removing_a_token_unbinds_its_activations(powerauth, space):
    device = activated(space=space, profile=None, activations={"a1": "ACTIVE", "a2": "ACTIVE"})
    removal = {"appId": APP_ID, "token": device.token}
    assert powerauth("delete", "/push/device/remove", removal)[0] == 200
    device.refresh_from_db()
    assert not device.active
    assert not DeviceActivation.objects.filter(space=space).exists()


def test_an_activation_id_of_another_space_reaches_nothing(
    powerauth, configured, space, other_space, profile
):
    activated(space=other_space, profile=None, activations={"a1": "ACTIVE"})
    assert send(powerauth, activation_id="a1")["ios"]["total"] == 0


def test_multi_refuses_an_empty_activation_id(powerauth, space):
    multi = {"appId": APP_ID, "token": "ab" * 32, "platform": "ios", "activationIds": ["a1", " "]}
    status, body = powerauth("post", "/push/device/create/multi", multi)
    assert status == 400
    assert "empty activation id" in body["responseObject"]["message"]
    assert not space.devices.exists()


def test_a_device_created_with_a_user_id_belongs_to_that_profile(powerauth, space):
    create = {
        "appId": APP_ID,
        "token": "ab" * 32,
        "platform": "ios",
        "activationId": "a9",
        "userId": "bob",
    }
    assert powerauth("post", "/push/device/create", create)[0] == 200
    assert space.devices.get(token="ab" * 32).profile.profile_id == "bob"


def _ios(private_key: bytes) -> dict:
    return {
        "id": APP_ID,
        "bundle": "com.example.app",
        "keyId": "ABC123DEFG",
        "teamId": "TEAM123456",
        "privateKeyBase64": base64.b64encode(private_key).decode(),
    }


def test_an_ios_key_is_refused_with_the_uploads_named_error(powerauth, space):
    status, body = powerauth("put", "/admin/app/ios/update", _ios(keys.p8(keys.rsa_key())))
    assert status == 400
    assert body["responseObject"] == {
        "code": "ERROR_GENERIC",
        "message": "privateKeyBase64: this key is RSA; APNs needs an EC P-256 key",
    }
    assert not ApnsCredential.objects.filter(space=space).exists()


def test_an_ios_key_is_stored_encrypted_unverified_and_logged(powerauth, space, caplog):
    caplog.set_level(logging.INFO, logger="channels_app.compat.powerauth.applications")
    key = keys.p8(keys.ec_p256_key())
    assert powerauth("put", "/admin/app/ios/update", _ios(key))[0] == 200
    credential = ApnsCredential.objects.get(space=space)
    assert (credential.kind, credential.health) == ("token", Health.UNVERIFIED)
    assert credential.key_p8.startswith("-----BEGIN PRIVATE KEY-----")
    assert "apns_token saved by API key" in caplog.text
    assert "PRIVATE KEY" not in caplog.text


def test_a_service_account_with_a_foreign_token_uri_is_refused(powerauth, space):
    account = keys.service_account_json(project_id="p1", token_uri="https://attacker.example/token")
    request = {
        "id": APP_ID,
        "projectId": "p1",
        "privateKeyBase64": base64.b64encode(json.dumps(account).encode()).decode(),
    }
    status, body = powerauth("put", "/admin/app/android/update", request)
    assert status == 400
    assert body["responseObject"]["message"].startswith("privateKeyBase64: ")
    assert '"token_uri" must be' in body["responseObject"]["message"]


def test_a_project_id_other_than_the_service_accounts_is_refused(powerauth):
    request = {
        "id": APP_ID,
        "projectId": "another",
        "privateKeyBase64": base64.b64encode(keys.service_account_bytes(project_id="p1")).decode(),
    }
    status, body = powerauth("put", "/admin/app/android/update", request)
    assert status == 400
    assert "project_id p1" in body["responseObject"]["message"]


def test_an_app_id_taken_by_another_space_cannot_be_created(powerauth, other_space):
    PowerAuthApp.objects.create(space=other_space, app_id=99)
    status, body = powerauth("post", "/admin/app/create", {"appId": 99})
    assert status == 400
    assert body["responseObject"]["message"] == "Application with ID 99 already exists."
