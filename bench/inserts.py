"""Does channels_app/rows.py still earn its place? Its executemany inserts against bulk_create.

A send stores its messages and one Delivery row per device in one transaction. This times
both ways of writing the same rows, in the same run, on a throwaway database (a SQLite file
by default, PostgreSQL with --database-url): 1,000 messages (one batch request) and N
deliveries (default 20,000), best of --rounds, and prints the cost per 1,000 rows and the
ratio bulk_create / rows.

    .venv/bin/python bench/inserts.py [-n 20000] [--rounds 5] [--database-url postgres://...]
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from bench import deployment  # noqa: E402
from bench.send_throughput import Database  # noqa: E402


def measure(n: int, rounds: int) -> dict:
    """Best seconds of each way, for messages and for deliveries."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from channels_app import rows
    from channels_app.models import Delivery, Device, Message
    from portal.models import ApiSpace
    from sessions_app.models import Profile

    call_command("migrate", verbosity=0)
    space = ApiSpace.objects.create(name="bench")
    profile = Profile.objects.create(space=space, profile_id="bench")
    Device.objects.bulk_create(
        Device(space=space, profile=profile, platform="ios", token=f"{i:064x}") for i in range(n)
    )
    device_ids = list(Device.objects.values_list("id", flat=True))

    def messages() -> list:
        return [
            Message(space=space, to={"profileId": f"p{i}"}, title="Hi", body="there")
            for i in range(1000)
        ]

    def delivery_rows(message_id) -> list[dict]:
        return [
            {"id": uuid.uuid4(), "message_id": message_id, "device_id": d, "platform": "ios"}
            for d in device_ids
        ]

    def timed(write, build) -> float:
        best = float("inf")
        for _ in range(rounds):
            built = build()
            started = time.perf_counter()
            with transaction.atomic():
                write(built)
            best = min(best, time.perf_counter() - started)
            Delivery.objects.all().delete()
            Message.objects.exclude(pk=anchor.pk).delete()
        return best

    anchor = Message.objects.create(space=space, to={"profileId": "bench"})
    return {
        "messages": {
            "rows": timed(lambda m: rows.inserting(m).run(), messages),
            "bulk_create": timed(Message.objects.bulk_create, messages),
        },
        "deliveries": {
            # rows.inserting_values takes plain dicts; bulk_create needs model instances, and
            # building them is part of its cost.
            "rows": timed(
                lambda r: rows.inserting_values(Delivery, r).run(), lambda: delivery_rows(anchor.pk)
            ),
            "bulk_create": timed(
                lambda r: Delivery.objects.bulk_create([Delivery(**row) for row in r]),
                lambda: delivery_rows(anchor.pk),
            ),
        },
        "count": {"messages": 1000, "deliveries": n},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="deliveries per insert")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    database = Database(args.database_url)
    # Production settings: with DEBUG on, Django's cursor also renders every statement with
    # its values for the query log, which is no part of either way's cost in production.
    os.environ.update(deployment.production_environment(database.url))
    try:
        figures = measure(args.n, args.rounds)
    finally:
        database.drop()
    print(f"database: {database.label}; best of {args.rounds}")
    for kind in ("messages", "deliveries"):
        count = figures["count"][kind]
        ours, theirs = figures[kind]["rows"], figures[kind]["bulk_create"]
        print(
            f"{kind:10s} ({count:,} rows): rows.py {ours * 1e6 / count:6.1f} us/row, "
            f"bulk_create {theirs * 1e6 / count:6.1f} us/row: bulk_create / rows = "
            f"{theirs / ours:.2f}"
        )


if __name__ == "__main__":
    main()
