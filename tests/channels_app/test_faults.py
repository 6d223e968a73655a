"""Nothing lost, nothing twice: real Celery worker processes through Redis (or a web process
sending without a broker), the fakes injecting faults and counting every device token, the
engine killed and starved in the ways an operator meets in production.

Each test sends one message to a crowd of devices and asserts, per token, that the provider
accepted it exactly once, or (where a process is killed or a connection dropped mid-send) at
most the requests that were in flight more than once, and that nothing is left unsent.
"""

import subprocess
import sys
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from django.db import transaction

from channels_app import sending, tasks
from channels_app.models import Delivery, DeliveryStatus, Device, Message, MessageStatus, Platform
from tests.channels_app.processes import ROOT, SQLITE, Broker, trusted_space
from tests.factories import (
    DeviceFactory,
    ProfileFactory,
)

# On SQLite the test database lives in this process's memory; see shared_database.
pytestmark = [pytest.mark.services] + ([] if SQLITE else [pytest.mark.django_db(transaction=True)])

PER_PLATFORM = 150
CHUNK = 50
GRACE = 2  # seconds a queued chunk has before the sweeper queues its rows again


@pytest.fixture
def crowd(apns_fake, fcm_fake, settings, shared_database):
    """A space the fakes trust, whose profile "crowd" has PER_PLATFORM devices on each platform."""
    settings.PUSHPORT_DELIVERY_CHUNK_SIZE = CHUNK
    settings.PUSHPORT_DISPATCH_GRACE_SECONDS = GRACE
    space = trusted_space(apns_fake, fcm_fake, response_timeout=10)
    profile = ProfileFactory(space=space, profile_id="crowd")
    devices = [
        DeviceFactory.build(space=space, profile=profile, platform=platform)
        for platform in (Platform.IOS, Platform.ANDROID)
        for _ in range(PER_PLATFORM)
    ]
    Device.objects.bulk_create(devices)
    return SimpleNamespace(space=space, tokens={d.token for d in devices})


def worker_env(**values) -> dict:
    """Settings of the worker processes: short grace, as in this test process."""
    return {
        "PUSHPORT_DELIVERY_CHUNK_SIZE": CHUNK,
        "PUSHPORT_DISPATCH_GRACE_SECONDS": GRACE,
        **values,
    }


def send(space) -> Message:
    """Store a message to the crowd; its chunks are queued when the transaction commits."""
    message = Message(space=space, to={"profileId": "crowd"}, title="Hello", body="crowd")
    with transaction.atomic():
        sending.submit_batch(space=space, messages=[message])
    return message


def accepted(*fakes) -> Counter:
    """How many times each token was accepted, over every fake."""
    counts = Counter()
    for fake in fakes:
        counts.update(fake.accepted_by_token())
    return counts


def settled(message: Message):
    def check() -> bool:
        message.refresh_from_db()
        return message.status != MessageStatus.PROCESSING

    return check


def assert_all_delivered(message: Message, *, most_attempts: int) -> None:
    rows = Delivery.objects.filter(message=message)
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert rows.count() == 2 * PER_PLATFORM
    assert max(rows.values_list("attempts", flat=True)) <= most_attempts
    assert message.status == MessageStatus.SENT


def test_a_worker_killed_mid_send_resends_at_most_what_it_had_in_flight(
    broker, make_workers, crowd, apns_fake, fcm_fake
):
    # Answers take a while, so the victim surely dies with requests in flight.
    apns_fake.hold_answers(0.4)
    fcm_fake.hold_answers(0.4)
    workers = make_workers(broker)
    workers.start(beat=True, **worker_env(PUSHPORT_DELIVERY_LEASE_SECONDS=2))
    victim = workers.start(**worker_env(PUSHPORT_DELIVERY_LEASE_SECONDS=2))

    message = send(crowd.space)
    workers.wait_until(
        lambda: sum(accepted(apns_fake, fcm_fake).values()) >= 0.3 * len(crowd.tokens),
        timeout=60,
        what="30% of the send",
    )
    workers.kill(victim)
    workers.wait_until(settled(message), timeout=60, what="the send settling")

    counts = accepted(apns_fake, fcm_fake)
    assert set(counts) == crowd.tokens
    twice = [token for token, n in counts.items() if n > 1]
    # One chunk is all a solo worker has in flight; answers are recorded as they arrive.
    assert len(twice) <= CHUNK and max(counts.values()) <= 2
    assert_all_delivered(message, most_attempts=2)


