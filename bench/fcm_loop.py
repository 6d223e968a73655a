"""FCM throughput: the project's provider loop alone vs firebase-admin's send_each.

Both send the same N messages (default 20,000) to a fake FCM in a process of its own (the
Node one by default, `--fake python` for tests/fakes/fcm.py), which must count every one of
them, in alternating slices so that both meet the same machine load. Prints both rates and
their ratio and, when h2load is installed, what the fake takes with the same requests, to
show the fake is not what limits the figures.

    .venv/bin/python bench/fcm_loop.py [-n 20000] [--chunk 500] [--connections 2]
                                       [--fake node|python] [--rounds 4]
"""

import argparse
import json
import multiprocessing
import os
import secrets
import shutil
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from bench import capacity  # noqa: E402

PROJECT = "bench-project"
PACKAGE = "com.example.bench"
# An access token both fakes accept without OAuth, for h2load.
H2LOAD_TOKEN = "bench-h2load-token"


def _serve_python_fake(pipe):
    from tests.fakes.fcm import FakeFcm

    fake = FakeFcm()
    fake.keep_records = False
    fake.start()
    fake.access_tokens[H2LOAD_TOKEN] = time.time() + 86400
    info = fake.service_account(project_id=PROJECT)
    pipe.send({"info": info, "base_url": fake.base_url, "ca_file": fake.ca.ca_file})
    while pipe.recv() == "accepted":
        pipe.send(fake.counts.accepted)
    fake.stop()


class PythonFake:
    """tests/fakes/fcm.py in a child process, so it has a core of its own."""

    name = "python (tests/fakes/fcm.py)"

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_serve_python_fake, args=(child,))
        self.process.start()
        started = self.pipe.recv()
        self.info, self.base_url, self.ca_file = (
            started["info"],
            started["base_url"],
            started["ca_file"],
        )

    def accepted(self) -> int:
        self.pipe.send("accepted")
        return self.pipe.recv()

    def stop(self):
        self.pipe.send("stop")
        self.process.join(10)


class NodeFake:
    """tests/fakes/fcm_fast.mjs: the same behaviour on Node's native HTTP/2 server."""

    name = "node (tests/fakes/fcm_fast.mjs)"

    def __init__(self, node: str, ca=None):
        from tests.fakes.fcm import FastFakeFcm

        self.fake = FastFakeFcm(node=node, ca=ca, workers=capacity.FAKE_WORKERS).start(
            static_tokens={H2LOAD_TOKEN: time.time() + 86400}
        )
        self.info = self.fake.service_account(project_id=PROJECT)
        self.base_url, self.ca_file = self.fake.base_url, self.fake.ca.ca_file

    def accepted(self) -> int:
        return self.fake.counts.accepted

    def stop(self):
        self.fake.stop()


class ProviderLoop:
    """The project's FCM provider, called chunk by chunk as the delivery engine calls it."""

    name = "provider loop"

    def __init__(self, *, fake, chunk: int, connections: int):
        import django
        from django.conf import settings

        django.setup()
        from channels_app.models import FcmCredential
        from channels_app.providers.fcm import FcmProvider

        settings.PUSHPORT_FCM_BASE_URL = fake.base_url
        settings.PUSHPORT_PROVIDER_CA_BUNDLE = fake.ca_file
        self.credential = FcmCredential(
            service_account_json=json.dumps(fake.info),
            project_id=PROJECT,
            package_name=PACKAGE,
            max_connections=connections,
        )
        self.chunk = chunk
        self.payload = bench_payload()
        self.provider = FcmProvider()

    def send(self, tokens) -> int:
        """Send one message to every token; how many were delivered."""
        from channels_app.providers.base import Outcome, PushItem

        items = [PushItem(str(uuid.uuid4()), token, self.payload) for token in tokens]
        delivered = 0
        for start in range(0, len(items), self.chunk):
            results = self.provider.send(self.credential, items[start : start + self.chunk])
            delivered += sum(result.outcome is Outcome.DELIVERED for result in results)
        return delivered

    def close(self):
        self.provider.close()


def bench_payload():
    from channels_app.models import Message
    from channels_app.payloads import fcm_message

    message = Message(title="Bench", body="A notification", extras={"n": 1})
    return fcm_message(message, package_name=PACKAGE)


