"""Real processes around the engine: Celery workers (with beat), a Redis of a test's own that can
be killed and restarted empty, and a database those processes share with the test.

Registered as a pytest plugin by tests/conftest.py; test_worker.py and test_faults.py use it.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import current_app
from django.core.management import call_command
from django.db import connections
from django.db.utils import load_backend

from tests.factories import ApiSpaceFactory, ApnsTokenCredentialFactory, FcmCredentialFactory
from tests.services import redis_server_binary, redis_url

ROOT = Path(__file__).resolve().parents[2]
SQLITE = connections["default"].vendor == "sqlite"
WORKER = """
import sys
from portal.celery import app
app.conf.task_default_queue = sys.argv[1]
arguments = ["worker", "--pool=solo", "--loglevel=INFO", "-Q", sys.argv[1]]
if len(sys.argv) > 2:  # beat in the same process runs the sweep, which sends retries when due
    arguments += ["-B", "-s", sys.argv[2]]
app.worker_main(arguments)
"""


def _postgres_url(db: dict) -> str:
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def shared_database(django_db_blocker, tmp_path):
    """A database the worker processes open too, as a DATABASE_URL.

    PostgreSQL: the test database, with committed (transactional) test data. SQLite: the
    test database lives in this process's memory, so the test runs on a migrated file.
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of one test's own, which keeps nothing on disk: a restart starts empty."""

    def __init__(self, directory: Path):
        self.binary = redis_server_binary()
        self.port = _free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """Kill -9: whatever was queued is gone."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def restart_empty(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path).start()
    yield redis
    redis.kill()


def _use_broker(url: str, queue: str) -> dict:
    conf = current_app.conf
    saved = {k: conf[k] for k in ("task_always_eager", "broker_url", "task_default_queue")}
    conf.update(task_always_eager=False, broker_url=url, task_default_queue=queue)
    _forget_publisher()
    return saved


def _forget_publisher():
    """Drop the connection pool and the routing Celery cached from the previous settings."""
    current_app.close()
    current_app.__dict__.pop("amqp", None)


class Broker:
    """Celery in this process publishes to `url` on a queue of this test's own."""

    def __init__(self, url: str):
        self.url = url
        self.queue = f"pushport-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def broker():
    """The machine's Redis as the broker (a queue of this test's own)."""
    chosen = Broker(redis_url())
    saved = _use_broker(chosen.url, chosen.queue)
    yield chosen
    current_app.conf.update(saved)
    _forget_publisher()


@pytest.fixture
def private_broker(private_redis):
    """A Redis of this test's own as the broker, which the test may kill and restart empty."""
    chosen = Broker(private_redis.url)
    saved = _use_broker(chosen.url, chosen.queue)
    yield chosen
    current_app.conf.update(saved)
    _forget_publisher()


class Workers:
    """`celery worker` processes with this test's database, broker, fakes and settings."""

    def __init__(self, *, database: str, broker: Broker, settings, directory: Path):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker.url,
            "SECRET_KEY": settings.SECRET_KEY,
            "PUSHPORT_ENCRYPTION_KEYS": ",".join(settings.PUSHPORT_ENCRYPTION_KEYS),
            "PUSHPORT_APNS_PRODUCTION_HOST": settings.PUSHPORT_APNS_PRODUCTION_HOST,
            "PUSHPORT_APNS_SANDBOX_HOST": settings.PUSHPORT_APNS_SANDBOX_HOST,
            "PUSHPORT_FCM_BASE_URL": settings.PUSHPORT_FCM_BASE_URL,
            "PUSHPORT_PROVIDER_CA_BUNDLE": settings.PUSHPORT_PROVIDER_CA_BUNDLE,
            "PUSHPORT_RETRY_BASE_SECONDS": "0.2",
            "PUSHPORT_RETRY_MAX_SECONDS": "0.5",
            "PUSHPORT_SWEEP_INTERVAL_SECONDS": "0.5",
        }
        self.queue = broker.queue
        self.directory = directory
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, *, beat: bool = False, **overrides) -> subprocess.Popen:
        """One more worker process; `beat` runs the sweep in it too. Overrides are env values."""
        number = len(self.processes)
        log_path = self.directory / f"worker-{number}.log"
        arguments = [sys.executable, "-c", WORKER, self.queue]
        if beat:
            arguments.append(str(self.directory / f"beat-schedule-{number}"))
        env = {**self.env, **{key: str(value) for key, value in overrides.items()}}
        with log_path.open("w") as log:
            process = subprocess.Popen(arguments, cwd=ROOT, env=env, stdout=log, stderr=log)
        self.processes.append(process)
        self.logs.append(log_path)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """Kill -9, mid-whatever it was doing."""
        process.send_signal(signal.SIGKILL)
        process.wait()

    def log_tail(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in self.logs)

    def wait_until(self, predicate, *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        pytest.fail(f"{what} did not happen within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def make_workers(shared_database, settings, tmp_path, apns_fake, fcm_fake):
    """Workers(broker) for this test; every process is stopped at the end."""
    made: list[Workers] = []

    def make(broker: Broker) -> Workers:
        workers = Workers(
            database=shared_database, broker=broker, settings=settings, directory=tmp_path
        )
        made.append(workers)
        return workers

    yield make
    for workers in made:
        workers.stop()


def trusted_space(apns_fake, fcm_fake, **credential_fields):
    """A new space with APNs and FCM credentials the fakes accept (plain, for tests whose
    data the worker processes must see committed)."""
    space = ApiSpaceFactory()
    apns = ApnsTokenCredentialFactory(space=space, **credential_fields)
    apns_fake.register_key(
        key_id=apns.key_id,
        team_id=apns.team_id,
        private_or_public_key=apns.key_p8,
        topics=[apns.bundle_id],
    )
    account = fcm_fake.service_account(project_id=f"pushport-{space.pk.hex[:8]}")
    FcmCredentialFactory(
        space=space,
        project_id=account["project_id"],
        client_email=account["client_email"],
        service_account_json=json.dumps(account),
        **credential_fields,
    )
    return space
