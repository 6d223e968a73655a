"""The delivery engine over real HTTP/2 + TLS sockets to the fake APNs and FCM."""

import datetime as dt
import logging
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.timezone import now

from channels_app import delivery, providers, rows, sending, tasks
from channels_app.delivery.recording import Recorder
from channels_app.ids import uuid7
from channels_app.models import (
    DailyCount,
    Delivery,
    DeliveryStatus,
    Health,
    MessageStatus,
    Platform,
)
from channels_app.providers.base import Outcome, Result
from channels_app.tracking import message_counts
from tests.factories import DeviceFactory, MessageFactory
from tests.fakes.apns import SANDBOX

pytestmark = pytest.mark.django_db


@pytest.fixture
def send_now(space, django_capture_on_commit_callbacks, drain):
    """Send a message to alice in process, as the API does, sweep its retries, return it settled."""

    def send(**fields):
        message = MessageFactory(space=space, to={"profileId": "alice"}, **fields)
        with django_capture_on_commit_callbacks(execute=True):
            sending.send(message=message)
        drain()
        message.refresh_from_db()
        return message

    return send


def only_delivery(device) -> Delivery:
    return Delivery.objects.get(device=device)


def test_it_delivers_to_every_device_of_the_profile_and_stores_provider_ids(
    configured, iphone, pixel, send_now, apns_fake, fcm_fake
):
    message = send_now(title="Hi", body="there")

    ios, android = only_delivery(iphone), only_delivery(pixel)
    assert ios.status == android.status == DeliveryStatus.DELIVERED
    assert ios.provider_id == str(ios.pk)
    assert android.provider_id.startswith("projects/pushport-test/messages/")
    assert ios.provider_status == android.provider_status == 200
    assert ios.attempts == android.attempts == 1
    assert ios.sent_at and android.sent_at
    assert [n.token for n in apns_fake.notifications] == [iphone.token]
    assert apns_fake.notifications[0].payload["aps"]["alert"] == {"title": "Hi", "body": "there"}
    assert fcm_fake.messages_for(pixel.token)[0]["notification"] == {
        "title": "Hi",
        "body": "there",
    }
    assert message.status == MessageStatus.SENT
    counts = message_counts(message)
    assert counts["ios"] == {
        "sent": 1,
        "pending": 0,
        "failed": 0,
        "total": 1,
        "stuck": 0,
        "failures": {},
    }
    assert counts["android"]["sent"] == 1


def test_it_skips_inactive_devices_and_other_profiles(configured, iphone, space, send_now):
    DeviceFactory(space=space, profile=iphone.profile, active=False)
    DeviceFactory(space=space)

    message = send_now()

    assert list(message.deliveries.values_list("device", flat=True)) == [iphone.pk]


def test_a_profile_without_devices_fails_at_once(configured, profile, send_now):
    message = send_now()

    assert message.status == MessageStatus.FAILED
    assert message_counts(message)["ios"]["total"] == 0


def test_it_deactivates_a_device_apns_calls_unregistered(configured, iphone, send_now, apns_fake):
    iphone.registered_at = timezone.now() - dt.timedelta(days=2)
    iphone.save()
    gone = timezone.now() - dt.timedelta(days=1)
    apns_fake.fail(iphone.token, 410, "Unregistered", timestamp=int(gone.timestamp() * 1000))

    message = send_now()

    iphone.refresh_from_db()
    assert not iphone.active
    assert iphone.deactivation_reason == "Unregistered"
    assert iphone.deactivated_at is not None
    assert only_delivery(iphone).status == DeliveryStatus.INVALID_TOKEN
    assert message.status == MessageStatus.FAILED
    assert message_counts(message)["ios"]["failures"] == {"Unregistered": 1}


def test_a_device_registered_again_after_the_410_stays_active(
    configured, iphone, send_now, apns_fake
):
    gone = timezone.now() - dt.timedelta(hours=1)
    apns_fake.fail(iphone.token, 410, "Unregistered", timestamp=int(gone.timestamp() * 1000))

    send_now()

    iphone.refresh_from_db()
    assert iphone.active
    assert only_delivery(iphone).status == DeliveryStatus.INVALID_TOKEN


