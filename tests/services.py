"""Tests that need an outside service skip without it, unless PUSHPORT_REQUIRE_SERVICES=1."""

import os
import shutil
import socket
import subprocess

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


CHROMIUM = "/usr/bin/chromium"


def _apt_install(package: str, *, timeout: float = 900) -> str | None:
    """Install a Debian package with apt-get; None when it worked, else why not."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not running as root, so apt-get cannot install it"
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", package]):
        try:
            result = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` took more than {timeout:.0f} s"
        if result.returncode != 0:
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            return f"`{' '.join(command)}` failed: {' '.join(last) or result.returncode}"
    return None


def chromium_binary() -> str:
    """Debian's Chromium for the browser tests, installed with apt-get when missing (as root).

    PUSHPORT_TEST_CHROMIUM names another binary (a missing path shows the skip); apt-get is
    tried only for the default path, which is where Debian's package puts it.
    """
    path = os.environ.get("PUSHPORT_TEST_CHROMIUM", CHROMIUM)
    if os.access(path, os.X_OK):
        return path
    reason = f"{path} is missing"
    if path == CHROMIUM:
        failed = _apt_install("chromium")
        if failed is None and os.access(path, os.X_OK):
            return path
        reason += f" and installing Debian's chromium did not work: {failed or 'no binary'}"
    unavailable(f"{reason} (needed for the browser walk of the portal)")
    return path
