"""A campaign audience from a CSV of N profile ids (default 1,000,000), streamed, timed.

Two ways of putting the same file into a campaign, each in a fresh process on the same
throwaway database (a SQLite file by default, PostgreSQL with --database-url):

- ours: the portal's upload (POST of the multipart file through the whole Django stack, the
  file spooled to disk, read line by line, inserted in batches of 5,000);
- baseline: the plain way, the file read whole into a list, then bulk_create of every row.

Prints each way's seconds and peak memory (the process's peak RSS, and how much the import
added to it), and the ratios ours / baseline. Exits 1 if ours added more than 100 MB.

    .venv/bin/python bench/campaign_import.py [-n 1000000] [--database-url postgres://...]
"""

import argparse
import base64
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

MEMORY_TARGET_MB = 100


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _setup():
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from channels_app.models import Campaign
    from portal.models import ApiSpace, Membership, Role

    space = ApiSpace.objects.create(name="bench")
    user = get_user_model().objects.create_user(f"bench-{os.getpid()}", password=None)
    Membership.objects.create(user=user, space=space, role=Role.OWNER)
    campaign = Campaign.objects.create(
        space=space, name="bench", message={"rules": ["nativePush"], "title": "Hi"}
    )
    return user, campaign


def child(way: str, path: str) -> dict:
    """Import the file one way in this process; seconds, peak RSS and what the import added."""
    user, campaign = _setup()
    from django.test import Client

    from channels_app.models import CampaignRecipient

    before = _peak_mb()
    start = time.perf_counter()
    if way == "ours":
        client = Client()
        client.force_login(user)
        with open(path, "rb") as upload:
            response = client.post(
                f"/spaces/{campaign.space_id}/campaigns/{campaign.pk}/audience/upload/",
                {"file": upload},
            )
        assert response.status_code == 302, response.content[:500]
    else:
        with open(path, encoding="utf-8") as text:
            ids = text.read().splitlines()[1:]
        CampaignRecipient.objects.bulk_create(
            [CampaignRecipient(campaign=campaign, profile_id=i) for i in ids],
            batch_size=5000,
            ignore_conflicts=True,
        )
    seconds = time.perf_counter() - start
    count = CampaignRecipient.objects.filter(campaign=campaign).count()
    peak = _peak_mb()
    return {"seconds": seconds, "peak_mb": peak, "added_mb": peak - before, "count": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="profile ids in the CSV")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--child", nargs=2, metavar=("WAY", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    from bench.send_throughput import Database

    database = Database(args.database_url)
    # Production settings: with DEBUG on, Django would keep every statement in memory.
    environment = {
        **os.environ,
        "DATABASE_URL": database.url,
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PUSHPORT_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PUSHPORT_SESSION_TOKEN_KEY": secrets.token_urlsafe(32),
        "SECURE_SSL_REDIRECT": "false",
    }
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
            env=environment,
            check=True,
        )
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as csv_file:
            csv_file.write("profile_id\n")
            for n in range(args.n):
                csv_file.write(f"customer-{n:010d}@example.com\n")
        size = os.path.getsize(csv_file.name)
        figures = {}
        for way in ("ours", "baseline"):
            run = subprocess.run(
                [sys.executable, __file__, "--child", way, csv_file.name],
                env=environment,
                check=True,
                capture_output=True,
                text=True,
            )
            figures[way] = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(csv_file.name)
        database.drop()
    print(f"database: {database.label}; CSV of {args.n:,} ids, {size / 2**20:.1f} MB")
    for way, label in (
        ("ours", "portal upload, streamed"),
        ("baseline", "read whole + bulk_create"),
    ):
        f = figures[way]
        assert f["count"] == args.n, (way, f["count"])
        print(
            f"{label:26s}: {f['seconds']:6.1f} s ({args.n / f['seconds']:,.0f} ids/s), "
            f"peak RSS {f['peak_mb']:6.1f} MB, added by the import {f['added_mb']:6.1f} MB"
        )
    ours, base = figures["ours"], figures["baseline"]
    print(
        f"ours / baseline: time {ours['seconds'] / base['seconds']:.2f}, "
        f"memory added {ours['added_mb'] / max(base['added_mb'], 0.1):.2f}"
    )
    if ours["added_mb"] > MEMORY_TARGET_MB:
        print(f"FAIL: the import added over {MEMORY_TARGET_MB} MB")
        sys.exit(1)


if __name__ == "__main__":
    main()
