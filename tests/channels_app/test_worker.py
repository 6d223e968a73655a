"""A real Celery worker process, fed through Redis, sending to the fakes over real sockets."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import current_app
from django.core.management import call_command
from django.db import connections, transaction
from django.db.utils import load_backend

from channels_app import sending
from channels_app.models import Delivery, DeliveryStatus, MessageStatus, Platform
from tests.factories import (
    ApiSpaceFactory,
    ApnsTokenCredentialFactory,
    DeviceFactory,
    FcmCredentialFactory,
    MessageFactory,
    ProfileFactory,
)
from tests.services import redis_url

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from portal.celery import app
app.conf.task_default_queue = sys.argv[1]
# -B: beat in the same process runs the sweep, which sends retries when due.
app.worker_main(
    ["worker", "--pool=solo", "--loglevel=INFO", "-Q", sys.argv[1], "-B", "-s", sys.argv[2]]
)
"""

SQLITE = connections["default"].vendor == "sqlite"
# On SQLite the test database lives in this process's memory; see shared_database.
pytestmark = [pytest.mark.services] + ([] if SQLITE else [pytest.mark.django_db(transaction=True)])


def _postgres_url(db: dict) -> str:
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def shared_database(django_db_blocker, tmp_path):
    """A database the worker process opens too, as a DATABASE_URL.

    PostgreSQL: the test database, with committed (transactional) test data. SQLite: the
    test database lives in this process's memory, so this test runs on a migrated file.
    """
    if not SQLITE:
        yield _postgres_url(connections["default"].settings_dict)
        return
    original = connections["default"]
    settings_dict = {**original.settings_dict, "NAME": str(tmp_path / "worker.sqlite3")}
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    connections["default"] = wrapper
    try:
        with django_db_blocker.unblock():
            call_command("migrate", verbosity=0)
            yield f"sqlite:///{settings_dict['NAME']}"
    finally:
        wrapper.close()
        connections["default"] = original


@pytest.fixture
def broker(settings):
    """Celery in this process publishes to Redis on a queue of this test's own."""
    url = redis_url()
    queue = f"pushport-test-{uuid.uuid4().hex[:8]}"
    conf = current_app.conf
    saved = {k: conf[k] for k in ("task_always_eager", "broker_url", "task_default_queue")}
    conf.update(task_always_eager=False, broker_url=url, task_default_queue=queue)
    _forget_publisher()
    yield url, queue
    conf.update(saved)
    _forget_publisher()


def _forget_publisher():
    """Drop the connection pool and the routing Celery cached from the previous settings."""
    current_app.close()
    current_app.__dict__.pop("amqp", None)


@pytest.fixture
def worker(shared_database, broker, apns_fake, fcm_fake, settings, tmp_path):
    """`celery worker` in a subprocess with this test's database, broker and fakes."""
    url, queue = broker
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": shared_database,
        "CELERY_BROKER_URL": url,
        "SECRET_KEY": settings.SECRET_KEY,
        "PUSHPORT_ENCRYPTION_KEYS": ",".join(settings.PUSHPORT_ENCRYPTION_KEYS),
        "PUSHPORT_APNS_PRODUCTION_HOST": settings.PUSHPORT_APNS_PRODUCTION_HOST,
        "PUSHPORT_APNS_SANDBOX_HOST": settings.PUSHPORT_APNS_SANDBOX_HOST,
        "PUSHPORT_FCM_BASE_URL": settings.PUSHPORT_FCM_BASE_URL,
        "PUSHPORT_PROVIDER_CA_BUNDLE": settings.PUSHPORT_PROVIDER_CA_BUNDLE,
        "PUSHPORT_RETRY_BASE_SECONDS": "0.2",
        "PUSHPORT_RETRY_MAX_SECONDS": "0.5",
        "PUSHPORT_DELIVERY_CHUNK_SIZE": "2",
        "PUSHPORT_SWEEP_INTERVAL_SECONDS": "0.5",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, queue, str(tmp_path / "beat-schedule")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def wait_until(predicate, *, timeout: float, process, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    pytest.fail(f"the worker did not finish in {timeout}s:\n{log.read_text()[-4000:]}")


def test_a_worker_process_delivers_a_send_through_redis_to_the_fakes(
    worker, apns_fake, fcm_fake, tmp_path, settings
):
    settings.PUSHPORT_DELIVERY_CHUNK_SIZE = 2
    space = ApiSpaceFactory()
    apns = ApnsTokenCredentialFactory(space=space)
    apns_fake.register_key(
        key_id=apns.key_id,
        team_id=apns.team_id,
        private_or_public_key=apns.key_p8,
        topics=[apns.bundle_id],
    )
    account = fcm_fake.service_account(project_id="pushport-worker")
    FcmCredentialFactory(
        space=space,
        project_id=account["project_id"],
        client_email=account["client_email"],
        service_account_json=json.dumps(account),
    )
    profile = ProfileFactory(space=space, profile_id="alice")
    phones = DeviceFactory.create_batch(3, space=space, profile=profile, platform=Platform.IOS)
    tablet = DeviceFactory(space=space, profile=profile, platform=Platform.ANDROID)
    apns_fake.fail(phones[0].token, 503, "ServiceUnavailable", times=1)
    message = MessageFactory(space=space, to={"profileId": "alice"})

    with transaction.atomic():
        sending.send(message=message)

    def settled():
        message.refresh_from_db()
        return message.status != MessageStatus.PROCESSING

    wait_until(settled, timeout=60, process=worker, log=tmp_path / "worker.log")
    deliveries = {d.device_id: d for d in Delivery.objects.filter(message=message)}
    assert message.status == MessageStatus.SENT
    assert {d.status for d in deliveries.values()} == {DeliveryStatus.DELIVERED}
    assert deliveries[phones[0].pk].attempts == 2
    assert sorted(n.token for n in apns_fake.notifications) == sorted(p.token for p in phones)
    assert len(fcm_fake.messages_for(tablet.token)) == 1
    assert worker.poll() is None
