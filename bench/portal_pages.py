"""Portal pages at scale: each page of a space holding 1,000,000 deliveries, on PostgreSQL.

Creates a throwaway PostgreSQL database, migrates it and fills one space fast with INSERT ...
SELECT generate_series: P profiles with a device each (half iOS, half Android), a session
each, M messages sent to every device (deliveries = P x M, mostly delivered, some failed or
invalid with reasons), the daily counts the engine would have kept, and some deactivated
devices. Then times each page with Django's test client as the space's signed-in owner (the
whole middleware and template stack), best of 3, and prints the milliseconds per page and the
ratio to the API keys page (a trivial page of the same shell) measured in the same run.

    .venv/bin/python bench/portal_pages.py --database-url postgres://postgres@127.0.0.1:5432/bench_portal
        [--deliveries 1000000] [--devices 10000] [--keep]
"""

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from bench import deployment  # noqa: E402
from bench.send_throughput import Database  # noqa: E402

# A page should render "well under a second"; the bench says which ones do not.
TARGET_MS = 250
REPEATS = 3


def _sql_defaults(model, given: dict) -> tuple[list[str], list[str], list]:
    """Columns, SQL expressions and parameters for an INSERT ... SELECT into model's table.

    `given` maps attnames to SQL expressions; every other column gets its field's default as a
    parameter, so the bench keeps working when a column with a default is added to the model.
    """
    from django.db import models

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.attname not in given and isinstance(field, models.AutoField):
            continue  # the sequence numbers it
        columns.append(field.column)
        if field.attname in given:
            expressions.append(given[field.attname])
        else:
            expressions.append("%s")
            value = field.get_default()
            params.append(field.get_db_prep_save(value, connection=_connection()))
    return columns, expressions, params


def _connection():
    from django.db import connection

    return connection


def _insert_select(model, given: dict, source: str, source_params=()) -> int:
    columns, expressions, params = _sql_defaults(model, given)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {source}"
    )
    with _connection().cursor() as cursor:
        cursor.execute(sql, [*params, *source_params])
        return cursor.rowcount


