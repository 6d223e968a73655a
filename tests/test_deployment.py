"""compose.yaml and the Dockerfile stay true to the code: variables it reads, commands it has."""

import re
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SETTINGS_SOURCE = (ROOT / "portal" / "settings.py").read_text()
README = (ROOT / "README.md").read_text()


def pushport_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in COMPOSE["services"].items()
        if service.get("image") == "pushport"
    }


def test_every_variable_compose_sets_is_read_by_the_settings_and_documented():
    for name in COMPOSE["x-pushport"]["environment"]:
        assert re.search(rf'env\.\w+\(\s*"{name}"', SETTINGS_SOURCE), name
        assert f"| `{name}` |" in README, name


def test_compose_runs_migrate_web_worker_and_beat_from_the_one_image():
    services = pushport_services()
    commands = {name: service["command"] for name, service in services.items()}

    assert commands["migrate"][:3] == ["python", "manage.py", "bootstrap"]
    assert "bootstrap" in get_commands()
    assert commands["web"][:2] == ["gunicorn", "portal.wsgi"]
    assert "0.0.0.0:8000" in commands["web"]
    assert "--preload" in commands["web"]
    assert services["web"]["ports"] == ["8000:8000"]
    assert commands["worker"][:4] == ["celery", "-A", "portal", "worker"]
    assert commands["beat"][:4] == ["celery", "-A", "portal", "beat"]
    assert set(COMPOSE["services"]) == {"postgres", "redis", *services}


def test_compose_points_the_app_at_its_postgres_and_redis():
    env = COMPOSE["x-pushport"]["environment"]
    assert env["DEBUG"] == "false"
    assert (
        env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    )
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["CACHE_URL"].startswith("redis://redis:6379/")


def test_the_web_health_check_probes_the_health_endpoint_exempt_from_https():
    probe = " ".join(pushport_services()["web"]["healthcheck"]["test"])
    assert "http://localhost:8000/healthz" in probe
    assert r"^healthz$" in settings.SECURE_REDIRECT_EXEMPT
    assert COMPOSE["x-pushport"]["environment"]["ALLOWED_HOSTS"].startswith("localhost,")


def test_the_image_installs_the_prod_extra_and_serves_on_port_8000():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -e '.[prod]'" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert '"gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--preload"' in dockerfile
    assert '"gunicorn>=' in (ROOT / "pyproject.toml").read_text()
