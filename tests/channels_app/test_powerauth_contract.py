"""The PowerAuth Push Server API walked over HTTP with the reference's own examples.

Each request body is the 2021.03 reference's example, with its appId replaced by the space's
and validUntil moved into the future (Pushport refuses a message already expired). Each
answer is checked against the documented shape; then the error envelope for a bad appId,
another space's appId, a missing field, a malformed body and a bad key.
"""

import base64
import copy

import httpx
import pytest

from channels_app.models import ApnsCredential, Campaign, Device, FcmCredential, PowerAuthApp
from portal.apikeys import create_api_key
from tests import keys

APP_ID = 2
FUTURE = "2099-12-11T21:22:29.923Z"
BODY = {
    "title": "Balance update",
    "body": "Your balance is now $745.00",
    "badge": 3,
    "sound": "default",
    "icon": "custom-icon",
    "category": "balance-update",
    "collapseKey": "balance-update",
    "validUntil": FUTURE,
    "extras": {"_comment": "Any custom data."},
}
MESSAGE = {
    "activationId": "49414e31-f3df-4cea-87e6-f214ca3b8412",
    "userId": "123",
    "attributes": {"personal": True, "silent": True},
    "body": BODY,
}
COUNTS = {"sent", "pending", "failed", "total"}
ERROR_KEYS = {"code", "message"}


@pytest.fixture
def base(transactional_db, live_server, space):
    PowerAuthApp.objects.create(space=space, app_id=APP_ID)
    return f"{live_server.url}/powerauth-push-server"


@pytest.fixture
def http(base, space):
    _, secret = create_api_key(space=space, name="powerauth", scopes=["send", "devices", "admin"])
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}) as client:
        yield client


def call(http, method, path, body=None, **kwargs):
    """One request with a JSON body (DELETE included, as PowerAuth sends them)."""
    response = http.request(method, path, json=body, **kwargs)
    return response.status_code, response.json()


def assert_ok(answer, status=200):
    code, body = answer
    assert (code, body["status"]) == (status, "OK"), body
    return body.get("responseObject")


def assert_error(answer, status=400):
    code, body = answer
    assert code == status, body
    assert body["status"] == "ERROR"
    assert set(body["responseObject"]) == ERROR_KEYS
    assert body["responseObject"]["code"] in ("ERROR_GENERIC", "ERROR_DATABASE")
    return body["responseObject"]["message"]


