"""Celery tasks of the delivery engine: chunks of deliveries, retries and lease reclaim."""

import time
from collections.abc import Sequence

from celery import current_app, shared_task
from django.conf import settings
from django.utils import timezone

from . import delivery


def enqueue_chunks(delivery_ids: Sequence[str], *, countdown: float = 0) -> int:
    """Queue the deliveries in chunks of PUSHPORT_DELIVERY_CHUNK_SIZE; returns how many tasks."""
    size = settings.PUSHPORT_DELIVERY_CHUNK_SIZE
    if countdown > 0 and current_app.conf.task_always_eager:
        # In process there is no scheduler: wait here so a retry still honours its backoff.
        time.sleep(countdown)
        countdown = 0
    chunks = [list(delivery_ids[i : i + size]) for i in range(0, len(delivery_ids), size)]
    for chunk in chunks:
        deliver_chunk.apply_async((chunk,), countdown=countdown or None)
    return len(chunks)


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
    """Send again what workers that died mid-send had claimed."""
    ids = delivery.reclaim_expired_leases()
    enqueue_chunks(ids)
    return len(ids)
