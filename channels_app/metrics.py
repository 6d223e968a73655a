"""Prometheus metrics of the delivery engine: what it sent, how fast providers answered, and
what is waiting or stuck, read from the database at scrape time.

The engine calls record_outcomes() and observe_provider_latency(); /metrics calls exposition().
Counters and histograms live in the process that counts them: with several processes (gunicorn
workers, Celery workers) each exposes its own, unless PROMETHEUS_MULTIPROC_DIR names a directory
they share, where prometheus_client keeps one file per process and a scrape sums them all.
"""

import datetime as dt
import functools
import logging
import os
import socket
from collections.abc import Iterator, Mapping

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import tracking
from .models import Delivery
from .tracking import QUEUED

logger = logging.getLogger(__name__)


def _process_identifier() -> str:
    return f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"


if settings.PROMETHEUS_MULTIPROC_DIR:
    # The web and the Celery workers may share the directory from different containers, where
    # pids repeat: each process's files are named by host name and pid instead of pid alone.
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)

DELIVERIES = Counter(
    "pushport_deliveries",
    "Delivery outcomes recorded by the engine, by platform and outcome.",
    ["platform", "outcome"],
)
PROVIDER_REQUEST_SECONDS = Histogram(
    "pushport_provider_request_seconds",
    "Time from sending one request to a provider (APNs, FCM) to its answer.",
    ["platform"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def record_outcomes(platform: str, outcomes: Mapping[str, int]) -> None:
    """Count a group of recorded outcomes of one platform, e.g. {"delivered": 480, "retry": 2}."""
    for outcome, count in outcomes.items():
        if count:
            DELIVERIES.labels(platform, str(outcome)).inc(count)


def observe_provider_latency(platform: str, seconds: float) -> None:
    """Record how long one provider request took to be answered."""
    _latency(platform).observe(seconds)


@functools.cache
def _latency(platform: str) -> Histogram:
    # Looked up once per platform, not per answer: labels() hashes and locks every time.
    return PROVIDER_REQUEST_SECONDS.labels(platform)


class QueueCollector(Collector):
    """Gauges read from the database when scraped, so every process reports the same truth."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "pushport_queue_metrics_up", "1 when the queue gauges could be read from the database."
        )
        try:
            depth, stuck = self._read(timezone.now())
        except DatabaseError:
            logger.exception("queue metrics: the database could not be read")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield depth
        yield stuck

    @staticmethod
    def _read(now: dt.datetime) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        counts = dict(
            Delivery.objects.filter(status__in=QUEUED)
            .values("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        depth = GaugeMetricFamily(
            "pushport_delivery_queue_depth",
            "Deliveries waiting to be sent (pending) or sent again (retrying).",
            labels=["status"],
        )
        for status in QUEUED:
            depth.add_metric([status.value], counts.get(status.value, 0))
        stuck = GaugeMetricFamily(
            "pushport_deliveries_stuck",
            "Deliveries nobody is moving: a sending row whose lease expired (lease_expired), or a "
            "pending or retrying row whose sweep time passed over 5 minutes ago (sweep_overdue).",
            labels=["reason"],
        )
        for kind, condition in tracking.stuck(now).items():
            stuck.add_metric([kind], Delivery.objects.filter(condition).count())
        return depth, stuck


class _ThisProcess(Collector):
    """Everything registered in this process's default registry (ours, process, GC)."""

    def collect(self):
        return REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """The registry one scrape renders: the counters (this process's or every process's) and
    the queue gauges."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ThisProcess())
    registry.register(QueueCollector())
    return registry


def exposition() -> tuple[bytes, str]:
    """The text a scrape answers, and its content type."""
    return generate_latest(scrape_registry()), CONTENT_TYPE_LATEST