def fill(*, deliveries: int, devices: int):
    """The space, its owner and its data; returns (space, owner)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from channels_app.models import DailyCount, Delivery, Device, Message
    from portal.apikeys import create_api_key
    from portal.models import ApiSpace, Membership, Role
    from sessions_app.models import Profile, Session

    messages = max(deliveries // devices, 1)
    owner = get_user_model().objects.create_user("bench-owner", password=secrets.token_hex(16))
    space = ApiSpace.objects.create(name="Bench")
    Membership.objects.create(user=owner, space=space, role=Role.OWNER)
    for n in range(3):
        create_api_key(space=space, name=f"key {n}")
    now = timezone.now()
    # A literal, as given expressions come before the default columns' parameters.
    at = f"'{now.isoformat()}'::timestamptz"
    space_id = str(space.id).replace("-", "")
    _insert_select(
        Profile,
        {
            "space_id": f"'{space_id}'::uuid",
            "profile_id": "'bench-' || lpad(g::text, 7, '0')",
            "created_at": f"{at} - g * interval '1 minute'",
            "updated_at": at,
        },
        "FROM generate_series(1, %s) AS g",
        [devices],
    )
    _insert_select(
        Session,
        {
            "id": "gen_random_uuid()",
            "space_id": f"'{space_id}'::uuid",
            "profile_id": "p.id",
            "platform": "CASE WHEN p.id %% 2 = 0 THEN 'ios' ELSE 'android' END",
            "created_at": "p.created_at",
            "expires_at": f"{at} + interval '1 day'",
        },
        f"FROM {Profile._meta.db_table} p WHERE p.space_id = %s",
        [space_id],
    )
    _insert_select(
        Device,
        {
            "space_id": f"'{space_id}'::uuid",
            "profile_id": "p.id",
            "platform": "CASE WHEN p.id %% 2 = 0 THEN 'ios' ELSE 'android' END",
            "token": "md5(p.profile_id) || md5('x' || p.profile_id)",
            "environment": "CASE WHEN p.id %% 2 = 0 THEN 'production' ELSE '' END",
            # One in twenty was deactivated by an invalid-token answer.
            "active": "p.id %% 20 <> 0",
            "deactivated_at": f"CASE WHEN p.id %% 20 = 0 THEN {at} END",
            "deactivation_reason": "CASE WHEN p.id %% 20 = 0 THEN 'Unregistered' ELSE '' END",
            "registered_at": "p.created_at",
            "created_at": "p.created_at",
        },
        f"FROM {Profile._meta.db_table} p WHERE p.space_id = %s",
        [space_id],
    )
    # Spread over the last 30 days, newest first.
    spacing = 30 * 24 * 3600 / messages
    Message.objects.bulk_create(
        [
            Message(space=space, title=f"Bench message {n}", body="Hello", status="sent")
            for n in range(messages)
        ]
    )
    with _connection().cursor() as cursor:
        cursor.execute(
            f"UPDATE {Message._meta.db_table} m SET created_at = %s - s.n * %s * interval "
            f"'1 second' FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "
            f"{Message._meta.db_table} WHERE space_id = %s) s WHERE m.id = s.id",
            [now, spacing, space_id],
        )
    status = (
        "CASE WHEN (d.id + hashtext(m.id::text)) %% 50 = 0 THEN 'failed' "
        "WHEN (d.id + hashtext(m.id::text)) %% 50 = 1 OR NOT d.active THEN 'invalid_token' "
        "ELSE 'delivered' END"
    )
    reason = (
        "CASE WHEN (d.id + hashtext(m.id::text)) %% 50 = 0 THEN "
        "(ARRAY['MessageTooBig', 'InternalServerError', 'QUOTA_EXCEEDED'])"
        "[1 + (d.id %% 3)::int] "
        "WHEN (d.id + hashtext(m.id::text)) %% 50 = 1 OR NOT d.active THEN 'Unregistered' "
        "ELSE '' END"
    )
    started = time.perf_counter()
    made = _insert_select(
        Delivery,
        {
            "id": "gen_random_uuid()",
            "message_id": "m.id",
            "device_id": "d.id",
            "platform": "d.platform",
            "status": status,
            "attempts": "1",
            "reason": reason,
            "sweep_after": "m.created_at",
            "created_at": "m.created_at",
            "updated_at": "m.created_at",
            "sent_at": "m.created_at",
        },
        f"FROM {Message._meta.db_table} m CROSS JOIN {Device._meta.db_table} d "
        "WHERE m.space_id = %s AND d.space_id = %s",
        [space_id, space_id],
    )
    print(f"  {made:,} deliveries inserted in {time.perf_counter() - started:.1f} s")
    _insert_select(
        DailyCount,
        {
            "space_id": f"'{space_id}'::uuid",
            "day": "(x.created_at AT TIME ZONE 'UTC')::date",
            "platform": "x.platform",
            "outcome": "x.status",
            "count": "count(*)",
        },
        f"FROM {Delivery._meta.db_table} x JOIN {Message._meta.db_table} m ON m.id = x.message_id "
        "WHERE m.space_id = %s AND x.status IN ('delivered', 'failed', 'invalid_token') "
        "GROUP BY 1, 2, 3, 4",
        [space_id],
    )
    with _connection().cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return space, owner


def pages(space) -> dict[str, str]:
    """The URL of every page timed, by name (the baseline first)."""
    from django.urls import reverse

    from channels_app.models import Delivery, Device, Message
    from sessions_app.models import Profile

    kw = {"space_id": space.id}
    device = Device.objects.filter(space=space).order_by("pk")[Device.objects.count() // 2]
    profile = device.profile
    message = Message.objects.filter(space=space).order_by("-created_at")[5]
    failed_reason = (
        Delivery.objects.filter(message=message, status="failed").values_list("reason", flat=True)[
            :1
        ]
    )[0]
    profiles_of_space = Profile.objects.filter(space=space).order_by("-created_at")
    middle = profiles_of_space[profiles_of_space.count() // 2]
    devices = reverse("space-devices", kwargs=kw)
    messages = reverse("space-messages", kwargs=kw)
    profiles = reverse("space-profiles", kwargs=kw)
    message_url = reverse("space-message", kwargs={**kw, "message_id": message.pk})
    return {
        "API keys (baseline)": reverse("space-api-keys", kwargs=kw),
        "overview": reverse("space-overview", kwargs=kw),
        "devices": devices,
        "devices, last page": f"{devices}?last=1",
        "devices, token prefix": f"{devices}?q={device.token[:10]}",
        "devices, profile id": f"{devices}?q={profile.profile_id}",
        "devices, iOS deactivated": f"{devices}?platform=ios&state=inactive",
        "device page": reverse("space-device", kwargs={**kw, "device_id": device.pk}),
        "profiles": profiles,
        "profiles, search": f"{profiles}?q={middle.profile_id[:10]}",
        "profile page": reverse("space-profile", kwargs={**kw, "profile_pk": profile.pk}),
        "messages": messages,
        "messages, last page": f"{messages}?last=1",
        "message page": message_url,
        "message, failed": f"{message_url}?status=failed",
        "message, failed + reason, last page": f"{message_url}?"
        + urlencode({"status": "failed", "reason": failed_reason, "last": 1}),
        "message, delivered, last page": f"{message_url}?status=delivered&last=1",
    }


def time_pages(space, owner) -> list[tuple[str, float, int]]:
    from django.test import Client

    client = Client()
    client.force_login(owner)
    results = []
    for name, url in pages(space).items():
        best = float("inf")
        for _ in range(REPEATS):
            started = time.perf_counter()
            response = client.get(url)
            best = min(best, time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {url} answered {response.status_code}")
        results.append((name, best * 1000, len(response.content)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_portal")
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("--database-url: this bench runs on PostgreSQL")
    database = Database(args.database_url)
    os.environ.update(
        {
            **deployment.production_environment(database.url),
            "PUSHPORT_EMBEDDED_SCHEDULER": "false",
        }
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"{database.label}: {args.deliveries:,} deliveries to {args.devices:,} devices")
        started = time.perf_counter()
        space, owner = fill(deliveries=args.deliveries, devices=args.devices)
        print(f"  filled in {time.perf_counter() - started:.1f} s\n")
        results = time_pages(space, owner)
        baseline = results[0][1]
        print(f"{'page':40} {'ms':>8} {'x baseline':>11}")
        slow = []
        for name, ms, _size in results:
            print(f"{name:40} {ms:8.1f} {ms / baseline:11.1f}")
            if ms > TARGET_MS:
                slow.append(name)
        print(
            f"\nslowest: {max(r[1] for r in results):.1f} ms "
            f"(target: every page under {TARGET_MS} ms)"
        )
        if slow:
            print("over the target: " + ", ".join(slow))
            sys.exit(1)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database.drop()


if __name__ == "__main__":
    main()
