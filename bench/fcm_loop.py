"""FCM throughput: the project's provider loop alone vs firebase-admin's send_each.

Both send the same N messages (default 20,000) to the fake FCM, which runs in its own
process so it has a core of its own; the fake must count every one of them. Prints both
rates and their ratio.

    .venv/bin/python bench/fcm_loop.py [-n 20000] [--chunk 500] [--connections 2]
"""

import argparse
import multiprocessing
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
PROJECT = "bench-project"
PACKAGE = "com.example.bench"


def serve_fake(pipe):
    """The fake FCM in a child process, answering the parent's requests for its counts."""
    from tests.fakes.fcm import FakeFcm

    fake = FakeFcm()
    fake.keep_records = False
    fake.start()
    info = fake.service_account(project_id=PROJECT)
    pipe.send({"info": info, "base_url": fake.base_url, "ca_file": fake.ca.ca_file})
    while True:
        command = pipe.recv()
        if command == "counts":
            pipe.send(
                {
                    "accepted": fake.counts.accepted,
                    "requests": fake.counts.requests,
                    "cpu": time.process_time(),
                }
            )
        elif command == "reset":
            fake.counts.accepted = fake.counts.requests = 0
            pipe.send(True)
        else:
            fake.stop()
            pipe.send(True)
            return


def ask(pipe, command):
    pipe.send(command)
    return pipe.recv()


def provider_loop(*, fake, tokens, chunk: int, connections: int) -> float:
    """Seconds for the FCM provider to send one message to every token, chunk by chunk."""
    import django
    from django.conf import settings

    django.setup()
    from channels_app.models import FcmCredential, Message
    from channels_app.payloads import fcm_message
    from channels_app.providers.base import Outcome, PushItem
    from channels_app.providers.fcm import FcmProvider

    settings.PUSHPORT_FCM_BASE_URL = fake["base_url"]
    settings.PUSHPORT_PROVIDER_CA_BUNDLE = fake["ca_file"]
    credential = FcmCredential(
        service_account_json=__import__("json").dumps(fake["info"]),
        project_id=PROJECT,
        package_name=PACKAGE,
        max_connections=connections,
    )
    payload = fcm_message(
        Message(title="Bench", body="A notification", extras={"n": 1}), package_name=PACKAGE
    )
    items = [PushItem(str(uuid.uuid4()), token, payload) for token in tokens]
    provider = FcmProvider()
    warm = provider.send(credential, items[:10])  # OAuth token and connections
    assert all(result.outcome is Outcome.DELIVERED for result in warm), warm
    started = time.perf_counter()
    delivered = 0
    for start in range(0, len(items), chunk):
        results = provider.send(credential, items[start : start + chunk])
        delivered += sum(result.outcome is Outcome.DELIVERED for result in results)
    seconds = time.perf_counter() - started
    provider.close()
    if delivered != len(items):
        raise SystemExit(f"provider delivered {delivered} of {len(items)}")
    return seconds


def firebase_admin_send_each(*, fake, tokens) -> float:
    """Seconds for firebase-admin's send_each to send one message to every token."""
    import firebase_admin
    import requests
    from firebase_admin import _http_client, credentials, messaging

    # firebase-admin has no endpoint setting: point its service at the fake's URL and trust
    # the fake's CA (its requests session and google-auth's token call read this variable).
    os.environ["REQUESTS_CA_BUNDLE"] = fake["ca_file"]
    app = firebase_admin.initialize_app(
        credentials.Certificate(fake["info"]), name=f"bench-{uuid.uuid4()}"
    )
    service = messaging._get_messaging_service(app)
    service._fcm_url = f"{fake['base_url']}/v1/projects/{PROJECT}/messages:send"
    service._client.session.mount(
        fake["base_url"],
        requests.adapters.HTTPAdapter(
            pool_connections=100, pool_maxsize=100, max_retries=_http_client.DEFAULT_RETRY_CONFIG
        ),
    )

    def message(token):
        return messaging.Message(
            token=token,
            notification=messaging.Notification(title="Bench", body="A notification"),
            data={"n": "1"},
            android=messaging.AndroidConfig(priority="high", restricted_package_name=PACKAGE),
        )

    warm = messaging.send_each([message(token) for token in tokens[:10]], app=app)
    assert warm.success_count == 10, [r.exception for r in warm.responses if r.exception]
    started = time.perf_counter()
    succeeded = 0
    for start in range(0, len(tokens), 500):
        batch = [message(token) for token in tokens[start : start + 500]]
        succeeded += messaging.send_each(batch, app=app).success_count
    seconds = time.perf_counter() - started
    firebase_admin.delete_app(app)
    if succeeded != len(tokens):
        raise SystemExit(f"send_each delivered {succeeded} of {len(tokens)}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="messages per client")
    parser.add_argument("--chunk", type=int, default=500, help="items per provider call")
    parser.add_argument("--connections", type=int, default=2, help="HTTP/2 connections")
    args = parser.parse_args()
    tokens = [secrets.token_urlsafe(120) for _ in range(args.n)]

    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=serve_fake, args=(child,))
    process.start()
    fake = parent.recv()
    try:
        ours = provider_loop(
            fake=fake, tokens=tokens, chunk=args.chunk, connections=args.connections
        )
        ours_counted = ask(parent, "counts")["accepted"]
        ask(parent, "reset")
        theirs = firebase_admin_send_each(fake=fake, tokens=tokens)
        theirs_counted = ask(parent, "counts")["accepted"]
    finally:
        ask(parent, "stop")
        process.join(10)

    ours_rate, theirs_rate = args.n / ours, args.n / theirs
    print(f"N = {args.n}, provider chunks of {args.chunk}, {args.connections} connections")
    print(
        f"provider loop:            {ours:7.2f} s  {ours_rate:8.0f} msg/s  "
        f"(fake counted {ours_counted - 10})"
    )
    print(
        f"firebase-admin send_each: {theirs:7.2f} s  {theirs_rate:8.0f} msg/s  "
        f"(fake counted {theirs_counted - 10})"
    )
    print(f"ratio provider / send_each: {ours_rate / theirs_rate:.2f}x (target >= 4)")


if __name__ == "__main__":
    main()