class SendEach:
    """firebase-admin's messaging.send_each, 500 messages per call (its maximum)."""

    name = "firebase-admin send_each"

    def __init__(self, *, fake):
        import firebase_admin
        import requests
        from firebase_admin import _http_client, credentials, messaging

        # firebase-admin has no endpoint setting: point its service at the fake's URL and
        # trust the fake's CA (its requests session and google-auth's token call read this).
        os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_file
        self.app = firebase_admin.initialize_app(
            credentials.Certificate(fake.info), name=f"bench-{uuid.uuid4()}"
        )
        service = messaging._get_messaging_service(self.app)
        service._fcm_url = f"{fake.base_url}/v1/projects/{PROJECT}/messages:send"
        # The same connection pool firebase-admin mounts for the real FCM host.
        service._client.session.mount(
            fake.base_url,
            requests.adapters.HTTPAdapter(
                pool_connections=100,
                pool_maxsize=100,
                max_retries=_http_client.DEFAULT_RETRY_CONFIG,
            ),
        )
        self.messaging = messaging

    def send(self, tokens) -> int:
        messaging = self.messaging
        succeeded = 0
        for start in range(0, len(tokens), 500):
            batch = [
                messaging.Message(
                    token=token,
                    notification=messaging.Notification(title="Bench", body="A notification"),
                    data={"n": "1"},
                    android=messaging.AndroidConfig(
                        priority="high", restricted_package_name=PACKAGE
                    ),
                )
                for token in tokens[start : start + 500]
            ]
            succeeded += messaging.send_each(batch, app=self.app).success_count
        return succeeded

    def close(self):
        import firebase_admin

        firebase_admin.delete_app(self.app)


def measure(clients, *, fake, tokens, rounds: int) -> dict:
    """Seconds each client took for all tokens, in alternating slices so both see one load."""
    seconds = dict.fromkeys(clients, 0.0)
    for client in clients:
        warm = [secrets.token_urlsafe(120) for _ in range(10)]  # OAuth token, connections
        if client.send(warm) != len(warm):
            raise SystemExit(f"{client.name} failed its warm-up")
    size = -(-len(tokens) // rounds)
    for start in range(0, len(tokens), size):
        part = tokens[start : start + size]
        for client in clients:
            before = fake.accepted()
            started = time.perf_counter()
            delivered = client.send(part)
            seconds[client] += time.perf_counter() - started
            counted = fake.accepted() - before
            if delivered != len(part) or counted != len(part):
                raise SystemExit(
                    f"{client.name}: {delivered} delivered, {counted} counted of {len(part)}"
                )
    return seconds


def h2load_rate(*, fake, n: int) -> float | None:
    """Requests/s h2load gets from the fake with the provider's own request body."""
    return capacity.h2load_rate(
        f"{fake.base_url}/v1/projects/{PROJECT}/messages:send",
        n=n,
        body=bench_payload().request_body(secrets.token_urlsafe(120)),
        headers={"authorization": f"Bearer {H2LOAD_TOKEN}", "content-type": "application/json"},
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="messages per client")
    parser.add_argument("--chunk", type=int, default=500, help="items per provider call")
    parser.add_argument("--connections", type=int, default=2, help="HTTP/2 connections")
    parser.add_argument("--fake", choices=["node", "python"], default="node")
    parser.add_argument("--rounds", type=int, default=4, help="alternating slices of N")
    args = parser.parse_args()
    tokens = [secrets.token_urlsafe(120) for _ in range(args.n)]
    node = shutil.which("node")
    if args.fake == "node" and node is None:
        print("node is not installed: using the Python fake", file=sys.stderr)
    fake = NodeFake(node) if args.fake == "node" and node else PythonFake()
    try:
        ours = ProviderLoop(fake=fake, chunk=args.chunk, connections=args.connections)
        theirs = SendEach(fake=fake)
        seconds = measure([ours, theirs], fake=fake, tokens=tokens, rounds=args.rounds)
        ours.close()
        theirs.close()
        fake_rate = h2load_rate(fake=fake, n=max(args.n, 20_000))
    finally:
        fake.stop()

    print(
        f"N = {args.n} each, counted by the fake; fake: {fake.name}; provider: chunks of "
        f"{args.chunk}, {args.connections} HTTP/2 connections; {args.rounds} alternating rounds"
    )
    rates = {}
    for client, spent in seconds.items():
        rates[client] = args.n / spent
        print(f"{client.name:26} {spent:7.2f} s {rates[client]:8.0f} msg/s")
    ratio = rates[ours] / rates[theirs]
    print(f"ratio provider / send_each: {ratio:.2f}x (target >= 4)")
    if fake_rate is not None:
        print(
            f"fake under h2load ({capacity.CONNECTIONS} connections, {capacity.STREAMS} streams "
            f"each): {fake_rate:.0f} req/s = {fake_rate / rates[ours]:.1f}x the provider loop "
            "(target >= 3)"
        )


if __name__ == "__main__":
    main()
