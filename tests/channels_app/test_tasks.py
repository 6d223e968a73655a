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

    assert out.getvalue().strip() == "Reclaimed 1 deliveries with expired leases."
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