def test_a_broker_restarted_empty_mid_send_loses_nothing_and_sends_nothing_twice(
    private_broker, private_redis, make_workers, crowd, apns_fake, fcm_fake
):
    apns_fake.hold_answers(0.2)
    fcm_fake.hold_answers(0.2)
    workers = make_workers(private_broker)
    workers.start(beat=True, **worker_env())
    workers.start(**worker_env())

    message = send(crowd.space)
    workers.wait_until(
        lambda: sum(accepted(apns_fake, fcm_fake).values()) >= 0.3 * len(crowd.tokens),
        timeout=60,
        what="30% of the send",
    )
    private_redis.restart_empty()  # every queued chunk is gone
    workers.wait_until(settled(message), timeout=90, what="the send settling")

    counts = accepted(apns_fake, fcm_fake)
    assert set(counts) == crowd.tokens
    assert set(counts.values()) == {1}
    assert_all_delivered(message, most_attempts=1)


WEB = """
import os, sys
import django
django.setup()
from django.db import transaction
from channels_app import sending
from channels_app.models import Message
from portal.models import ApiSpace

space = ApiSpace.objects.get(pk=sys.argv[1])
message = Message(space=space, to={"profileId": "crowd"}, title="Hello", body="crowd")
with transaction.atomic():
    # Registered first, so it runs first on commit: the process dies before its chunks are queued.
    transaction.on_commit(lambda: os._exit(9))
    sending.submit_batch(space=space, messages=[message], idempotency_keys=["order-1"])
"""