def test_every_endpoint_answers_its_documented_shape(http, space):
    status = assert_ok(call(http, "GET", "/push/service/status"))
    assert set(status) == {
        "applicationName",
        "applicationDisplayName",
        "applicationEnvironment",
        "version",
        "buildTime",
        "timestamp",
    }

    # Devices.
    create = {
        "appId": 2,
        "token": "1234567890987654321234567890",
        "platform": "ios",
        "activationId": "49414e31-f3df-4cea-87e6-f214ca3b8412",
    }
    assert call(http, "POST", "/push/device/create", {"requestObject": create}) == (
        200,
        {"status": "OK"},
    )
    multi = {
        "appId": 2,
        "token": "1234567890987654321234567891",
        "platform": "android",
        "activationIds": [
            "26c94bf8-f594-4bd8-9c51-93449926b644",
            "36c94bf8-f594-4bd8-9c51-93449926b645",
        ],
    }
    assert_ok(call(http, "POST", "/push/device/create/multi", {"requestObject": multi}))
    device = Device.objects.get(space=space, token=create["token"])
    assert list(device.activations.values_list("activation_id", "status")) == [
        (create["activationId"], "ACTIVE")
    ]
    both = Device.objects.get(space=space, token=multi["token"]).activations
    assert sorted(both.values_list("activation_id", flat=True)) == multi["activationIds"]
    status_update = {"activationId": "49414e31-f3df-4cea-87e6-f214ca3b8412"}
    assert_ok(call(http, "POST", "/push/device/status/update", status_update))

    # Messages.
    sent = assert_ok(
        call(
            http, "POST", "/push/message/send", {"requestObject": {"appId": 2, "message": MESSAGE}}
        )
    )
    assert set(sent["result"]) == {"ios", "android"}
    batch = {"appId": 2, "batch": [MESSAGE, {**MESSAGE, "userId": "1234"}]}
    result = assert_ok(call(http, "POST", "/push/message/batch/send", {"requestObject": batch}))
    for platform in ("ios", "android"):
        assert set(result["result"][platform]) == COUNTS

    # Campaigns.
    made = assert_ok(
        call(
            http,
            "POST",
            "/push/campaign/create",
            {"requestObject": {"appId": "2", "message": BODY}},
        )
    )
    campaign_id = made["id"]
    assert Campaign.objects.filter(space=space, pk=campaign_id).exists()
    detail = assert_ok(call(http, "GET", f"/push/campaign/{campaign_id}/detail"))
    assert detail == {"id": campaign_id, "appId": 2, "sent": False, "message": BODY}
    listed = assert_ok(call(http, "GET", "/push/campaign/list", params={"all": "true"}))
    assert [c["id"] for c in listed] == [campaign_id]
    assert assert_ok(call(http, "GET", "/push/campaign/list", params={"all": "false"})) == []
    users = ["1234567890", "1234567891", "1234567893"]
    assert_ok(call(http, "PUT", f"/push/campaign/{campaign_id}/user/add", {"requestObject": users}))
    code, page = call(
        http, "GET", f"/push/campaign/{campaign_id}/user/list", params={"page": 0, "size": 4}
    )
    assert code == 200
    assert page == {
        "status": "OK",
        "page": 0,
        "size": 4,
        "responseObject": {"campaignId": campaign_id, "users": users},
    }
    assert_ok(
        call(
            http,
            "DELETE",
            f"/push/campaign/{campaign_id}/user/delete",
            {"requestObject": ["1234567891"]},
        )
    )
    test = {"requestObject": {"userId": "1234567890"}}
    assert_ok(call(http, "POST", f"/push/campaign/send/test/{campaign_id}", test))
    assert_ok(call(http, "POST", f"/push/campaign/send/live/{campaign_id}"))
    assert Campaign.objects.get(pk=campaign_id).status in ("sending", "sent")
    deleted = assert_ok(call(http, "DELETE", f"/push/campaign/{campaign_id}/delete", {}))
    assert deleted == {"deleted": True}

    # Administration.
    apps = assert_ok(call(http, "GET", "/admin/app/list"))
    assert apps == {
        "applicationList": [
            {"id": 2, "appId": 2, "appName": space.name, "ios": False, "android": False}
        ]
    }
    unconfigured = assert_ok(call(http, "GET", "/admin/app/unconfigured/list"))
    assert unconfigured["applicationList"][0]["ios"] is None
    ios = {
        "id": 2,
        "bundle": "some.bundle.id",
        "keyId": "KEYID12345",
        "teamId": "TEAMID1234",
        "privateKeyBase64": base64.b64encode(keys.p8(keys.ec_p256_key())).decode(),
    }
    assert_ok(call(http, "PUT", "/admin/app/ios/update", {"requestObject": ios}))
    android = {
        "id": 2,
        "projectId": "pushport-test",
        "privateKeyBase64": base64.b64encode(
            keys.service_account_bytes(project_id="pushport-test")
        ).decode(),
    }
    assert_ok(call(http, "PUT", "/admin/app/android/update", {"requestObject": android}))
    detail = {"id": 2, "includeIos": True, "includeAndroid": True}
    answer = assert_ok(call(http, "POST", "/admin/app/detail", {"requestObject": detail}))
    assert answer == {
        "application": {
            "id": 2,
            "appId": 2,
            "appName": space.name,
            "ios": True,
            "android": True,
        },
        "iosBundle": "some.bundle.id",
        "iosKeyId": "KEYID12345",
        "iosTeamId": "TEAMID1234",
        "iosEnvironment": "production",
        "androidProjectId": "pushport-test",
    }
    assert_ok(call(http, "DELETE", "/admin/app/ios/remove", {"requestObject": {"id": 2}}))
    assert_ok(call(http, "DELETE", "/admin/app/android/remove", {"requestObject": {"id": 2}}))
    assert not ApnsCredential.objects.filter(space=space).exists()
    assert not FcmCredential.objects.filter(space=space).exists()
    created = assert_ok(call(http, "POST", "/admin/app/create", {"requestObject": {"appId": 4}}))
    assert created == {"id": 4}
    assert PowerAuthApp.objects.get(space=space).app_id == 4
    remove = {"appId": 4, "token": "1234567890987654321234567890"}
    assert_ok(call(http, "DELETE", "/push/device/remove", {"requestObject": remove}))
    assert not Device.objects.get(token=remove["token"]).active


def test_the_later_release_names_are_accepted(http, space):
    create = {
        "appId": 2,
        "token": "abcdef0123456789",
        "platform": "apns",
        "environment": "development",
        "activationId": "a1",
    }
    assert_ok(call(http, "POST", "/push/device/create", {"requestObject": create}))
    assert Device.objects.get(token="abcdef0123456789").environment == "development"
    send = {"appId": 2, "mode": "SYNCHRONOUS", "priority": "NORMAL", "message": MESSAGE}
    assert_ok(call(http, "POST", "/push/message/send", {"requestObject": send}))
    ios = {
        "appId": 2,
        "bundle": "some.bundle.id",
        "keyId": "KEYID12345",
        "teamId": "TEAMID1234",
        "privateKeyBase64": base64.b64encode(keys.p8(keys.ec_p256_key())).decode(),
    }
    assert_ok(call(http, "POST", "/admin/app/apns", {"requestObject": ios}))
    assert_ok(call(http, "DELETE", "/admin/app/apns", {"requestObject": {"appId": 2}}))
    gone = {"appId": 2, "token": "abcdef0123456789"}
    assert_ok(call(http, "POST", "/push/device/delete", {"requestObject": gone}))


