"""MCMT injection over HTTP: each APNs part is sent as given, and answered part by part."""

import json

import pytest
from django.test import Client

from channels_app.models import Delivery, DeliveryStatus, Device, Message, Platform
from portal.apikeys import create_api_key
from tests.channels_app.mcmt_examples import (
    EXAMPLE,
    PAYLOAD,
    PAYLOAD_AS_DOCUMENTED,
    TOKEN,
    apn_part,
    body,
    message,
)
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inject(space, api_key, django_capture_on_commit_callbacks):
    """POST an MCMT message (message/rfc822 unless told) with the space's API key."""

    def post(raw: bytes, *, key=api_key, content_type="message/rfc822", space_id=None):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/apispaces/{space_id or space.pk}/inject/mcmt", raw, content_type=content_type
            )

    return post


def test_the_documented_example_sends_one_notification_with_the_payload_as_given(
    inject, space, apns_credential, apns_fake
):
    response = inject(EXAMPLE)

    assert response.status_code == 200, response.content
    (part,) = response.json()["parts"]
    assert part["status"] == "queued"
    assert apns_fake.received_by_token() == {TOKEN: 1}
    (sent,) = apns_fake.notifications
    assert (sent.token, sent.body) == (TOKEN, PAYLOAD)
    assert sent.headers["apns-push-type"] == "alert"
    assert sent.headers["apns-topic"] == apns_credential.bundle_id
    delivery = Delivery.objects.get(pk=part["deliveryId"])
    assert delivery.status == DeliveryStatus.DELIVERED
    assert str(delivery.message_id) == part["messageId"]
    # The token was new: it became an iOS device of the space, following the credential's
    # environment.
    assert (delivery.device.platform, delivery.device.environment) == (Platform.IOS, "")


def test_a_multipart_body_with_its_boundary_in_the_content_type_is_sent_too(
    inject, apns_credential, apns_fake
):
    response = inject(body(apn_part()), content_type="multipart/mixed; boundary=MCMT_BOUNDARY")
    assert response.json()["parts"][0]["status"] == "queued"
    assert [n.body for n in apns_fake.notifications] == [PAYLOAD]


def test_a_known_token_goes_to_its_device(inject, space, apns_credential, apns_fake):
    device = DeviceFactory(space=space, platform=Platform.IOS, token=TOKEN)
    part = inject(EXAMPLE).json()["parts"][0]
    assert Delivery.objects.get(pk=part["deliveryId"]).device == device
    assert Device.objects.filter(space=space).count() == 1


def test_a_background_payload_goes_as_a_background_push(inject, apns_credential, apns_fake):
    silent = b'{"aps":{"content-available":1},"sync":"inbox"}'
    inject(message(apn_part(payload=silent)))
    (sent,) = apns_fake.notifications
    assert sent.body == silent
    assert (sent.headers["apns-push-type"], sent.headers["apns-priority"]) == ("background", "5")


def test_each_malformed_part_has_its_own_error_and_the_good_ones_are_still_sent(
    inject, apns_credential, apns_fake
):
    other = "ab" * 32
    response = inject(
        message(
            apn_part(token=""),
            apn_part(token="zz-not-hex"),
            apn_part(payload=b"not json"),
            apn_part(payload=b'{"aps":{"alert":"' + b"x" * 4096 + b'"}}'),
            apn_part(payload=b"eyJhcHMiOnt9fQ=", headers="Content-Transfer-Encoding: base64\n"),
            b"Content-Type: text/plain\n\nThe e-mail part of the same message",
            apn_part(token=other),
        )
    )

    assert response.status_code == 200
    parts = response.json()["parts"]
    assert [p.get("code") for p in parts] == [
        "missing_device_token",
        "device_token_not_hex",
        "payload_not_json",
        "apns_payload_too_large",
        "part_malformed",
        None,
        None,
    ]
    assert all(p["message"] for p in parts[:5])
    assert parts[5] == {"index": 5, "status": "skipped", "contentType": "text/plain"}
    assert parts[6]["status"] == "queued"
    assert apns_fake.received_by_token() == {other: 1}
    assert Message.objects.count() == 1


def test_the_documented_payload_with_its_trailing_comma_is_sent_without_the_comma(
    inject, apns_credential, apns_fake
):
    (part,) = inject(message(apn_part(payload=PAYLOAD_AS_DOCUMENTED))).json()["parts"]
    assert part["status"] == "queued"
    assert apns_fake.received_by_token() == {TOKEN: 1}
    assert apns_fake.notifications[0].body == PAYLOAD  # the same bytes, less the comma


def test_a_payload_that_is_not_json_for_more_than_a_trailing_comma_is_refused(
    inject, apns_credential, apns_fake
):
    (part,) = inject(message(apn_part(payload=b'{"aps": {"alert": "hi",}, bad}'))).json()["parts"]
    assert (part["status"], part["code"]) == ("error", "payload_not_json")
    assert apns_fake.received_by_token() == {}


def test_a_payload_without_aps_or_not_an_object_is_refused(inject, apns_credential, apns_fake):
    parts = inject(message(apn_part(payload=b'{"alert":"hi"}'), apn_part(payload=b"[1]"))).json()
    assert [p["code"] for p in parts["parts"]] == ["payload_without_aps", "payload_not_object"]


def test_a_payload_of_exactly_4096_bytes_is_sent(inject, apns_credential, apns_fake):
    payload = b'{"aps":{"alert":"' + b"x" * (4096 - 20) + b'"}}'
    assert len(payload) == 4096
    inject(message(apn_part(payload=payload)))
    assert [len(n.body) for n in apns_fake.notifications] == [4096]


def test_a_message_that_is_not_mime_answers_400_and_stores_nothing(inject, apns_credential):
    response = inject(b"Content-Type: multipart/mixed; boundary=X\n\nno parts at all")
    assert response.status_code == 400
    assert response.json()["code"] == "mcmt_malformed"
    assert not Message.objects.exists()


def test_a_json_body_is_an_unsupported_media_type(inject, apns_credential):
    response = inject(json.dumps({"aps": {}}).encode(), content_type="application/json")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_space_without_apns_reports_each_part(inject):
    (part,) = inject(EXAMPLE).json()["parts"]
    assert part["code"] == "apns_not_configured"


def test_a_deactivated_token_is_reported_not_sent(inject, space, apns_credential, apns_fake):
    DeviceFactory(
        space=space,
        platform=Platform.IOS,
        token=TOKEN,
        active=False,
        deactivation_reason="Unregistered",
    )
    (part,) = inject(EXAMPLE).json()["parts"]
    assert part["code"] == "device_inactive"
    assert "Unregistered" in part["message"]
    assert apns_fake.received_by_token() == {}


def test_another_spaces_api_key_finds_no_such_space(inject, other_space, apns_credential):
    other_key = create_api_key(space=other_space, name="other")[1]
    response = inject(EXAMPLE, key=other_key)
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_a_key_without_the_send_scope_is_refused(inject, space, apns_credential):
    key, secret = create_api_key(space=space, name="devices only")
    key.scopes = ["devices"]
    key.save()
    response = inject(EXAMPLE, key=secret)
    assert (response.status_code, response.json()["code"]) == (403, "api_key_scope_missing")


def test_no_key_is_refused(space, apns_credential):
    response = Client().post(
        f"/apispaces/{space.pk}/inject/mcmt", EXAMPLE, content_type="message/rfc822"
    )
    assert response.status_code in (401, 403)
    assert not Message.objects.exists()
