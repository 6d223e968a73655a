"""Event webhooks: events from real sends, signing, delivery with retries, the address rule."""

import datetime as dt
import http.server
import json
import logging
import re
import ssl
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from channels_app import sending, webhooks
from channels_app.models import (
    Campaign,
    CampaignStatus,
    DeliveryStatus,
    WebhookCall,
    WebhookCallStatus,
    WebhookEvent,
)
from portal.outbound import OutboundHostRefused, check_webhook_url
from tests.factories import DeviceFactory, MessageFactory, WebhookFactory
from tests.fakes.tls import TestCA

pytestmark = pytest.mark.django_db


class Receiver:
    """A plain HTTP server on 127.0.0.1 that records each POST and answers the next status."""

    def __init__(self, *, tls=None):
        self.requests: list[SimpleNamespace] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    SimpleNamespace(path=self.path, headers=dict(self.headers), body=body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = b"upstream exploded\x00\x1b[31m" + b"x" * 5000 if status >= 400 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/pushport?tenant=acme"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    """A local receiver the operator allows (loopback, plain http)."""
    settings.PUSHPORT_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PUSHPORT_WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.PUSHPORT_WEBHOOK_RETRY_MAX_SECONDS = 0.1
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hook(space, receiver):
    webhook, secret = webhooks.create_webhook(
        space=space, url=receiver.url, events=[e.value for e in WebhookEvent]
    )
    webhook.plain_secret = secret
    return webhook


def readme_recipe():
    """The verification recipe exactly as the README prints it, run as a receiver would."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (recipe,) = [block for block in blocks if "def verify(secret" in block]
    namespace: dict = {}
    exec(recipe, namespace)
    return namespace["verify"]


verify = readme_recipe()


def deliver_until_settled(*, rounds: int = 20) -> None:
    for _ in range(rounds):
        webhooks.deliver_due()
        if not WebhookCall.objects.exclude(
            status__in=[WebhookCallStatus.DELIVERED, WebhookCallStatus.FAILED]
        ).exists():
            return
        time.sleep(0.05)
    raise AssertionError("webhook calls were still unsettled")


def test_a_signature_verifies_with_the_documented_recipe(hook, receiver):
    webhooks.send_test_event(webhook=hook)

    assert webhooks.deliver_due() == {"delivered": 1}

    (request,) = receiver.requests
    header = request.headers["Pushport-Signature"]
    assert verify(hook.plain_secret, header, request.body)
    assert not verify("whsec_another", header, request.body)
    assert not verify(hook.plain_secret, header, request.body + b" ")
    assert request.path == "/hooks/pushport?tenant=acme"
    assert request.headers["Pushport-Event"] == "test"
    assert request.headers["Host"] == receiver.url.split("/")[2]
    event = json.loads(request.body)
    assert event["type"] == "test"
    assert event["apiSpaceId"] == str(hook.space_id)
    assert event["id"] == str(WebhookCall.objects.get().pk)


def test_a_signature_older_than_the_replay_window_is_refused_by_the_recipe():
    body = b'{"id":"x"}'
    old = int(time.time()) - 301
    header = webhooks.sign(secret="whsec_s", body=body, timestamp=old)

    assert not verify("whsec_s", header, body)
    assert verify(
        "whsec_s", webhooks.sign(secret="whsec_s", body=body, timestamp=int(time.time())), body
    )


def test_a_failing_receiver_is_retried_with_backoff_and_then_delivered(hook, receiver, settings):
    receiver.statuses = [500, 503]
    call = webhooks.send_test_event(webhook=hook)

    before = timezone.now()
    assert webhooks.deliver_due() == {"retrying": 1}
    call.refresh_from_db()
    assert call.status == WebhookCallStatus.RETRYING
    assert call.response_status == 500
    assert call.attempts == 1
    # Not due at once: the backoff is at least half its base.
    assert call.next_attempt_at >= before + dt.timedelta(seconds=0.025)
    # The answer's body is kept only as a short printable snippet.
    assert call.last_error.startswith("HTTP 500: upstream exploded")
    assert len(call.last_error) < 120
    assert "\x00" not in call.last_error and "\x1b" not in call.last_error
    assert webhooks.deliver_due() == {}

    deliver_until_settled()

    call.refresh_from_db()
    assert call.status == WebhookCallStatus.DELIVERED
    assert call.attempts == 3
    assert call.response_status == 200
    assert call.delivered_at is not None
    assert call.last_error == ""
    assert len(receiver.requests) == 3
    # The same event each time: the receiver can tell a retry by its id.
    assert len({json.loads(r.body)["id"] for r in receiver.requests}) == 1


def test_a_call_fails_after_the_last_attempt(hook, receiver, settings):
    settings.PUSHPORT_WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500, 500]
    call = webhooks.send_test_event(webhook=hook)

    deliver_until_settled()

    call.refresh_from_db()
    assert call.status == WebhookCallStatus.FAILED
    assert call.attempts == 2
    assert len(receiver.requests) == 2


def test_a_redirect_is_not_followed(hook, receiver):
    receiver.statuses = [302]
    call = webhooks.send_test_event(webhook=hook)

    webhooks.deliver_due()

    call.refresh_from_db()
    assert call.status == WebhookCallStatus.RETRYING
    assert call.response_status == 302
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_is_retried(hook, receiver):
    receiver.close()
    call = webhooks.send_test_event(webhook=hook)

    webhooks.deliver_due()

    call.refresh_from_db()
    assert call.status == WebhookCallStatus.RETRYING
    assert call.response_status is None
    assert call.last_error.startswith("ConnectError")


def test_two_workers_never_hold_the_same_call(hook):
    call = webhooks.send_test_event(webhook=hook)
    now = timezone.now()

    assert webhooks.OUTBOX.claim(call.pk, now) is not None
    assert webhooks.OUTBOX.claim(call.pk, now) is None
    # Once the lease has run out, the call is taken again.
    later = now + dt.timedelta(seconds=webhooks.lease_seconds() + 1)
    assert webhooks.OUTBOX.claim(call.pk, later) is not None


def test_an_expired_lease_on_the_last_attempt_gives_up(hook, settings):
    settings.PUSHPORT_WEBHOOK_MAX_ATTEMPTS = 1
    call = webhooks.send_test_event(webhook=hook)
    # A worker took it for its only attempt and died.
    WebhookCall.objects.filter(pk=call.pk).update(
        status=WebhookCallStatus.SENDING,
        attempts=1,
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1),
    )

    webhooks.deliver_due()

    call.refresh_from_db()
    assert call.status == WebhookCallStatus.FAILED
    assert "lease expired" in call.last_error


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
    ],
)
def test_a_private_address_is_refused_at_registration(space, url):
    with pytest.raises(OutboundHostRefused, match="PUSHPORT_WEBHOOK_ALLOWED_HOSTS"):
        webhooks.create_webhook(space=space, url=url, events=[WebhookEvent.DELIVERED])
    assert not space.webhooks.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",
        "ftp://93.184.216.34/hook",
        "https://user:password@93.184.216.34/hook",
        "not a url",
    ],
)
def test_a_url_that_is_not_plain_https_is_refused(url):
    with pytest.raises(OutboundHostRefused):
        check_webhook_url(url)