def test_it_deactivates_a_bad_device_token(configured, iphone, send_now, apns_fake):
    apns_fake.fail(iphone.token, 400, "BadDeviceToken")

    send_now()

    iphone.refresh_from_db()
    assert (iphone.active, iphone.deactivation_reason) == (False, "BadDeviceToken")


def test_it_deactivates_a_token_fcm_calls_unregistered(configured, pixel, send_now, fcm_fake):
    fcm_fake.fail(pixel.token, 404, "UNREGISTERED")

    send_now()

    pixel.refresh_from_db()
    assert not pixel.active
    assert pixel.deactivation_reason.startswith("UNREGISTERED")
    assert only_delivery(pixel).status == DeliveryStatus.INVALID_TOKEN


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "InternalServerError"), (503, "ServiceUnavailable"), (429, "TooManyRequests")],
)
def test_it_retries_apns_with_backoff_then_delivers(
    configured, iphone, send_now, apns_fake, status, reason
):
    apns_fake.fail(iphone.token, status, reason, times=2)

    message = send_now()

    sent = only_delivery(iphone)
    assert (sent.status, sent.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert apns_fake.counts.accepted == 1
    assert message.status == MessageStatus.SENT


def test_it_retries_fcm_unavailable_then_delivers(configured, pixel, send_now, fcm_fake):
    fcm_fake.fail(pixel.token, 503, "UNAVAILABLE", times=1)

    send_now()

    sent = only_delivery(pixel)
    assert (sent.status, sent.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_it_gives_up_after_the_most_attempts(configured, iphone, send_now, apns_fake, settings):
    settings.PUSHPORT_DELIVERY_MAX_ATTEMPTS = 3
    apns_fake.fail(iphone.token, 503, "ServiceUnavailable")

    message = send_now()

    failed = only_delivery(iphone)
    assert (failed.status, failed.attempts, failed.provider_status) == (
        DeliveryStatus.FAILED,
        3,
        503,
    )
    assert failed.reason == "gave up after 3 attempts: ServiceUnavailable"
    assert apns_fake.counts.requests == 3
    assert message.status == MessageStatus.FAILED
    iphone.refresh_from_db()
    assert iphone.active


def test_the_backoff_grows_and_honours_retry_after(settings):
    settings.PUSHPORT_RETRY_BASE_SECONDS = 2
    settings.PUSHPORT_RETRY_MAX_SECONDS = 900

    first = delivery.retry_delay(attempts=1, retry_after=None)
    fourth = delivery.retry_delay(attempts=4, retry_after=None)

    assert 1 <= first <= 2
    assert 8 <= fourth <= 16
    assert delivery.retry_delay(attempts=1, retry_after=30) == 30
    assert delivery.retry_delay(attempts=30, retry_after=None) == 900


def test_a_rejected_delivery_is_never_retried(configured, iphone, send_now, apns_fake):
    apns_fake.fail(iphone.token, 400, "PayloadTooLarge")

    send_now()

    failed = only_delivery(iphone)
    assert (failed.status, failed.reason, failed.attempts) == (
        DeliveryStatus.FAILED,
        "PayloadTooLarge",
        1,
    )
    assert apns_fake.counts.requests == 1


def test_a_refused_credential_fails_the_rest_of_the_send_and_deactivates_nothing(
    configured, space, profile, send_now, apns_fake, apns_credential, settings
):
    settings.PUSHPORT_DELIVERY_CHUNK_SIZE = 1
    phones = DeviceFactory.create_batch(3, space=space, profile=profile, platform=Platform.IOS)
    apns_fake.keys.clear()  # Apple no longer knows the key: InvalidProviderToken

    message = send_now()

    apns_credential.refresh_from_db()
    assert apns_credential.health == Health.NEEDS_ATTENTION
    assert apns_credential.health_reason == "InvalidProviderToken"
    assert set(message.deliveries.values_list("status", flat=True)) == {DeliveryStatus.FAILED}
    assert apns_fake.counts.requests == 1  # the other chunks failed fast
    assert all(
        phone.active for phone in type(phones[0]).objects.filter(pk__in=[p.pk for p in phones])
    )
    assert message.status == MessageStatus.FAILED


def test_a_later_success_clears_the_credential_flag(
    configured, iphone, send_now, apns_fake, apns_credential
):
    apns_credential.mark_needs_attention("InvalidProviderToken")

    send_now()

    apns_credential.refresh_from_db()
    assert apns_credential.health == Health.OK
    assert only_delivery(iphone).status == DeliveryStatus.DELIVERED


def test_a_platform_without_credentials_fails_as_not_configured(
    apns_credential, iphone, pixel, send_now, caplog
):
    with caplog.at_level(logging.INFO, logger="channels_app.delivery"):
        message = send_now()

    assert only_delivery(iphone).status == DeliveryStatus.DELIVERED
    assert only_delivery(pixel).reason == "channel not configured"
    assert message_counts(message)["android"]["failures"] == {"channel not configured": 1}
    assert message.status == MessageStatus.SENT
    line = next(r.getMessage() for r in caplog.records if "delivery chunk" in r.getMessage())
    assert "delivered=1" in line and "not_configured=1" in line
    assert iphone.token not in caplog.text and pixel.token not in caplog.text


def test_an_expired_message_is_not_sent(configured, iphone, space, apns_fake):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    message.valid_until = timezone.now() - dt.timedelta(seconds=1)
    message.save()

    tasks.deliver_chunk([str(d.pk) for d in message.deliveries.all()])

    assert only_delivery(iphone).reason == "valid_until_past"
    assert apns_fake.counts.requests == 0


def test_a_device_deactivated_after_the_send_was_queued_is_skipped(
    configured, iphone, space, apns_fake
):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    iphone.active = False
    iphone.save()

    tasks.deliver_chunk([str(d.pk) for d in message.deliveries.all()])

    assert only_delivery(iphone).reason == "device deactivated"
    assert apns_fake.counts.requests == 0


def test_two_workers_never_claim_the_same_delivery(configured, iphone, space):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    ids = list(message.deliveries.values_list("id", flat=True))

    _, first = delivery.claim(delivery_ids=ids, now=timezone.now())
    _, second = delivery.claim(delivery_ids=ids, now=timezone.now())

    assert [d.pk for d in first] == ids
    assert second == []


def test_a_send_in_process_claims_what_it_stored_without_reading_it_back(
    configured, iphone, space, django_assert_num_queries
):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    stored = [
        delivery.Claimed.stored(id=uuid7(), message=message, device=iphone, sweep_after=now())
    ]
    rows.inserting_values(
        Delivery,
        [
            {
                "id": d.id,
                "message_id": message.pk,
                "device_id": iphone.pk,
                "platform": d.platform,
                "sweep_after": d.sweep_after,
            }
            for d in stored
        ],
    ).run()

    with django_assert_num_queries(1):  # the conditional update, nothing read
        token, claimed = delivery.claim(delivery_ids=[stored[0].id], now=now(), stored=stored)

    assert claimed == stored
    assert (claimed[0].attempts, claimed[0].claim_token, claimed[0].message) == (1, token, message)
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.claim_token) == (DeliveryStatus.SENDING, 1, token)


def test_a_claim_looks_its_ids_up_however_long_the_queue(configured, iphone, space):
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's plan; PostgreSQL plans from the statistics it keeps")
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    ids = list(message.deliveries.values_list("id", flat=True)) + [uuid7() for _ in range(499)]

    with CaptureQueriesContext(connection) as queries:
        delivery.claim(delivery_ids=ids, now=now())
    claim_sql = queries.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        plan = " ".join(str(row) for row in cursor.execute(f"EXPLAIN QUERY PLAN {claim_sql}"))

    # By the primary key, never by walking the status index through the whole queue.
    assert "sqlite_autoindex_channels_app_delivery_1 (id=?)" in plan, plan


def test_a_stored_row_someone_else_claimed_meanwhile_is_not_sent_again(configured, iphone, space):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    ids = list(message.deliveries.values_list("id", flat=True))
    stored = [delivery.Claimed.stored(id=ids[0], message=message, device=iphone, sweep_after=now())]
    delivery.claim(delivery_ids=ids, now=now())  # an Idempotency-Key replay took it first

    _, claimed = delivery.claim(delivery_ids=ids, now=now(), stored=stored)

    assert claimed == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_share_a_chunk_without_overlap(space, profile):
    if connection.vendor == "sqlite":
        pytest.skip("needs truly concurrent transactions (PostgreSQL)")
    message = MessageFactory(space=space, to={"profileId": "alice"})
    rows = [
        Delivery(message=message, device=device, platform=device.platform)
        for device in DeviceFactory.create_batch(200, space=space, profile=profile)
    ]
    ids = [d.pk for d in Delivery.objects.bulk_create(rows)]
    start = threading.Barrier(4)
    claimed: list[list] = []

    def worker():
        start.wait()
        try:
            claimed.append([d.pk for d in delivery.claim(delivery_ids=ids, now=timezone.now())[1]])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [pk for batch in claimed for pk in batch]
    assert len(claimed) == 4
    assert sorted(everything) == sorted(ids)


def test_a_delivered_delivery_is_never_sent_again(configured, iphone, send_now, apns_fake):
    message = send_now()

    report = tasks.deliver_chunk([str(d.pk) for d in message.deliveries.all()])

    assert report == {}
    assert apns_fake.counts.requests == 1


def test_a_dead_workers_lease_is_reclaimed_and_delivered_exactly_once(
    configured, iphone, pixel, space, apns_fake, fcm_fake
):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    ids = list(message.deliveries.values_list("id", flat=True))
    # A worker claims the chunk and dies before sending anything.
    delivery.claim(delivery_ids=ids, now=timezone.now() - dt.timedelta(hours=1))
    assert tasks.deliver_chunk([str(pk) for pk in ids]) == {}

    assert tasks.sweep() == {"reclaimed": 2, "gave_up": 0, "queued": 2}

    assert set(message.deliveries.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert message.deliveries.get(device=iphone).attempts == 2
    assert apns_fake.counts.accepted == 1
    assert len(fcm_fake.messages_for(pixel.token)) == 1
    assert tasks.sweep() == {"reclaimed": 0, "gave_up": 0, "queued": 0}
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_lease_that_expires_on_the_last_attempt_fails_instead_of_going_again(
    configured, iphone, space, apns_fake, settings
):
    settings.PUSHPORT_DELIVERY_MAX_ATTEMPTS = 2
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    ids = list(message.deliveries.values_list("id", flat=True))
    delivery.claim(delivery_ids=ids, now=timezone.now() - dt.timedelta(hours=1))  # a worker dies
    assert delivery.sweep().reclaimed == 1
    settings.PUSHPORT_DELIVERY_LEASE_SECONDS = 0
    delivery.claim(delivery_ids=ids, now=timezone.now())  # the next one dies too

    assert tasks.sweep() == {"reclaimed": 0, "gave_up": 1, "queued": 0}

    failed = only_delivery(iphone)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 2)
    assert failed.reason == "gave up after 2 attempts: lease expired"
    assert apns_fake.counts.requests == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


def test_a_late_worker_does_not_overwrite_a_reclaimed_delivery(configured, iphone, space):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    ids = list(message.deliveries.values_list("id", flat=True))
    token, claimed = delivery.claim(delivery_ids=ids, now=timezone.now() - dt.timedelta(hours=1))
    delivery.sweep()

    recorder = Recorder(token)
    recorder.add(claimed[0], Result(Outcome.DELIVERED, status=200))
    recorder.flush()

    assert only_delivery(iphone).status == DeliveryStatus.RETRYING


@pytest.mark.parametrize(
    ("status", "code"), [(403, "SENDER_ID_MISMATCH"), (400, "INVALID_ARGUMENT")]
)
def test_it_deactivates_a_token_fcm_refuses(configured, pixel, send_now, fcm_fake, status, code):
    fcm_fake.fail(pixel.token, status, code)

    send_now()

    pixel.refresh_from_db()
    assert not pixel.active
    assert pixel.deactivation_reason.startswith(code)


def test_fcm_refusing_the_credential_flags_it_and_deactivates_nothing(
    configured, pixel, send_now, fcm_fake, fcm_credential
):
    fcm_fake.fail(pixel.token, 401, "THIRD_PARTY_AUTH_ERROR")

    message = send_now()

    fcm_credential.refresh_from_db()
    assert fcm_credential.health == Health.NEEDS_ATTENTION
    assert fcm_credential.health_reason.startswith("THIRD_PARTY_AUTH_ERROR")
    pixel.refresh_from_db()
    assert pixel.active
    assert message.status == MessageStatus.FAILED


def test_fcm_too_many_requests_is_retried_after_its_retry_after(
    configured, pixel, send_now, fcm_fake
):
    fcm_fake.fail(pixel.token, 429, "QUOTA_EXCEEDED", times=1, retry_after=1)

    send_now()

    sent = only_delivery(pixel)
    assert (sent.status, sent.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_a_development_device_goes_to_the_sandbox(configured, space, profile, send_now, apns_fake):
    DeviceFactory(space=space, profile=profile, environment="development")

    send_now()

    assert [n.environment for n in apns_fake.notifications] == [SANDBOX]


def test_a_chunk_of_both_platforms_maps_every_result_to_its_own_delivery(
    configured, space, profile, iphone, pixel, send_now, apns_fake, fcm_fake
):
    dead_iphone = DeviceFactory(space=space, profile=profile, platform=Platform.IOS)
    dead_pixel = DeviceFactory(space=space, profile=profile, platform=Platform.ANDROID)
    apns_fake.fail(dead_iphone.token, 400, "BadDeviceToken")
    fcm_fake.fail(dead_pixel.token, 404, "UNREGISTERED")

    send_now()

    assert {d: only_delivery(d).status for d in (iphone, pixel, dead_iphone, dead_pixel)} == {
        iphone: DeliveryStatus.DELIVERED,
        pixel: DeliveryStatus.DELIVERED,
        dead_iphone: DeliveryStatus.INVALID_TOKEN,
        dead_pixel: DeliveryStatus.INVALID_TOKEN,
    }
    assert only_delivery(iphone).provider_id == str(only_delivery(iphone).pk)
    assert only_delivery(pixel).provider_id.startswith("projects/pushport-test/messages/")
    assert only_delivery(dead_iphone).reason == "BadDeviceToken"
    assert only_delivery(dead_pixel).reason.startswith("UNREGISTERED")


def test_a_provider_failing_on_its_batch_retries_only_that_platform(
    configured, iphone, pixel, send_now, monkeypatch, caplog
):
    async def broken(credential, items, on_result=None):
        raise RuntimeError("provider bug")

    monkeypatch.setattr(providers.get_provider("ios"), "send_async", broken)

    with caplog.at_level(logging.ERROR, logger="channels_app.delivery"):
        send_now()

    # Retried (fast_retries) until it gives up; the Android half was delivered at once.
    assert only_delivery(iphone).status == DeliveryStatus.FAILED
    assert only_delivery(iphone).reason.endswith(": provider error")
    assert only_delivery(pixel).status == DeliveryStatus.DELIVERED
    assert "provider ios failed on a chunk of 1" in caplog.text


def test_recorded_outcomes_are_counted_per_day_for_the_overview(
    configured, space, profile, iphone, pixel, send_now, apns_fake
):
    dead = DeviceFactory(space=space, profile=profile, platform=Platform.IOS)
    apns_fake.fail(dead.token, 400, "BadDeviceToken")

    send_now()
    send_now()

    counts = {
        (c.platform, c.outcome): c.count
        for c in DailyCount.objects.filter(space=space, day=timezone.now().date())
    }
    assert counts == {
        ("ios", "delivered"): 2,
        ("android", "delivered"): 2,
        ("ios", "invalid_token"): 1,
    }
