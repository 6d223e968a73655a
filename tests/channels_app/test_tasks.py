"""Celery tasks and the reclaim command, run in process against the fakes."""

import datetime as dt
import io

import pytest
from celery import current_app
from django.core.management import call_command
from django.utils import timezone

from channels_app import delivery, sending, tasks
from channels_app.models import DeliveryStatus
from tests.factories import DeviceFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_the_periodic_reclaim_task_is_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["reclaim-expired-leases"]

    assert schedule["task"] == tasks.reclaim_expired_leases.name
    assert tasks.reclaim_expired_leases.name in current_app.tasks


def test_the_command_reclaims_an_expired_lease_and_delivers_it(
    configured, iphone, space, apns_fake
):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    ids = list(message.deliveries.values_list("id", flat=True))
    delivery.claim(delivery_ids=ids, now=timezone.now() - dt.timedelta(hours=1))
    out = io.StringIO()

    call_command("reclaim_leases", stdout=out)

    assert out.getvalue().strip() == "Queued 1 deliveries again (expired leases, overdue retries)."
    assert message.deliveries.get().status == DeliveryStatus.DELIVERED
    assert apns_fake.counts.accepted == 1


def test_a_lease_still_running_is_left_alone(configured, iphone, space, apns_fake):
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    delivery.claim(delivery_ids=[message.deliveries.get().pk], now=timezone.now())

    assert tasks.reclaim_expired_leases() == 0

    assert message.deliveries.get().status == DeliveryStatus.SENDING
    assert apns_fake.counts.requests == 0


def test_a_retry_waits_for_its_backoff_in_process(configured, iphone, space, apns_fake, settings):
    settings.PUSHPORT_RETRY_BASE_SECONDS = 0.4
    settings.PUSHPORT_RETRY_MAX_SECONDS = 0.4
    apns_fake.fail(iphone.token, 503, "ServiceUnavailable", times=1)
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    started = timezone.now()

    tasks.deliver_chunk([str(message.deliveries.get().pk)])

    sent = message.deliveries.get()
    assert sent.status == DeliveryStatus.DELIVERED
    assert (sent.sent_at - started).total_seconds() >= 0.2


def test_in_process_a_retry_waits_behind_the_other_chunks_not_before_them(
    configured, space, profile, apns_fake, settings, django_capture_on_commit_callbacks
):
    settings.PUSHPORT_DELIVERY_CHUNK_SIZE = 1
    settings.PUSHPORT_RETRY_BASE_SECONDS = 0.4
    settings.PUSHPORT_RETRY_MAX_SECONDS = 0.4
    slow, fast = DeviceFactory.create_batch(2, space=space, profile=profile)
    apns_fake.fail(slow.token, 503, "ServiceUnavailable", times=1)
    message = MessageFactory(space=space, to={"profileId": "alice"})

    with django_capture_on_commit_callbacks(execute=True):
        sending.send(message=message)

    retried, straight = (message.deliveries.get(device=d) for d in (slow, fast))
    assert (retried.status, retried.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert straight.attempts == 1
    assert straight.sent_at < retried.sent_at
    assert (retried.sent_at - straight.sent_at).total_seconds() >= 0.15


def test_in_process_a_distant_retry_is_left_for_reclaim_instead_of_holding_the_request(
    configured, iphone, space, apns_fake, settings
):
    settings.PUSHPORT_RETRY_BASE_SECONDS = 120
    settings.PUSHPORT_RETRY_MAX_SECONDS = 120
    settings.PUSHPORT_INLINE_RETRY_MAX_SECONDS = 30
    apns_fake.fail(iphone.token, 503, "ServiceUnavailable", times=1)
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    started = timezone.now()

    tasks.deliver_chunk([str(message.deliveries.get().pk)])

    waiting = message.deliveries.get()
    assert (timezone.now() - started).total_seconds() < 10
    assert waiting.status == DeliveryStatus.RETRYING
    assert waiting.next_attempt_at > timezone.now() + dt.timedelta(seconds=60)


def test_reclaim_sends_an_overdue_retry_but_not_one_still_in_its_grace(
    configured, iphone, space, apns_fake, settings
):
    settings.PUSHPORT_RETRY_PICKUP_GRACE_SECONDS = 60
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)
    row = message.deliveries.get()
    row.status = DeliveryStatus.RETRYING
    row.next_attempt_at = timezone.now() - dt.timedelta(seconds=10)
    row.save()
    accepted_before = apns_fake.counts.accepted

    assert tasks.reclaim_expired_leases() == 0

    row.next_attempt_at = timezone.now() - dt.timedelta(minutes=5)
    row.save()
    assert tasks.reclaim_expired_leases() == 1
    assert message.deliveries.get().status == DeliveryStatus.DELIVERED
    assert apns_fake.counts.accepted == accepted_before + 1
