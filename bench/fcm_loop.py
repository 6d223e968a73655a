"""FCM throughput: the project's provider loop alone vs firebase-admin's send_each.

Both send the same N messages (default 20,000) to a fake FCM in a process of its own (the
Node one by default, `--fake python` for tests/fakes/fcm.py), which must count every one of
them. Prints both rates and their ratio, and, when h2load is installed, what the fake takes
with the same requests, to show the fake is not what limits the figures.

    .venv/bin/python bench/fcm_loop.py [-n 20000] [--chunk 500] [--connections 2] [--fake node]
"""

import argparse
import json
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
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

    def __init__(self, node: str):
        from tests.fakes.fcm import FastFakeFcm

        self.fake = FastFakeFcm(node=node).start(static_tokens={H2LOAD_TOKEN: time.time() + 86400})
        self.info = self.fake.service_account(project_id=PROJECT)
        self.base_url, self.ca_file = self.fake.base_url, self.fake.ca.ca_file

    def accepted(self) -> int:
        return self.fake.counts.accepted

    def stop(self):
        self.fake.stop()


def provider_loop(*, fake, tokens, chunk: int, connections: int) -> float:
    """Seconds for the FCM provider to send one message to every token, chunk by chunk."""
    import django
    from django.conf import settings

    django.setup()
    from channels_app.models import FcmCredential
    from channels_app.providers.base import Outcome, PushItem
    from channels_app.providers.fcm import FcmProvider

    settings.PUSHPORT_FCM_BASE_URL = fake.base_url
    settings.PUSHPORT_PROVIDER_CA_BUNDLE = fake.ca_file
    credential = FcmCredential(
        service_account_json=json.dumps(fake.info),
        project_id=PROJECT,
        package_name=PACKAGE,
        max_connections=connections,
    )
    payload = bench_payload()
    items = [PushItem(str(uuid.uuid4()), token, payload) for token in tokens]
    provider = FcmProvider()
    warm = provider.send(credential, items[:10])  # the OAuth token and the connections
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


def bench_payload():
    from channels_app.models import Message
    from channels_app.payloads import fcm_message

    message = Message(title="Bench", body="A notification", extras={"n": 1})
    return fcm_message(message, package_name=PACKAGE)


def firebase_admin_send_each(*, fake, tokens) -> float:
    """Seconds for firebase-admin's send_each to send one message to every token."""
    import firebase_admin
    import requests
    from firebase_admin import _http_client, credentials, messaging

    # firebase-admin has no endpoint setting: point its service at the fake's URL and trust
    # the fake's CA (its requests session and google-auth's token call read this variable).
    os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_file
    app = firebase_admin.initialize_app(
        credentials.Certificate(fake.info), name=f"bench-{uuid.uuid4()}"
    )
    service = messaging._get_messaging_service(app)
    service._fcm_url = f"{fake.base_url}/v1/projects/{PROJECT}/messages:send"
    # The same connection pool firebase-admin mounts for the real FCM host.
    service._client.session.mount(
        fake.base_url,
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


def h2load_rate(*, fake, n: int, connections: int) -> float | None:
    """Requests/s h2load gets from the fake with the provider's own request body."""
    h2load = shutil.which("h2load")
    if h2load is None:
        return None
    body = bench_payload().request_body(secrets.token_urlsafe(120))
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(body)
        file.flush()
        output = subprocess.run(
            [
                h2load,
                f"-n{n}",
                f"-c{connections}",
                "-m100",
                "-d",
                file.name,
                "-H",
                f"authorization: Bearer {H2LOAD_TOKEN}",
                "-H",
                "content-type: application/json",
                f"{fake.base_url}/v1/projects/{PROJECT}/messages:send",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    succeeded = re.search(r"status codes: (\d+) 2xx", output)
    if succeeded is None or int(succeeded.group(1)) != n:
        raise SystemExit(f"h2load did not get {n} successes from the fake:\n{output}")
    return float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", output).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="messages per client")
    parser.add_argument("--chunk", type=int, default=500, help="items per provider call")
    parser.add_argument("--connections", type=int, default=2, help="HTTP/2 connections")
    parser.add_argument("--fake", choices=["node", "python"], default="node")
    args = parser.parse_args()
    tokens = [secrets.token_urlsafe(120) for _ in range(args.n)]
    node = shutil.which("node")
    if args.fake == "node" and node is None:
        print("node is not installed: using the Python fake", file=sys.stderr)
    fake = NodeFake(node) if args.fake == "node" and node else PythonFake()
    try:
        before = fake.accepted()
        ours = provider_loop(
            fake=fake, tokens=tokens, chunk=args.chunk, connections=args.connections
        )
        ours_counted = fake.accepted() - before - 10
        before = fake.accepted()
        theirs = firebase_admin_send_each(fake=fake, tokens=tokens)
        theirs_counted = fake.accepted() - before - 10
        capacity = h2load_rate(fake=fake, n=max(args.n, 20_000), connections=args.connections)
    finally:
        fake.stop()

    ours_rate, theirs_rate = args.n / ours, args.n / theirs
    print(f"N = {args.n}; fake: {fake.name}; provider: chunks of {args.chunk}, ", end="")
    print(f"{args.connections} HTTP/2 connections")
    print(f"provider loop:            {ours:7.2f} s {ours_rate:8.0f} msg/s  counted {ours_counted}")
    print(
        f"firebase-admin send_each: {theirs:7.2f} s {theirs_rate:8.0f} msg/s  "
        f"counted {theirs_counted}"
    )
    print(f"ratio provider / send_each: {ours_rate / theirs_rate:.2f}x (target >= 4)")
    if capacity is not None:
        print(
            f"fake under h2load ({args.connections} connections, 100 streams each): "
            f"{capacity:.0f} req/s = {capacity / ours_rate:.1f}x the provider loop (target >= 3)"
        )


if __name__ == "__main__":
    main()
