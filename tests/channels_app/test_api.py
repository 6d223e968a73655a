"""The send API: messages, batches, status and deliveries, scoped to the API key's space."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from channels_app.models import Delivery, DeliveryStatus, Message, Platform
from portal.apikeys import create_api_key
from tests.factories import DeviceFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_key, django_capture_on_commit_callbacks):
    """A client posting JSON with the space's API key; in-process sends run on commit."""

    class Api:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")

        def post(self, url, body, *, key=None):
            raw = body if isinstance(body, str) else json.dumps(body)
            headers = {"Idempotency-Key": key} if key else {}
            with django_capture_on_commit_callbacks(execute=True):
                return self.client.post(url, raw, content_type="application/json", headers=headers)

        def get(self, url, **params):
            return self.client.get(url, params)

    return Api()


def messages_url(space, suffix=""):
    return f"/apispaces/{space.pk}/messages{suffix}"


def push(**fields):
    return {"to": {"profileId": "alice"}, "rules": ["nativePush"], "title": "Hi", **fields}


@pytest.mark.django_db(transaction=True)
def test_it_sends_to_the_profiles_devices_and_answers_final_counts(
    api, space, configured, iphone, pixel, apns_fake
):
    response = api.post(
        messages_url(space),
        push(
            body="Your order shipped",
            metadata={"order": 42},
            channelOptions={
                "nativePush": {
                    "data": {"apns": {"order": 42}, "fcm": {"order": "42"}},
                    "badge": 3,
                    "collapseKey": "orders",
                }
            },
        ),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "sent"
    assert body["counts"]["ios"] == {
        "stuck": 0,
        "sent": 1,
        "pending": 0,
        "failed": 0,
        "total": 1,
        "failures": {},
    }
    assert body["counts"]["android"]["sent"] == 1
    assert body["metadata"] == {"order": 42}
    assert body["channelOptions"]["nativePush"]["badge"] == 3
    assert body["channelOptions"]["nativePush"]["data"]["apns"] == {"order": 42}
    assert body["sentOn"] and body["messageId"]
    assert apns_fake.notifications[0].payload["order"] == 42
    assert apns_fake.notifications[0].headers["apns-collapse-id"] == "orders"


@pytest.mark.django_db(transaction=True)
def test_it_counts_a_platform_without_credentials_as_not_configured(api, space, iphone):
    response = api.post(messages_url(space), push())

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "failed"
    assert body["counts"]["ios"]["failures"] == {"channel not configured": 1}


def assert_refused(response, code):
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Message.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("rules", "code", "named"),
    [(["sms"], "unsupported_rule", "'sms'"), (["nativePush", "pigeon"], "unknown_rule", "pigeon")],
)
def test_it_refuses_a_rule_it_cannot_deliver(api, space, iphone, rules, code, named):
    response = api.post(messages_url(space), push(rules=rules))

    assert_refused(response, code)
    assert named in response.json()["message"]


def test_it_refuses_an_oversized_payload(api, space, iphone):
    big = {"nativePush": {"data": {"apns": {"blob": "x" * 5000}}}}

    response = api.post(messages_url(space), push(channelOptions=big))

    assert_refused(response, "apns_payload_too_large")


def test_it_refuses_an_expiry_in_the_past(api, space, iphone):
    past = (timezone.now() - dt.timedelta(minutes=1)).isoformat()

    assert_refused(api.post(messages_url(space), push(expiresOn=past)), "valid_until_past")


def test_it_refuses_malformed_json(api, space):
    assert_refused(api.post(messages_url(space), '{"to": '), "malformed_body")


def test_it_refuses_a_body_that_is_not_an_object(api, space):
    assert_refused(api.post(messages_url(space), [push()]), "body_not_object")


def test_it_names_a_missing_field(api, space):
    response = api.post(messages_url(space), {"rules": ["nativePush"]})

    assert_refused(response, "validation_error")
    assert response.json()["message"].startswith("to:")


def test_it_refuses_a_wrong_field_type(api, space):
    response = api.post(messages_url(space), push(channelOptions={"nativePush": {"badge": "many"}}))

    assert_refused(response, "validation_error")
    assert "channelOptions.nativePush.badge" in response.json()["message"]


