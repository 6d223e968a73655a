"""SQLite under concurrent SDK calls: writers wait for the lock instead of failing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def run_writers(tmp_path, *, threads=6, rounds=8, extra_env=None) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'pushport.sqlite3'}",
        "LOG_LEVEL": "ERROR",
        "DEBUG": "true",
        **(extra_env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.portal.sqlite_writers", str(threads), str(rounds)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="the suite runs against another database",
)
def test_concurrent_push_registrations_and_profile_writes_all_succeed(tmp_path):
    statuses = run_writers(tmp_path)
    assert set(statuses) <= {"200", "204"}, statuses
    assert sum(statuses.values()) == 6 * 8 * 3


def test_sqlite_transactions_take_the_write_lock_when_they_begin():
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        assert options["transaction_mode"] == "IMMEDIATE"
        assert options["timeout"] >= 5
