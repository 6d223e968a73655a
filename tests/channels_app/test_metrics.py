"""Prometheus metrics: the engine's counters, the queue read at scrape time, and who may scrape."""

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from channels_app import metrics
from channels_app.models import DeliveryStatus
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
TOKEN = "scrape-token-0123456789"


@pytest.fixture
def scraper(client, settings):
    settings.PUSHPORT_METRICS_TOKEN = TOKEN
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return client


def samples(response) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape as {(name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(response, name, **labels) -> float | None:
    return samples(response).get((name, tuple(sorted(labels.items()))))


# Who may scrape


def test_metrics_are_404_while_no_token_is_configured(client, settings):
    settings.PUSHPORT_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", TOKEN, f"Basic {TOKEN}"])
def test_metrics_are_404_without_the_right_bearer_token(client, settings, authorization):
    settings.PUSHPORT_METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    assert client.get("/metrics", **headers).status_code == 404


def test_the_token_holder_gets_the_prometheus_text_format(scraper):
    response = scraper.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]
    assert value(response, "pushport_queue_metrics_up") == 1


# What the engine counts


def test_recorded_outcomes_are_counted_by_platform_and_outcome(scraper):
    before = scraper.get("/metrics")
    metrics.record_outcomes("ios", {"delivered": 3, "retry": 1, "invalid_token": 0})
    metrics.record_outcomes("ios", {"delivered": 2})

    after = scraper.get("/metrics")

    def delta(outcome):
        name, labels = "pushport_deliveries_total", {"platform": "ios", "outcome": outcome}
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert (delta("delivered"), delta("retry"), delta("invalid_token")) == (5, 1, 0)


def test_provider_latency_is_a_histogram_by_platform(scraper):
    before = (
        value(
            scraper.get("/metrics"), "pushport_provider_request_seconds_count", platform="android"
        )
        or 0
    )
    metrics.observe_provider_latency("android", 0.03)
    metrics.observe_provider_latency("android", 7.0)

    after = scraper.get("/metrics")

    assert value(after, "pushport_provider_request_seconds_count", platform="android") == before + 2
    assert (
        value(after, "pushport_provider_request_seconds_bucket", platform="android", le="0.05") >= 1
    )


# The queue, read from the database


def test_queue_depth_and_stuck_deliveries_are_read_at_scrape_time(scraper):
    now = timezone.now()
    long_ago = now - dt.timedelta(minutes=6)
    DeliveryFactory.create_batch(2, status=DeliveryStatus.PENDING)
    DeliveryFactory(status=DeliveryStatus.PENDING, sweep_after=long_ago)
    DeliveryFactory(status=DeliveryStatus.RETRYING, sweep_after=now + dt.timedelta(minutes=1))
    DeliveryFactory(status=DeliveryStatus.RETRYING, sweep_after=now - dt.timedelta(minutes=4))
    DeliveryFactory(status=DeliveryStatus.SENDING, lease_expires_at=now - dt.timedelta(seconds=5))
    DeliveryFactory(status=DeliveryStatus.SENDING, lease_expires_at=now + dt.timedelta(minutes=5))
    DeliveryFactory(status=DeliveryStatus.DELIVERED, sweep_after=long_ago)

    response = scraper.get("/metrics")

    assert value(response, "pushport_delivery_queue_depth", status="pending") == 3
    assert value(response, "pushport_delivery_queue_depth", status="retrying") == 2
    assert value(response, "pushport_deliveries_stuck", reason="lease_expired") == 1
    assert value(response, "pushport_deliveries_stuck", reason="sweep_overdue") == 1


def test_an_empty_queue_reports_zeroes(scraper):
    response = scraper.get("/metrics")
    assert value(response, "pushport_delivery_queue_depth", status="pending") == 0
    assert value(response, "pushport_deliveries_stuck", reason="lease_expired") == 0


# Several processes


def test_with_a_multiprocess_dir_a_scrape_sums_every_process(scraper, settings, tmp_path):
    record = (
        "import django; django.setup(); from channels_app import metrics; "
        "metrics.record_outcomes('ios', {'delivered': 2})"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], cwd=ROOT, env=env, check=True)
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)

    response = scraper.get("/metrics")

    labels = {"platform": "ios", "outcome": "delivered"}
    assert value(response, "pushport_deliveries_total", **labels) == 4
    # Named by host and pid: containers sharing the directory cannot collide on a pid.
    files = sorted(path.name for path in tmp_path.glob("counter_*.db"))
    assert len(files) == 2
    assert all(
        name.startswith(f"counter_{socket.gethostname().replace('_', '-')}-") for name in files
    )
    assert value(response, "pushport_delivery_queue_depth", status="pending") == 0