def test_a_public_address_is_accepted_over_https():
    target = check_webhook_url("https://93.184.216.34:8443/hook")

    assert (target.scheme, target.host, target.port, target.address) == (
        "https",
        "93.184.216.34",
        8443,
        "93.184.216.34",
    )


def test_a_network_the_operator_lists_is_allowed(settings):
    settings.PUSHPORT_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.0/8"]

    assert check_webhook_url("http://10.20.30.40/hook").address == "10.20.30.40"
    with pytest.raises(OutboundHostRefused):
        check_webhook_url("https://192.168.1.1/hook")


def test_a_private_address_is_refused_at_delivery_once_the_operator_no_longer_allows_it(
    hook, receiver, settings
):
    call = webhooks.send_test_event(webhook=hook)
    settings.PUSHPORT_WEBHOOK_ALLOWED_HOSTS = []

    assert webhooks.deliver_due() == {"failed": 1}

    call.refresh_from_db()
    assert call.status == WebhookCallStatus.FAILED
    assert call.last_error.startswith("refused: ")
    assert receiver.requests == []


def test_the_secret_never_reaches_the_logs(hook, receiver, caplog):
    receiver.statuses = [500]
    webhooks.send_test_event(webhook=hook)

    with caplog.at_level(logging.DEBUG):
        webhooks.deliver_due()

    assert "webhook call" in caplog.text
    assert hook.plain_secret not in caplog.text
    # Nor the URL's query, which may carry the receiver's own credentials.
    assert "tenant=acme" not in caplog.text


