"""Payload building: every mapping rule and every refusal, before anything is sent."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from channels_app.models import Priority
from channels_app.payloads import (
    GIVEN_PAYLOAD_KEY,
    PayloadError,
    apns_payload,
    fcm_message,
    given_apns_payload,
    validate_message,
)
from tests.factories import MessageFactory

BUNDLE = "com.example.app"
PACKAGE = "com.example.android"


def message(**fields):
    return MessageFactory.build(**fields)


def apns_body(msg) -> dict:
    return json.loads(apns_payload(msg, bundle_id=BUNDLE).body)


def refusal(build, msg, **kwargs) -> str:
    with pytest.raises(PayloadError) as raised:
        build(msg, **kwargs)
    assert raised.value.message
    return raised.value.code


# APNs


def test_it_maps_the_alert_fields_into_aps():
    body = apns_body(message(title="Hi", body="There", badge=3, sound="ping.caf", category="CHAT"))
    assert body == {
        "aps": {
            "alert": {"title": "Hi", "body": "There"},
            "badge": 3,
            "sound": "ping.caf",
            "category": "CHAT",
        }
    }


def test_it_sends_an_alert_at_priority_10_to_the_bundle_topic():
    headers = apns_payload(message(), bundle_id=BUNDLE).headers
    assert headers == {"apns-push-type": "alert", "apns-priority": "10", "apns-topic": BUNDLE}


def test_it_sends_a_normal_priority_alert_at_priority_5():
    headers = apns_payload(message(priority=Priority.NORMAL), bundle_id=BUNDLE).headers
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "5"


def test_a_silent_message_is_content_available_only_as_background_at_priority_5():
    msg = message(silent=True, badge=1, sound="default", extras={"sync": "inbox"})
    payload = apns_payload(msg, bundle_id=BUNDLE)
    assert json.loads(payload.body) == {"sync": "inbox", "aps": {"content-available": 1}}
    assert payload.headers["apns-push-type"] == "background"
    assert payload.headers["apns-priority"] == "5"


def test_it_puts_extras_and_apns_data_beside_aps_never_inside():
    body = apns_body(message(extras={"a": 1, "shared": "extras"}, apns_data={"shared": "apns"}))
    assert body["a"] == 1
    assert body["shared"] == "apns"
    assert set(body["aps"]) == {"alert"}


def test_it_merges_apples_aps_keys_from_apns_data():
    body = apns_body(message(apns_data={"aps": {"mutable-content": 1, "thread-id": "t1"}}))
    assert body["aps"] == {
        "alert": {"title": "Hello", "body": "World"},
        "mutable-content": 1,
        "thread-id": "t1",
    }


def test_it_adds_the_apns_deep_link_with_its_tracking_url():
    deep_link = {
        "apns": {"url": "app://inbox"},
        "fcm": {"url": "app://android-inbox"},
        "trackingLink": "https://t.example.com/1",
    }
    body = apns_body(message(deep_link=deep_link))
    assert body["dd_deepLink"] == {"url": "app://inbox", "trackingUrl": "https://t.example.com/1"}


def test_it_sets_expiration_and_collapse_id_headers():
    until = timezone.now() + dt.timedelta(hours=1)
    headers = apns_payload(
        message(valid_until=until, collapse_key="score"), bundle_id=BUNDLE
    ).headers
    assert headers["apns-expiration"] == str(int(until.timestamp()))
    assert headers["apns-collapse-id"] == "score"


def test_the_apns_body_is_compact_utf8_json():
    body = apns_payload(message(title="Grüße", body="日本"), bundle_id=BUNDLE).body
    assert body == '{"aps":{"alert":{"title":"Grüße","body":"日本"}}}'.encode()


def test_it_refuses_an_apns_payload_over_4096_bytes():
    assert refusal(apns_payload, message(body="x" * 4100), bundle_id=BUNDLE) == (
        "apns_payload_too_large"
    )


def test_it_accepts_an_apns_payload_of_exactly_4096_bytes_and_no_more():
    overhead = len(apns_payload(message(title="", body="x"), bundle_id=BUNDLE).body) - 1
    exact = message(title="", body="x" * (4096 - overhead))
    assert len(apns_payload(exact, bundle_id=BUNDLE).body) == 4096
    over = message(title="", body="x" * (4097 - overhead))
    assert refusal(apns_payload, over, bundle_id=BUNDLE) == "apns_payload_too_large"


def test_it_refuses_unknown_keys_inside_aps():
    msg = message(apns_data={"aps": {"custom": 1}})
    assert refusal(apns_payload, msg, bundle_id=BUNDLE) == "invalid_aps_key"


def test_it_refuses_an_alert_in_a_silent_message():
    msg = message(silent=True, apns_data={"aps": {"alert": "boo"}})
    assert refusal(apns_payload, msg, bundle_id=BUNDLE) == "silent_with_alert"


def test_it_refuses_aps_in_extras():
    assert refusal(apns_payload, message(extras={"aps": {}}), bundle_id=BUNDLE) == (
        "reserved_data_key"
    )


def test_it_refuses_a_negative_badge():
    assert refusal(apns_payload, message(badge=-1), bundle_id=BUNDLE) == "invalid_badge"


# FCM


def test_it_maps_the_notification_and_android_fields():
    until = timezone.now() + dt.timedelta(seconds=600)
    msg = message(icon="ic_bell", sound="chime", collapse_key="news", valid_until=until)
    fcm = fcm_message(msg, package_name=PACKAGE).message
    assert fcm["notification"] == {"title": "Hello", "body": "World"}
    assert fcm["android"]["priority"] == "HIGH"
    assert fcm["android"]["ttl"] in ("599s", "600s")
    assert fcm["android"]["collapse_key"] == "news"
    assert fcm["android"]["restricted_package_name"] == PACKAGE
    assert fcm["android"]["notification"] == {"icon": "ic_bell", "sound": "chime", "tag": "news"}
    assert "token" not in fcm


def test_it_leaves_out_empty_android_fields():
    fcm = fcm_message(message(), package_name="").message
    assert fcm == {
        "notification": {"title": "Hello", "body": "World"},
        "android": {"priority": "HIGH"},
    }


def test_it_sends_normal_priority_as_normal():
    fcm = fcm_message(message(priority=Priority.NORMAL), package_name=PACKAGE).message
    assert fcm["android"]["priority"] == "NORMAL"


def test_it_clamps_the_ttl_to_four_weeks():
    until = timezone.now() + dt.timedelta(days=60)
    fcm = fcm_message(message(valid_until=until), package_name=PACKAGE).message
    assert fcm["android"]["ttl"] == "2419200s"


def test_a_silent_fcm_message_is_data_only():
    msg = message(silent=True, icon="ic", sound="s", extras={"sync": "1"})
    fcm = fcm_message(msg, package_name=PACKAGE).message
    assert "notification" not in fcm
    assert "notification" not in fcm["android"]
    assert fcm["data"] == {"sync": "1"}


def test_it_stringifies_every_data_value():
    msg = message(
        extras={"n": 5, "flag": True, "nested": {"a": [1, "é"]}, "none": None, "s": "text"},
        fcm_data={"n": 6},
    )
    data = fcm_message(msg, package_name=PACKAGE).message["data"]
    assert data == {
        "n": "6",
        "flag": "true",
        "nested": '{"a":[1,"é"]}',
        "none": "null",
        "s": "text",
    }


def test_it_adds_the_fcm_deep_link_as_a_json_string():
    deep_link = {"fcm": {"url": "app://inbox"}, "trackingLink": "https://t.example.com/1"}
    data = fcm_message(message(deep_link=deep_link), package_name=PACKAGE).message["data"]
    assert json.loads(data["dd_deepLink"]) == {
        "url": "app://inbox",
        "trackingUrl": "https://t.example.com/1",
    }


def test_the_request_body_puts_the_token_into_the_prebuilt_message():
    payload = fcm_message(message(extras={"k": "v"}), package_name=PACKAGE)
    body = json.loads(payload.request_body("tok:en-1"))
    assert body == {"message": {**payload.message, "token": "tok:en-1"}}


def test_the_request_body_escapes_a_token_that_needs_it():
    payload = fcm_message(message(), package_name=PACKAGE)
    assert json.loads(payload.request_body('to"k\\en'))["message"]["token"] == 'to"k\\en'


@pytest.mark.parametrize("key", ["from", "message_type", "notification", "google.x", "gcm.n.e"])
def test_it_refuses_reserved_fcm_data_keys(key):
    assert refusal(fcm_message, message(fcm_data={key: "v"}), package_name=PACKAGE) == (
        "reserved_data_key"
    )


def test_it_refuses_an_fcm_message_over_4096_bytes():
    msg = message(extras={"blob": "x" * 4090})
    assert refusal(fcm_message, msg, package_name=PACKAGE) == "fcm_payload_too_large"


# Both platforms


@pytest.mark.parametrize(
    ("build", "kwargs"),
    [(apns_payload, {"bundle_id": BUNDLE}), (fcm_message, {"package_name": PACKAGE})],
)
class TestRefusalsOnBothPlatforms:
    def test_it_refuses_a_collapse_key_over_64_bytes(self, build, kwargs):
        assert refusal(build, message(collapse_key="é" * 33), **kwargs) == "collapse_key_too_long"

    def test_it_accepts_a_collapse_key_of_64_bytes(self, build, kwargs):
        build(message(collapse_key="k" * 64), **kwargs)

    def test_it_refuses_a_valid_until_in_the_past(self, build, kwargs):
        past = timezone.now() - dt.timedelta(seconds=1)
        assert refusal(build, message(valid_until=past), **kwargs) == "valid_until_past"

    @pytest.mark.parametrize("field", ["extras", "deep_link"])
    def test_it_refuses_custom_data_that_is_not_an_object(self, build, kwargs, field):
        assert refusal(build, message(**{field: ["a"]}), **kwargs) == "custom_data_not_object"


def test_it_refuses_apns_data_that_is_not_an_object():
    assert refusal(apns_payload, message(apns_data="x"), bundle_id=BUNDLE) == (
        "custom_data_not_object"
    )


def test_it_refuses_fcm_data_that_is_not_an_object():
    assert refusal(fcm_message, message(fcm_data=[1]), package_name=PACKAGE) == (
        "custom_data_not_object"
    )


def test_validate_message_raises_what_either_platform_would_refuse():
    validate_message(message(extras={"ok": 1}))
    with pytest.raises(PayloadError) as raised:
        validate_message(message(fcm_data={"google.x": "1"}))
    assert raised.value.code == "reserved_data_key"


def test_a_payload_given_as_is_keeps_its_bytes_and_gets_alert_headers():
    body = b'{ "aps" : { "alert" : "You have mail" } }'
    payload = given_apns_payload(body, bundle_id=BUNDLE)
    assert payload.body == body
    assert payload.headers == {
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-topic": BUNDLE,
    }


def test_a_message_carrying_a_given_payload_sends_it_instead_of_its_fields():
    given = '{"aps":{"badge":1},  "k":"v"}'
    built = message(title="ignored", apns_data={GIVEN_PAYLOAD_KEY: given})
    assert apns_payload(built, bundle_id=BUNDLE).body == given.encode()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "payload_empty"),
        (b"{nope", "payload_not_json"),
        (b"[" * 4000 + b"]" * 4000, "apns_payload_too_large"),
        (b"[" * 2000 + b"]" * 2000, "payload_not_json"),
        (b'"text"', "payload_not_object"),
        (b'{"aps": 1}', "payload_without_aps"),
        (b'{"aps":{"alert":"\xff"}}', "payload_not_utf8"),
    ],
)
def test_a_given_payload_apns_would_refuse_is_refused_by_name(body, code):
    with pytest.raises(PayloadError) as caught:
        given_apns_payload(body, bundle_id=BUNDLE)
    assert caught.value.code == code