def killed_after_commit(workers, space) -> Message:
    """A web process stores the send, commits, and dies before queuing anything."""
    web = subprocess.run(
        [sys.executable, "-c", WEB, str(space.pk)],
        cwd=ROOT,
        env={**workers.env, **{k: str(v) for k, v in worker_env().items()}},
        capture_output=True,
        timeout=60,
    )
    assert web.returncode == 9, web.stderr.decode()[-3000:]
    message = Message.objects.get(space=space, idempotency_key="order-1")
    assert set(message.deliveries.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    return message


def test_a_web_process_killed_between_commit_and_enqueue_loses_nothing(
    broker, make_workers, crowd, apns_fake, fcm_fake
):
    workers = make_workers(broker)
    workers.start(beat=True, **worker_env())

    message = killed_after_commit(workers, crowd.space)
    workers.wait_until(settled(message), timeout=60, what="the sweeper sending the send")

    counts = accepted(apns_fake, fcm_fake)
    assert set(counts) == crowd.tokens and set(counts.values()) == {1}
    assert_all_delivered(message, most_attempts=1)


def test_an_idempotent_replay_of_a_send_whose_process_died_sends_it_now(
    broker, make_workers, crowd, apns_fake, fcm_fake, settings
):
    # No sweeper would look for an hour: only the replay can send it in time.
    settings.PUSHPORT_DISPATCH_GRACE_SECONDS = 3600
    workers = make_workers(broker)
    workers.start(**worker_env(PUSHPORT_DISPATCH_GRACE_SECONDS=3600))
    message = killed_after_commit(workers, crowd.space)
    started = time.monotonic()

    again = Message(space=crowd.space, to={"profileId": "crowd"}, title="Hello", body="crowd")
    replayed, created = sending.submit_batch(
        space=crowd.space, messages=[again], idempotency_keys=["order-1"]
    )

    assert ([m.pk for m in replayed], created) == ([message.pk], False)
    workers.wait_until(settled(message), timeout=60, what="the replayed send settling")
    assert time.monotonic() - started < 60
    counts = accepted(apns_fake, fcm_fake)
    assert set(counts) == crowd.tokens and set(counts.values()) == {1}
    assert_all_delivered(message, most_attempts=1)


SENDING_HERE = """
import sys
import django
django.setup()
from django.db import transaction
from channels_app import sending
from channels_app.models import Message
from portal.models import ApiSpace

space = ApiSpace.objects.get(pk=sys.argv[1])
message = Message(space=space, to={"profileId": "crowd"}, title="Hello", body="crowd")
with transaction.atomic():  # without a broker, this process sends it once this commits
    sending.submit_batch(space=space, messages=[message])
"""


def test_a_web_process_without_a_broker_killed_mid_send_resends_at_most_what_was_in_flight(
    make_workers, crowd, apns_fake, fcm_fake, settings
):
    apns_fake.hold_answers(0.4)
    fcm_fake.hold_answers(0.4)
    settings.PUSHPORT_DELIVERY_LEASE_SECONDS = 2
    workers = make_workers(Broker(""))  # their settings, for a web process with no broker
    web = subprocess.Popen(
        [sys.executable, "-c", SENDING_HERE, str(crowd.space.pk)],
        cwd=ROOT,
        env={
            **workers.env,
            **{k: str(v) for k, v in worker_env(PUSHPORT_DELIVERY_LEASE_SECONDS=2).items()},
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    workers.wait_until(
        lambda: sum(accepted(apns_fake, fcm_fake).values()) >= 0.3 * len(crowd.tokens),
        timeout=60,
        what="30% of the send",
    )
    web.kill()
    web.wait()
    message = Message.objects.get(space=crowd.space)
    left = message.deliveries.exclude(status=DeliveryStatus.DELIVERED)
    assert left.filter(status=DeliveryStatus.SENDING).exists()  # it died holding a chunk

    # Any server's embedded sweep: here, this process's.
    def swept() -> bool:
        tasks.sweep()
        return settled(message)()

    workers.wait_until(swept, timeout=60, what="the sweep finishing the send")

    counts = accepted(apns_fake, fcm_fake)
    assert set(counts) == crowd.tokens
    twice = [token for token, n in counts.items() if n > 1]
    # The request sends one chunk at a time, recording answers as they arrive.
    assert len(twice) <= CHUNK and max(counts.values()) <= 2
    assert_all_delivered(message, most_attempts=2)


def test_a_provider_slower_than_the_lease_gets_each_request_once(
    broker, make_workers, crowd, apns_fake, fcm_fake
):
    # FCM answers after 2 s; a lease lasts 1 s, so only renewals keep the rows.
    fcm_fake.hold_answers(2.0)
    workers = make_workers(broker)
    workers.start(beat=True, **worker_env(PUSHPORT_DELIVERY_LEASE_SECONDS=1))
    workers.start(**worker_env(PUSHPORT_DELIVERY_LEASE_SECONDS=1))

    message = send(crowd.space)
    workers.wait_until(settled(message), timeout=90, what="the send settling")

    counts = accepted(apns_fake, fcm_fake)
    assert set(counts) == crowd.tokens and set(counts.values()) == {1}
    assert_all_delivered(message, most_attempts=1)


def test_goaway_and_dropped_connections_lose_nothing_and_refused_streams_cost_no_attempt(
    broker, make_workers, crowd, apns_fake, fcm_fake, settings
):
    # Small chunks: the send lasts long enough for several of each fault.
    chunk = settings.PUSHPORT_DELIVERY_CHUNK_SIZE = 10
    for fake in (apns_fake, fcm_fake):
        fake.hold_answers(0.1)
    # As an operator met it: GOAWAY every half second, a connection drop every second.
    fcm_fake.goaway_every(0.5)
    apns_fake.goaway_every(0.5)
    apns_fake.drop_every(1.0)
    workers = make_workers(broker)
    workers.start(beat=True, **worker_env(PUSHPORT_DELIVERY_CHUNK_SIZE=chunk))
    workers.start(**worker_env(PUSHPORT_DELIVERY_CHUNK_SIZE=chunk))

    message = send(crowd.space)
    workers.wait_until(settled(message), timeout=90, what="the send settling")

    assert set(accepted(apns_fake, fcm_fake)) == crowd.tokens
    assert fcm_fake.counts.goaways and apns_fake.counts.goaways and apns_fake.counts.drops
    # GOAWAY alone (FCM): what the provider processed was answered, the rest went again.
    assert set(fcm_fake.accepted_by_token().values()) == {1}
    # A drop loses the answers of what was in flight (two workers, a chunk each): only
    # those may go twice.
    extra = sum(n - 1 for n in apns_fake.accepted_by_token().values())
    assert extra <= apns_fake.counts.drops * 2 * chunk
    rows = Delivery.objects.filter(message=message)
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    android = rows.filter(platform=Platform.ANDROID)
    assert set(android.values_list("attempts", flat=True)) == {1}
