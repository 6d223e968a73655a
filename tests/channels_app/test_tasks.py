"""Celery tasks, the sweep and the reclaim command, run in process against the fakes."""

import datetime as dt
import io
import time

import pytest
from celery import current_app
from django.core.management import call_command
from django.utils import timezone

from channels_app import delivery, sending, tasks
from channels_app.models import Delivery, DeliveryStatus, MessageStatus
from channels_app.tracking import message_counts
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def stored_send(space) -> tuple:
    """A send stored as the API stores it, whose chunks were never queued (a dead process)."""
    message = MessageFactory(space=space, to={"profileId": "alice"})
    sending.send(message=message)  # queued on commit, which this test's transaction never does
    return message, list(message.deliveries.values_list("id", flat=True))


def test_the_sweep_is_scheduled_on_beat(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["sweep-deliveries"]

    assert schedule["task"] == tasks.sweep.name
    assert schedule["schedule"] == settings.PUSHPORT_SWEEP_INTERVAL_SECONDS
    assert tasks.sweep.name in current_app.tasks


def test_the_command_reclaims_an_expired_lease_and_delivers_it(
    configured, iphone, space, apns_fake
):
    message, ids = stored_send(space)
    delivery.claim(delivery_ids=ids, now=timezone.now() - dt.timedelta(hours=1))
    out = io.StringIO()

    call_command("reclaim_leases", stdout=out)

    assert out.getvalue().strip() == "reclaimed=1 gave_up=0 queued=1"
    assert message.deliveries.get().status == DeliveryStatus.DELIVERED
    assert apns_fake.counts.accepted == 1


def test_a_lease_still_running_is_left_alone(configured, iphone, space, apns_fake):
    message, ids = stored_send(space)
    delivery.claim(delivery_ids=ids, now=timezone.now())

    assert tasks.sweep() == {"reclaimed": 0, "gave_up": 0, "queued": 0}

    assert message.deliveries.get().status == DeliveryStatus.SENDING
    assert apns_fake.counts.requests == 0


def test_a_stored_send_whose_chunks_were_never_queued_is_sent_after_the_grace(
    configured, iphone, pixel, space, apns_fake, fcm_fake, settings
):
    message, _ = stored_send(space)

    assert tasks.sweep()["queued"] == 0  # its chunks may still be on their way

    Delivery.objects.update(sweep_after=timezone.now())  # the grace is over
    assert tasks.sweep()["queued"] == 2
    assert set(message.deliveries.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert apns_fake.counts.accepted == 1 and len(fcm_fake.messages_for(pixel.token)) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_row_is_queued_once_per_grace_not_on_every_sweep(space, iphone, monkeypatch, settings):
    settings.PUSHPORT_DISPATCH_GRACE_SECONDS = 60
    queued = []
    monkeypatch.setattr(tasks, "enqueue_chunks", lambda ids, stored=None: queued.append(ids))
    _, ids = stored_send(space)
    Delivery.objects.update(sweep_after=timezone.now())

    tasks.sweep()
    tasks.sweep()

    assert queued == [[str(pk) for pk in ids]]
    later = timezone.now() + dt.timedelta(seconds=61)
    assert delivery.sweep(now=later).queued == [str(pk) for pk in ids]


def test_a_retry_is_sent_by_the_sweep_once_due_and_not_by_the_first_attempt(
    configured, iphone, space, apns_fake, settings, django_capture_on_commit_callbacks
):
    settings.PUSHPORT_RETRY_BASE_SECONDS = 120
    settings.PUSHPORT_RETRY_MAX_SECONDS = 120
    apns_fake.fail(iphone.token, 503, "ServiceUnavailable", times=1)
    message = MessageFactory(space=space, to={"profileId": "alice"})
    started = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        sending.send(message=message)

    waiting = message.deliveries.get()
    assert (timezone.now() - started).total_seconds() < 10  # nothing slept for the retry
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.RETRYING, 1)
    assert waiting.sweep_after == waiting.next_attempt_at > started + dt.timedelta(seconds=60)
    assert tasks.sweep()["queued"] == 0

    assert delivery.sweep(now=waiting.next_attempt_at).queued == [str(waiting.pk)]
    tasks.deliver_chunk([str(waiting.pk)])  # not yet due by the clock: the claim refuses it
    assert message.deliveries.get().status == DeliveryStatus.RETRYING
    Delivery.objects.update(next_attempt_at=timezone.now(), sweep_after=timezone.now())
    tasks.sweep()
    sent = message.deliveries.get()
    assert (sent.status, sent.attempts) == (DeliveryStatus.DELIVERED, 2)


@pytest.mark.parametrize("failing", ["broker", "send in process"])
def test_a_chunk_that_cannot_be_queued_is_left_to_the_sweep_and_the_send_still_commits(
    configured,
    iphone,
    space,
    monkeypatch,
    django_capture_on_commit_callbacks,
    caplog,
    failing,
):
    def down(*args, **options):
        raise ConnectionError("unreachable")

    if failing == "broker":
        monkeypatch.setitem(current_app.conf, "task_always_eager", False)
        monkeypatch.setattr(tasks.deliver_chunk, "apply_async", down)
    else:
        monkeypatch.setattr(delivery, "deliver_chunk", down)
    message = MessageFactory(space=space, to={"profileId": "alice"})

    with django_capture_on_commit_callbacks(execute=True):
        sending.send(message=message)

    assert message.deliveries.get().status == DeliveryStatus.PENDING
    assert "the sweeper will send them" in caplog.text


def test_an_idempotent_replay_of_an_unsent_send_sends_it(
    configured, iphone, space, apns_fake, django_capture_on_commit_callbacks
):
    first = MessageFactory.build(space=space, to={"profileId": "alice"})
    sending.submit(message=first, idempotency_key="order-1")  # stored; never queued

    again = MessageFactory.build(space=space, to={"profileId": "alice"})
    replayed, created = sending.submit(message=again, idempotency_key="order-1")

    assert (replayed.pk, created) == (first.pk, False)
    assert first.deliveries.get().status == DeliveryStatus.DELIVERED
    assert apns_fake.counts.accepted == 1


def test_the_embedded_scheduler_starts_only_without_a_broker_and_when_allowed(settings):
    from channels_app.delivery import scheduler

    settings.PUSHPORT_EMBEDDED_SCHEDULER = False
    assert not scheduler.wanted()
    settings.PUSHPORT_EMBEDDED_SCHEDULER = True
    assert scheduler.wanted() == bool(current_app.conf.task_always_eager)


def test_a_send_whose_worker_died_and_no_sweep_ran_shows_as_stuck(configured, iphone, space):
    message, ids = stored_send(space)
    delivery.claim(delivery_ids=ids, now=timezone.now() - dt.timedelta(hours=1))

    assert message_counts(message)["ios"] == {
        "sent": 0,
        "pending": 1,
        "failed": 0,
        "total": 1,
        "stuck": 1,
        "failures": {},
    }
    tasks.sweep()
    assert message_counts(message)["ios"]["stuck"] == 0


def test_a_step_of_the_embedded_scheduler_that_runs_hourly_runs_once_per_period():
    from channels_app.delivery import scheduler

    ran = []
    step = scheduler._at_most_every(0.2, lambda: ran.append(time.monotonic()))

    step()
    step()  # too soon: skipped
    time.sleep(0.25)
    step()

    assert len(ran) == 2 and ran[1] - ran[0] >= 0.2
