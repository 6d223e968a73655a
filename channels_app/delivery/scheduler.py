"""The embedded scheduler: without a broker, a server sweeps in a thread of its own.

With Celery, beat runs the sweep task. Without a broker (the embedded default) nothing else
would: so the first request a server process handles starts a daemon thread that sweeps every
PUSHPORT_SWEEP_INTERVAL_SECONDS, sending retries when due and whatever a crash left behind.
The request that stored a send makes only the first attempt; it never sleeps for a retry.
Management commands start no thread (they serve no request); `manage.py reclaim_leases`
sweeps once, for cron.
"""

import logging
import os
import threading
import time

from celery import current_app
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_started_in = 0  # the pid whose thread runs; a forked child starts its own


def wanted() -> bool:
    """Whether this process should sweep by itself: no broker, and the setting allows it."""
    return settings.PUSHPORT_EMBEDDED_SCHEDULER and bool(current_app.conf.task_always_eager)


def ensure_started(**_signal) -> bool:
    """Start the sweeping thread once per process when wanted(); whether it runs now."""
    global _started_in
    pid = os.getpid()
    if _started_in == pid:
        return True
    if not wanted():
        return False
    with _lock:
        if _started_in != pid:
            threading.Thread(target=_sweep_forever, name="pushport-sweeper", daemon=True).start()
            _started_in = pid
    return True


def _at_most_every(seconds: float, step):
    """`step`, run when called only if `seconds` passed since it last ran (or never did)."""
    last = None

    def run() -> None:
        nonlocal last
        now = time.monotonic()
        if last is None or now - last >= seconds:
            last = now
            step()

    return run


def _sweep_forever() -> None:
    # tasks imports the engine, which imports this module
    from channels_app import bounces, tasks, webhooks

    interval = settings.PUSHPORT_SWEEP_INTERVAL_SECONDS
    steps = (
        tasks.sweep,
        # A few seconds at most, so a slow receiver delays the next sweep only that much.
        lambda: webhooks.deliver_due(budget_seconds=interval),
        lambda: bounces.send_due(budget_seconds=interval),
        tasks.campaign_tasks.run_campaigns,
        _at_most_every(settings.PUSHPORT_WEBHOOK_PRUNE_INTERVAL_SECONDS, webhooks.prune),
        _at_most_every(settings.PUSHPORT_WEBHOOK_PRUNE_INTERVAL_SECONDS, bounces.prune),
    )
    while True:
        time.sleep(interval)
        for step in steps:
            try:
                step()
            except Exception:
                # A database away for a moment, or one step's bug, must neither end sweeping
                # for good nor keep the other steps from running.
                logger.exception("a scheduled step failed; trying again in %.0f s", interval)
            finally:
                close_old_connections()
