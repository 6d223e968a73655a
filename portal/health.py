"""GET /healthz for load balancers and orchestrators: can this process reach what it needs?

The database always; the broker when CELERY_BROKER_URL is configured. The answer names the
checks and whether each passed, never a host, an address or an error text: those go to the log.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

logger = logging.getLogger(__name__)

# A probe that waits longer than this has already given up on us.
BROKER_TIMEOUT_SECONDS = 2.0


def database_ok() -> bool:
    """Whether the default database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health: the database cannot be reached")
        return False
    return True


def broker_ok() -> bool:
    """Whether the Celery broker accepts a connection, within BROKER_TIMEOUT_SECONDS."""
    try:
        with Connection(
            settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS
        ) as broker:
            # One retry at once: a probe must not sleep through kombu's default back-off.
            broker.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
    except Exception:
        # Any failure (refused, timed out, bad credentials) means workers get no tasks.
        logger.exception("health: the broker cannot be reached")
        return False
    return True


def run_checks() -> dict[str, bool]:
    """Each configured check by name, and whether it passed."""
    checks = {"database": database_ok()}
    # Without a broker tasks run in process: there is nothing else to reach.
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = broker_ok()
    return checks


@never_cache
@require_safe
def healthz(request):
    """200 when every check passes, 503 naming the failed ones otherwise; no sign-in needed."""
    checks = run_checks()
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "failing",
        "checks": {name: "ok" if passed else "failed" for name, passed in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)
