"""Tests that need an outside service skip without it, unless PUSHPORT_REQUIRE_SERVICES=1."""

import os
import shutil
import socket

import pytest


def services_required() -> bool:
    return os.environ.get("PUSHPORT_REQUIRE_SERVICES") == "1"


def unavailable(reason: str):
    """Skip with the reason, or fail when CI requires every service."""
    if services_required():
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def redis_url() -> str:
    """The Redis to use for Celery tests, skipping (or failing) when none answers."""
    url = os.environ.get("PUSHPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=1):
            pass
    except OSError:
        unavailable(f"no Redis at {url} (set PUSHPORT_TEST_REDIS_URL)")
    return url


def node_binary() -> str:
    """The path of node and npm, skipping (or failing) when they are absent."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        unavailable("Node.js and npm are not installed (needed for the SDK test)")
    return node


def redis_server_binary() -> str:
    """The path of redis-server, for tests that kill and restart a broker of their own."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (needed to restart a broker empty)")
    return binary