def test_it_answers_401_without_a_key(space):
    response = Client().post(messages_url(space), push(), content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_another_spaces_key_finds_nothing(api, other_space, space):
    message = MessageFactory(space=other_space)

    assert api.post(messages_url(other_space), push()).status_code == 404
    assert api.get(messages_url(other_space, f"/{message.pk}")).status_code == 404
    assert api.get(messages_url(space, f"/{message.pk}")).status_code == 404
    assert api.get(messages_url(space, f"/{message.pk}/deliveries")).status_code == 404
    assert not Message.objects.filter(space=space).exists()


def test_a_revoked_looking_key_is_refused(space):
    client = Client(HTTP_AUTHORIZATION="Bearer pp_nothing.here")

    assert client.get(messages_url(space, f"/{space.pk}")).status_code == 401


def test_a_repeated_idempotency_key_answers_the_first_message(
    api, space, configured, iphone, apns_fake
):
    first = api.post(messages_url(space), push(), key="order-42")
    again = api.post(messages_url(space), push(), key="order-42")

    assert first.status_code == again.status_code == 201
    assert again.json()["messageId"] == first.json()["messageId"]
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1
    assert apns_fake.counts.accepted == 1


def test_the_same_idempotency_key_in_another_space_is_independent(api, space, other_space):
    MessageFactory(space=other_space, idempotency_key="order-42")

    response = api.post(messages_url(space), push(), key="order-42")

    assert response.status_code == 201
    assert Message.objects.filter(space=space, idempotency_key="order-42").exists()


def test_an_oversized_idempotency_key_is_refused(api, space):
    response = api.post(messages_url(space), push(), key="k" * 201)

    assert_refused(response, "invalid_idempotency_key")


def test_a_batch_sends_every_message_and_answers_their_ids(
    api, space, configured, profile, apns_fake
):
    for n in range(3):
        DeviceFactory(space=space, profile__space=space, profile__profile_id=f"user-{n}")

    response = api.post(
        messages_url(space, "/batch"), [push(to={"profileId": f"user-{n}"}) for n in range(3)]
    )

    assert response.status_code == 202
    ids = [item["messageId"] for item in response.json()]
    assert [item["index"] for item in response.json()] == [0, 1, 2]
    assert [str(m.to["profileId"]) for m in (Message.objects.get(pk=i) for i in ids)] == [
        "user-0",
        "user-1",
        "user-2",
    ]
    assert apns_fake.counts.accepted == 3


def test_a_batch_with_an_invalid_item_is_refused_whole_with_errors_by_index(api, space):
    items = [push(), push(rules=["sms"]), push(), {"to": {}}]

    response = api.post(messages_url(space, "/batch"), items)

    assert_refused(response, "invalid_batch")
    details = response.json()["details"]
    assert [(d["index"], d["code"]) for d in details] == [
        (1, "unsupported_rule"),
        (3, "validation_error"),
    ]


def test_a_batch_must_be_a_non_empty_array_within_the_limit(api, space, settings):
    settings.PUSHPORT_BATCH_MAX_MESSAGES = 2

    assert_refused(api.post(messages_url(space, "/batch"), push()), "body_not_array")
    assert_refused(api.post(messages_url(space, "/batch"), []), "batch_size")
    assert_refused(api.post(messages_url(space, "/batch"), [push()] * 3), "batch_size")


def test_a_repeated_batch_with_the_same_key_sends_nothing_twice(api, space, iphone):
    first = api.post(messages_url(space, "/batch"), [push(), push()], key="b1")
    again = api.post(messages_url(space, "/batch"), [push(), push()], key="b1")

    assert first.json() == again.json()
    assert Message.objects.count() == 2
    assert Delivery.objects.count() == 2


def test_it_shows_a_messages_status_and_counts(api, space, iphone):
    message_id = api.post(messages_url(space), push()).json()["messageId"]

    response = api.get(messages_url(space, f"/{message_id}"))

    assert response.status_code == 200
    assert response.json()["messageId"] == message_id
    assert response.json()["counts"]["ios"]["total"] == 1


def test_it_lists_deliveries_by_page_with_a_status_filter_and_token_prefixes(api, space, profile):
    devices = DeviceFactory.create_batch(3, space=space, profile=profile, platform=Platform.IOS)
    message = MessageFactory(space=space, to={"profileId": "alice"})
    for device, status in zip(devices, ["delivered", "failed", "delivered"], strict=True):
        Delivery.objects.create(message=message, device=device, platform="ios", status=status)
    url = messages_url(space, f"/{message.pk}/deliveries")

    first = api.get(url, limit=2).json()
    rest = api.client.get(first["next"])
    delivered = api.get(url, status="delivered").json()

    seen = [d["deliveryId"] for d in first["results"] + rest.json()["results"]]
    assert len(seen) == len(set(seen)) == 3
    assert {d["status"] for d in delivered["results"]} == {DeliveryStatus.DELIVERED}
    assert len(delivered["results"]) == 2
    prefixes = {d["tokenPrefix"] for d in first["results"]}
    assert prefixes <= {device.token[:8] for device in devices}
    assert all(device.token not in json.dumps(first) for device in devices)


def test_an_unknown_status_filter_is_refused(api, space):
    message = MessageFactory(space=space)

    response = api.get(messages_url(space, f"/{message.pk}/deliveries"), status="lost")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_status"


def test_a_key_of_another_space_cannot_read_this_space(space, other_space):
    other_key = create_api_key(space=other_space, name="other")[1]
    message = MessageFactory(space=space)

    client = Client(HTTP_AUTHORIZATION=f"Bearer {other_key}")

    assert client.get(messages_url(space, f"/{message.pk}")).status_code == 404
    assert client.get(messages_url(space, f"/{message.pk}/deliveries")).status_code == 404


@pytest.mark.parametrize("item", [None, "text", 7, [], {"to": "alice", "rules": "nativePush"}])
def test_a_batch_item_of_the_wrong_shape_is_named_by_index(api, space, item):
    response = api.post(messages_url(space, "/batch"), [push(), item])

    assert_refused(response, "invalid_batch")
    (problem,) = response.json()["details"]
    assert problem["index"] == 1
    assert problem["code"] == "validation_error"
    assert problem["message"].startswith(("message: ", "to: "))