def recorded(delivery_status, *, space_id, device_id=1):
    """A delivery as the engine hands it to emit_for_deliveries."""
    now = timezone.now()
    return SimpleNamespace(
        pk="0b0e6a8e-5b1c-4bd4-9a43-8e0ab3c4d111",
        message_id="5a1e6a8e-5b1c-4bd4-9a43-8e0ab3c4d222",
        device_id=device_id,
        platform="ios",
        status=delivery_status,
        reason="",
        provider_status=200,
        sent_at=now,
        updated_at=now,
        token="a" * 64,
        message=SimpleNamespace(space_id=space_id),
    )


def test_a_send_to_a_space_without_webhooks_costs_one_query(space, django_assert_num_queries):
    deliveries = [recorded(DeliveryStatus.DELIVERED, space_id=space.pk) for _ in range(300)]

    with django_assert_num_queries(1):
        assert webhooks.emit_for_deliveries(deliveries) == 0


def test_results_that_are_not_final_cost_no_query(space, django_assert_num_queries):
    deliveries = [recorded(DeliveryStatus.RETRYING, space_id=space.pk)]

    with django_assert_num_queries(0):
        assert webhooks.emit_for_deliveries(deliveries) == 0


def test_only_active_webhooks_of_the_space_hear_the_events_they_chose(space, other_space):
    device = DeviceFactory(space=space)
    failed_only = WebhookFactory(space=space, events=[WebhookEvent.FAILED])
    WebhookFactory(space=space, active=False)
    WebhookFactory(space=other_space)

    webhooks.emit_for_deliveries(
        [
            recorded(DeliveryStatus.DELIVERED, space_id=space.pk, device_id=device.pk),
            recorded(DeliveryStatus.FAILED, space_id=space.pk, device_id=device.pk),
        ]
    )

    (call,) = WebhookCall.objects.all()
    assert call.webhook == failed_only
    assert call.event == WebhookEvent.FAILED
    assert call.payload["data"]["profileId"] == device.profile.profile_id


def test_a_real_send_produces_delivered_and_invalid_token_events(
    configured, space, iphone, apns_fake, hook, receiver, django_capture_on_commit_callbacks, drain
):
    gone = DeviceFactory(space=space, profile=iphone.profile, platform=iphone.platform)
    apns_fake.fail(gone.token, 410, "Unregistered")
    message = MessageFactory(space=space, to={"profileId": iphone.profile.profile_id})

    with django_capture_on_commit_callbacks(execute=True):
        sending.send(message=message)
    drain()

    by_event = {call.event: call for call in WebhookCall.objects.all()}
    assert set(by_event) == {WebhookEvent.DELIVERED, WebhookEvent.INVALID_TOKEN}
    delivered = by_event[WebhookEvent.DELIVERED].payload["data"]
    assert delivered["deviceId"] == iphone.pk
    assert delivered["token"] == iphone.token
    assert delivered["messageId"] == str(message.pk)
    assert delivered["profileId"] == iphone.profile.profile_id
    assert delivered["status"] == "delivered"
    invalid = by_event[WebhookEvent.INVALID_TOKEN].payload["data"]
    assert invalid["deviceId"] == gone.pk
    assert invalid["token"] == gone.token
    assert invalid["providerStatus"] == 410

    deliver_until_settled()

    assert sorted(r.headers["Pushport-Event"] for r in receiver.requests) == [
        "delivered",
        "invalid_token",
    ]
    for request in receiver.requests:
        assert verify(hook.plain_secret, request.headers["Pushport-Signature"], request.body)


