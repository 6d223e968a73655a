"""Celery tasks of the delivery engine: chunks of deliveries, and the sweep.

A queued chunk is only a hint to start early: the rows in the database say what is left to
send, and the sweep (beat, or the embedded scheduler without a broker) queues whatever is due
that no hint reached. Without a broker, tasks run in the calling thread.
"""

import logging
from collections.abc import Sequence

from celery import shared_task
from django.conf import settings

from . import delivery

logger = logging.getLogger(__name__)


def enqueue_chunks(delivery_ids: Sequence[str], stored: Sequence | None = None) -> None:
    """Queue the deliveries in chunks of PUSHPORT_DELIVERY_CHUNK_SIZE (run here, no broker).

    `stored`: the delivery.Claimed.stored() of these ids, in order, when the caller has just
    stored them; sent here, they are claimed without being read back.
    """
    size = settings.PUSHPORT_DELIVERY_CHUNK_SIZE
    # Celery's own word on whether tasks run here (no broker): it is what apply_async obeys.
    here = stored is not None and deliver_chunk.app.conf.task_always_eager
    for start in range(0, len(delivery_ids), size):
        ids = list(delivery_ids[start : start + size])
        if here:
            delivery.deliver_chunk(delivery_ids=ids, stored=list(stored[start : start + size]))
        else:
            deliver_chunk.apply_async((ids,))


def enqueue_or_leave(delivery_ids: Sequence[str], stored: Sequence | None = None) -> None:
    """enqueue_chunks(), or leave the rows to the sweeper when queuing fails.

    Called after a commit: the rows are stored, so a broker that is down, or a send in process
    that fails, delays them and never turns a stored send into an error.
    """
    if not delivery_ids:
        return
    try:
        enqueue_chunks(delivery_ids, stored)
    except Exception:
        logger.exception(
            "could not queue %d deliveries; the sweeper will send them", len(delivery_ids)
        )


@shared_task(name="channels_app.tasks.deliver_chunk")
def deliver_chunk(delivery_ids: list[str]) -> dict:
    """Send one chunk; its retries are queued by the sweep when due."""
    return dict(delivery.deliver_chunk(delivery_ids=delivery_ids))


@shared_task(name="channels_app.tasks.sweep")
def sweep() -> dict:
    """Reclaim expired leases and queue what is due that nobody holds; the counts by kind."""
    report = delivery.sweep()
    enqueue_or_leave(report.queued)
    return report.counts()


# Celery autodiscovers only `tasks` modules: this registers the campaign, webhook and bounce
# tasks.
from . import bounce_tasks, campaign_tasks, webhook_tasks  # noqa: E402, F401
