"""Celery tasks of the delivery engine: chunks of deliveries, retries and lease reclaim."""

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Sequence

from celery import current_app, shared_task
from django.conf import settings
from django.utils import timezone

from . import delivery

logger = logging.getLogger(__name__)


def enqueue_chunks(delivery_ids: Sequence[str], *, countdown: float = 0) -> None:
    """Queue the deliveries in chunks of PUSHPORT_DELIVERY_CHUNK_SIZE, after `countdown` s."""
    if current_app.conf.task_always_eager:
        _run_in_process(list(delivery_ids), countdown=countdown)
        return
    for chunk in _chunks(delivery_ids):
        deliver_chunk.apply_async((chunk,), countdown=countdown or None)


def _chunks(delivery_ids: Sequence[str]) -> list[list[str]]:
    size = settings.PUSHPORT_DELIVERY_CHUNK_SIZE
    return [list(delivery_ids[i : i + size]) for i in range(0, len(delivery_ids), size)]


_in_process = threading.local()
_order = itertools.count()  # ties in due time keep the order they were queued in


def _run_in_process(delivery_ids: list[str], *, countdown: float) -> None:
    """No broker: run the chunks here, and their retries once due.

    A retry asked for while chunks run joins this loop's queue instead of sleeping in
    place, so one slow token holds up neither the chunks after it nor other retries.
    """
    if countdown > settings.PUSHPORT_INLINE_RETRY_MAX_SECONDS:
        # Holding a web request for minutes helps nobody: the rows stay retrying, due at
        # next_attempt_at, and reclaim_leases (cron, or beat with a broker) sends them.
        logger.info(
            "left %d deliveries retrying in %.0f s for reclaim_leases", len(delivery_ids), countdown
        )
        return
    queue = getattr(_in_process, "queue", None)
    due = time.monotonic() + countdown
    if queue is not None:
        heapq.heappush(queue, (due, next(_order), delivery_ids))
        return
    _in_process.queue = queue = [(due, next(_order), delivery_ids)]
    try:
        while queue:
            due, _, ids = heapq.heappop(queue)
            time.sleep(max(due - time.monotonic(), 0.0))
            for chunk in _chunks(ids):
                deliver_chunk.apply_async((chunk,))
    finally:
        _in_process.queue = None


@shared_task(name="channels_app.tasks.deliver_chunk")
def deliver_chunk(delivery_ids: list[str]) -> dict:
    """Send one chunk and schedule the retries it asks for."""
    report = delivery.deliver_chunk(delivery_ids=delivery_ids)
    if report.retry_ids:
        wait = (report.retry_at - timezone.now()).total_seconds()
        enqueue_chunks(report.retry_ids, countdown=max(wait, 0.0))
    return dict(report.outcomes)


@shared_task(name="channels_app.tasks.reclaim_expired_leases")
def reclaim_expired_leases() -> int:
    """Send again what workers that died mid-send had claimed, and retries left overdue."""
    ids = delivery.reclaim_expired_leases() + delivery.overdue_retries()
    enqueue_chunks(ids)
    return len(ids)