ROUTES_WITH_APP_ID = [
    ("POST", "/push/device/create", {"token": "t1", "platform": "ios", "activationId": "a"}),
    (
        "POST",
        "/push/device/create/multi",
        {"token": "t", "platform": "ios", "activationIds": ["a"]},
    ),
    ("DELETE", "/push/device/remove", {"token": "t"}),
    ("POST", "/push/message/send", {"message": MESSAGE}),
    ("POST", "/push/message/batch/send", {"batch": [MESSAGE]}),
    ("POST", "/push/campaign/create", {"message": BODY}),
    ("PUT", "/admin/app/ios/update", {"bundle": "a.b", "keyId": "K", "teamId": "T"}),
    ("DELETE", "/admin/app/ios/remove", {}),
    ("PUT", "/admin/app/android/update", {"projectId": "p", "privateKeyBase64": "e30="}),
    ("DELETE", "/admin/app/android/remove", {}),
    ("POST", "/admin/app/detail", {"includeIos": True}),
]


def _with_app(body, path, app_id):
    key = "id" if path.startswith("/admin/") else "appId"
    return {"requestObject": {**copy.deepcopy(body), key: app_id}}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES_WITH_APP_ID)
def test_an_unknown_app_id_is_the_documented_error(http, method, path, body):
    message = assert_error(call(http, method, path, _with_app(body, path, 999)))
    assert message == "Application with ID 999 does not exist."


@pytest.mark.parametrize(("method", "path", "body"), ROUTES_WITH_APP_ID)
def test_another_spaces_app_id_is_refused_like_an_unknown_one(
    http, other_space, method, path, body
):
    PowerAuthApp.objects.create(space=other_space, app_id=77)
    theirs = Device.objects.create(space=other_space, platform="ios", token="t")
    theirs.activations.create(space=other_space, activation_id="a")
    message = assert_error(call(http, method, path, _with_app(body, path, 77)))
    assert message == "Application with ID 77 does not exist."
    assert Device.objects.get(space=other_space, token="t").active


def test_another_spaces_campaign_is_not_found(http, other_space):
    theirs = Campaign.objects.create(space=other_space, name="theirs", message={})
    message = assert_error(call(http, "GET", f"/push/campaign/{theirs.pk}/detail"))
    assert message == "Campaign with entered ID does not exist."


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/push/device/create", {"appId": 2, "platform": "ios", "activationId": "a"}, "token"),
        ("/push/device/create", {"token": "t", "platform": "ios", "activationId": "a"}, "appId"),
        ("/push/message/send", {"appId": 2}, "message"),
        ("/push/message/send", {"appId": 2, "message": {"body": BODY}}, "userId"),
        ("/push/campaign/create", {"appId": 2}, "message"),
        ("/admin/app/create", {}, "appId"),
    ],
)
def test_a_missing_field_is_named_in_the_error(http, path, body, field):
    message = assert_error(call(http, "POST", path, {"requestObject": body}))
    assert message == f"The field {field} is required."


def test_a_body_without_request_object_is_refused(http):
    message = assert_error(call(http, "POST", "/push/message/send", {"appId": 2}))
    assert message == "The request body has no requestObject."


def test_a_malformed_body_is_refused(http):
    response = http.post(
        "/push/device/create",
        content=b'{"requestObject": ',
        headers={"Content-Type": "application/json"},
    )
    assert_error((response.status_code, response.json()))


@pytest.mark.parametrize("authorization", [None, "Bearer pp_nothing.wrong", "Basic !!!"])
def test_a_missing_or_bad_key_is_a_401_in_the_envelope(base, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{base}/push/service/status", headers=headers)
    assert_error((response.status_code, response.json()), status=401)


def test_a_key_without_the_admin_scope_cannot_administer(base, space):
    _, secret = create_api_key(space=space, name="sender")
    response = httpx.get(f"{base}/admin/app/list", headers={"Authorization": f"Bearer {secret}"})
    message = assert_error((response.status_code, response.json()), status=401)
    assert "admin" in message


def test_the_apispace_id_and_key_work_as_http_basic_credentials(base, space):
    _, secret = create_api_key(space=space, name="java client")
    response = httpx.get(f"{base}/push/service/status", auth=(str(space.id), secret))
    assert response.json()["status"] == "OK"


def test_an_unknown_path_under_the_prefix_answers_the_envelope(http):
    assert_error(call(http, "GET", "/push/nothing/here"), status=404)