def test_a_finished_campaign_is_announced(space, hook):
    campaign = Campaign.objects.create(
        space=space, name="Spring sale", status=CampaignStatus.SENT, sent_at=timezone.now()
    )

    assert webhooks.emit_campaign_finished(campaign) == 1

    call = WebhookCall.objects.get()
    assert call.event == WebhookEvent.CAMPAIGN_FINISHED
    assert call.payload["data"]["campaignId"] == str(campaign.pk)
    assert call.payload["data"]["name"] == "Spring sale"


def test_workers_find_the_webhook_task_and_beat_runs_it(settings):
    from celery import current_app

    from channels_app import webhook_tasks

    assert "channels_app.webhook_tasks.deliver_webhooks" in current_app.tasks
    schedule = settings.CELERY_BEAT_SCHEDULE["deliver-webhooks"]
    assert schedule["task"] == webhook_tasks.deliver_webhooks.name


def test_finished_calls_older_than_kept_are_pruned_hourly_and_the_rest_stay(hook, settings):
    from celery import current_app

    from channels_app import webhook_tasks

    settings.PUSHPORT_WEBHOOK_CALLS_KEPT_DAYS = 30
    old = timezone.now() - dt.timedelta(days=31)
    calls = {
        status: webhooks.send_test_event(webhook=hook)
        for status in (
            WebhookCallStatus.DELIVERED,
            WebhookCallStatus.FAILED,
            WebhookCallStatus.RETRYING,
        )
    }
    for status, call in calls.items():
        WebhookCall.objects.filter(pk=call.pk).update(status=status, created_at=old)
    recent = webhooks.send_test_event(webhook=hook)
    WebhookCall.objects.filter(pk=recent.pk).update(status=WebhookCallStatus.DELIVERED)

    assert webhook_tasks.prune_webhook_calls() == 2

    left = set(WebhookCall.objects.values_list("pk", flat=True))
    assert left == {calls[WebhookCallStatus.RETRYING].pk, recent.pk}
    assert "channels_app.webhook_tasks.prune_webhook_calls" in current_app.tasks
    schedule = settings.CELERY_BEAT_SCHEDULE["prune-webhook-calls"]
    assert schedule["task"] == webhook_tasks.prune_webhook_calls.name


def test_the_task_sends_what_is_due(hook, receiver):
    from channels_app import webhook_tasks

    webhooks.send_test_event(webhook=hook)

    assert webhook_tasks.deliver_webhooks() == {"delivered": 1}
    assert len(receiver.requests) == 1


def test_an_https_receiver_is_reached_by_name_with_its_certificate_checked(space, settings):
    ca = TestCA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca.cert_file, ca.key_file)
    server = Receiver(tls=context)
    settings.PUSHPORT_WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    settings.PUSHPORT_WEBHOOK_CA_BUNDLE = ca.ca_file
    try:
        url = f"https://localhost:{server.server.server_port}/hooks"
        webhook, secret = webhooks.create_webhook(
            space=space, url=url, events=[WebhookEvent.DELIVERED]
        )
        webhooks.send_test_event(webhook=webhook)

        assert webhooks.deliver_due() == {"delivered": 1}
        (request,) = server.requests
        assert request.headers["Host"] == f"localhost:{server.server.server_port}"
        assert verify(secret, request.headers["Pushport-Signature"], request.body)

        # A receiver whose certificate the trusted CAs did not sign is not sent the event.
        settings.PUSHPORT_WEBHOOK_CA_BUNDLE = ""
        call = webhooks.send_test_event(webhook=webhook)
        webhooks.deliver_due()
        call.refresh_from_db()
        assert call.status == WebhookCallStatus.RETRYING
        assert "CERTIFICATE_VERIFY_FAILED" in call.last_error
        assert len(server.requests) == 1
    finally:
        server.close()
        ca.cleanup()
