"""Daphne processes serving the ASGI application (HTTP and App Messaging's WebSocket) on this
test's database, for tests that need real sockets: pytest-django's live_server speaks WSGI only.

Registered as a pytest plugin by tests/conftest.py. The database comes from shared_database
(tests/channels_app/processes.py): on SQLite the test database lives in this process's memory.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AsgiServer:
    """One `daphne portal.asgi:application` process on 127.0.0.1 and a free port."""

    def __init__(self, *, env: dict, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = log_path
        arguments = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [*arguments, "portal.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"daphne exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"daphne did not listen within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def asgi_server(shared_database, settings, tmp_path):
    """start(**env) -> AsgiServer with this test's database, keys and settings; `env` adds or
    overrides environment variables (PUSHPORT_CHANNEL_LAYER_URL, ...). All stop at the end."""
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": shared_database,
        "SECRET_KEY": settings.SECRET_KEY,
        "PUSHPORT_ENCRYPTION_KEYS": ",".join(settings.PUSHPORT_ENCRYPTION_KEYS),
        "PUSHPORT_SESSION_TOKEN_KEY": settings.PUSHPORT_SESSION_TOKEN_KEY,
        # The test owns the database: no sweeper of the server's own writes to it.
        "PUSHPORT_EMBEDDED_SCHEDULER": "false",
    }
    started: list[AsgiServer] = []

    def start(**env) -> AsgiServer:
        name = f"daphne-{len(started)}.log"
        server = AsgiServer(
            env={**base_env, **{key: str(value) for key, value in env.items()}},
            log_path=tmp_path / name,
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
