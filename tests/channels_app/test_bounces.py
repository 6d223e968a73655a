"""Bounces: a failed delivery of an injected message sends a DSN to its Return-Path through the
operator's relay; without a relay the failure is recorded and reaches webhooks only."""

import datetime as dt
import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.utils import timezone

from channels_app import bounces
from channels_app.models import Bounce, BounceStatus, Delivery, DeliveryStatus, WebhookCall
from channels_app.sending import send_to_devices
from tests.channels_app.mcmt_examples import TOKEN, apn_part, message
from tests.factories import DeliveryFactory, MessageFactory, WebhookFactory

pytestmark = pytest.mark.django_db(transaction=True)

RETURN_PATH = "bounces@sender.example"


class Relay:
    """An SMTP server on 127.0.0.1 that keeps what it is handed: (mail from, rcpts, message)."""

    def __init__(self):
        self.received: list[tuple[str, list[str], email.message.Message]] = []
        self.answer = "250 OK"
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.answer.startswith("250"):
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.compat32)
            with self._lock:
                self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return self.answer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def relay(settings):
    handler = Relay()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.PUSHPORT_MCMT_BOUNCE_RELAY = f"127.0.0.1:{port}"
    settings.PUSHPORT_MCMT_BOUNCE_FROM = "mailer-daemon@push.example"
    yield handler
    controller.stop()


@pytest.fixture
def inject(space, api_key, django_capture_on_commit_callbacks):
    def post(raw: bytes):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/apispaces/{space.pk}/inject/mcmt", raw, content_type="message/rfc822"
            )
        assert response.status_code == 200, response.content
        return response.json()["parts"]

    return post


def refused_part(apns_fake, *, return_path=RETURN_PATH) -> bytes:
    apns_fake.fail(TOKEN, 400, "BadDeviceToken")
    headers = f"Return-Path: <{return_path}>\n" if return_path else ""
    return message(apn_part(headers=headers))


def test_a_refused_injected_delivery_sends_one_dsn_to_its_return_path(
    inject, space, apns_credential, apns_fake, relay
):
    (part,) = inject(refused_part(apns_fake))
    assert Delivery.objects.get(pk=part["deliveryId"]).status == DeliveryStatus.INVALID_TOKEN

    assert bounces.send_due() == {"sent": 1}

    ((mail_from, recipients, dsn),) = relay.received
    # A bounce has the null sender, so nothing ever bounces back to Pushport.
    assert (mail_from, recipients) == ("<>", [RETURN_PATH])
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    text, status, headers = dsn.get_payload()
    assert TOKEN in text.get_payload() and "BadDeviceToken" in text.get_payload()
    per_message, per_recipient = status.get_payload()
    assert per_message["Reporting-MTA"] == "dns; push.example"
    assert per_recipient["Final-Recipient"] == f"x-apns-device-token; {TOKEN}"
    assert (per_recipient["Action"], per_recipient["Status"]) == ("failed", "5.1.1")
    assert per_recipient["Diagnostic-Code"] == "x-apns; 400 BadDeviceToken"
    assert per_recipient["X-Pushport-Delivery-Id"] == part["deliveryId"]
    assert headers.get_content_type() == "text/rfc822-headers"
    assert f"X-Device-Token: {TOKEN}" in headers.get_payload()

    # Sent once: a second pass finds nothing due.
    assert bounces.send_due() == {}
    assert len(relay.received) == 1
    assert Bounce.objects.get().status == BounceStatus.SENT


def test_without_a_relay_no_dsn_is_queued_and_the_failure_reaches_webhooks(
    inject, space, apns_credential, apns_fake, settings
):
    settings.PUSHPORT_MCMT_BOUNCE_RELAY = ""
    WebhookFactory(space=space)
    (part,) = inject(refused_part(apns_fake))

    delivery = Delivery.objects.get(pk=part["deliveryId"])
    assert (delivery.status, delivery.reason) == (DeliveryStatus.INVALID_TOKEN, "BadDeviceToken")
    assert not Bounce.objects.exists()
    assert bounces.send_due() == {}
    (call,) = WebhookCall.objects.all()
    assert (call.event, call.payload["data"]["deliveryId"]) == ("invalid_token", part["deliveryId"])


def test_a_failure_without_a_return_path_bounces_nowhere(inject, apns_credential, apns_fake, relay):
    inject(refused_part(apns_fake, return_path=""))
    assert not Bounce.objects.exists()


def test_a_delivered_injected_message_does_not_bounce(inject, apns_credential, apns_fake, relay):
    (part,) = inject(message(apn_part(headers=f"Return-Path: {RETURN_PATH}\n")))
    assert Delivery.objects.get(pk=part["deliveryId"]).status == DeliveryStatus.DELIVERED
    assert not Bounce.objects.exists()


def test_a_failed_send_through_the_server_api_does_not_bounce(
    space, iphone, configured, apns_fake, relay, drain
):
    apns_fake.fail(iphone.token, 400, "BadDeviceToken")
    send_to_devices(
        message=MessageFactory(space=space, metadata={"returnPath": RETURN_PATH}), devices=[iphone]
    )
    drain()
    assert not Bounce.objects.exists()


def test_a_relay_that_answers_4xx_is_tried_again_and_a_5xx_fails_the_bounce(
    inject, apns_credential, apns_fake, relay
):
    inject(refused_part(apns_fake))
    relay.answer = "451 4.3.0 try later"
    assert bounces.send_due() == {"retrying": 1}
    bounce = Bounce.objects.get()
    assert bounce.last_error.startswith("451")

    Bounce.objects.update(next_attempt_at=bounce.created_at)
    relay.answer = "554 5.7.1 no thanks"
    assert bounces.send_due() == {"failed": 1}
    assert relay.received == []


def test_sent_and_failed_bounces_older_than_kept_are_pruned_hourly_and_the_rest_stay(
    space, settings
):
    from celery import current_app

    from channels_app import bounce_tasks

    settings.PUSHPORT_MCMT_BOUNCES_KEPT_DAYS = 30
    old = timezone.now() - dt.timedelta(days=31)
    made = {}
    for status in (*BounceStatus.values, "recent"):
        delivery = DeliveryFactory(message__space=space, status=DeliveryStatus.FAILED)
        made[status] = Bounce.objects.create(
            delivery=delivery,
            return_path=RETURN_PATH,
            status=BounceStatus.SENT if status == "recent" else status,
        )
        if status != "recent":
            Bounce.objects.filter(pk=made[status].pk).update(created_at=old)

    assert bounce_tasks.prune_bounces() == 2

    left = set(Bounce.objects.values_list("status", flat=True))
    assert left == {BounceStatus.PENDING, BounceStatus.SENDING, BounceStatus.RETRYING, "sent"}
    assert not Bounce.objects.filter(pk__in=[made["sent"].pk, made["failed"].pk]).exists()
    # The deliveries keep their failures.
    assert Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == len(made)
    assert "channels_app.bounce_tasks.prune_bounces" in current_app.tasks
    schedule = settings.CELERY_BEAT_SCHEDULE["prune-bounces"]
    assert schedule["task"] == bounce_tasks.prune_bounces.name
