"""APNs throughput: the project's provider loop alone (no database) vs aioapns.

Both send the same N notifications (default 20,000) with the same ES256 key to a fake APNs in
a process of its own (the Node one, tests/fakes/apns_fast.mjs, by default; `--fake python` for
tests/fakes/apns.py), which must count every one of them. Prints both rates and their ratio,
and, when h2load is installed, what the fake takes with the same requests, to show the fake is
not what limits the figures.

    .venv/bin/python bench/apns_loop.py [-n 20000] [--chunk 500] [--in-flight 4] [--fake node]
"""

import argparse
import asyncio
import logging
import multiprocessing
import os
import secrets
import shutil
import ssl
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from bench import capacity  # noqa: E402

KEY_ID = "BENCHKEY01"
TEAM_ID = "BENCHTEAM1"
TOPIC = "com.example.bench"
# aioapns busy-polls when its pool is full, so its rate depends on how many requests are in
# flight: it is given its best of these windows.
AIOAPNS_WINDOWS = (100, 1000, 2000)


def _serve_fake(pipe, key_pem: bytes):
    from tests.fakes.apns import PRODUCTION, FakeApns

    fake = FakeApns()
    fake.keep_records = False
    fake.register_key(key_id=KEY_ID, team_id=TEAM_ID, private_or_public_key=key_pem, topics=[TOPIC])
    fake.start()
    pipe.send({"host": fake.host(PRODUCTION), "ca_file": fake.ca.ca_file})
    while pipe.recv() == "counts":
        pipe.send((fake.counts.accepted, fake.counts.connections))
    fake.stop()


class PythonFake:
    """tests/fakes/apns.py in a child process, so it has a core of its own."""

    name = "python (tests/fakes/apns.py)"

    def __init__(self, key_pem: bytes):
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_serve_fake, args=(child, key_pem))
        self.process.start()
        started = self.pipe.recv()
        self.host, self.ca_file = started["host"], started["ca_file"]

    def accepted(self) -> int:
        self.pipe.send("counts")
        return self.pipe.recv()[0]

    def stop(self):
        self.pipe.send("stop")
        self.process.join(10)


class NodeFake:
    """tests/fakes/apns_fast.mjs: the same behaviour on Node's native HTTP/2 server."""

    name = "node (tests/fakes/apns_fast.mjs)"

    def __init__(self, key_pem: bytes, node: str, ca=None):
        from tests.fakes.apns import FastFakeApns

        self.fake = FastFakeApns(node=node, ca=ca, workers=capacity.FAKE_WORKERS).start(
            key_id=KEY_ID, team_id=TEAM_ID, private_or_public_key=key_pem, topic=TOPIC
        )
        self.host, self.ca_file = self.fake.host(), self.fake.ca.ca_file

    def accepted(self) -> int:
        return self.fake.counts()["accepted"]

    def stop(self):
        self.fake.stop()


def h2load_rate(fake, key_pem: bytes, n: int) -> float | None:
    """Requests per second h2load gets from the fake with our requests (None without h2load)."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem, None)
    token = jwt.encode(
        {"iss": TEAM_ID, "iat": int(time.time())}, key, algorithm="ES256", headers={"kid": KEY_ID}
    )
    return capacity.h2load_rate(
        f"https://{fake.host}/3/device/{secrets.token_hex(32)}",
        n=n,
        body=b'{"aps":{"alert":{"title":"Hello","body":"World"}}}',
        headers={
            "authorization": f"bearer {token}",
            "apns-topic": TOPIC,
            "apns-push-type": "alert",
            "apns-priority": "10",
        },
        # Like APNs, the fake allows one stream until a valid token: h2load's opening burst on
        # each connection is refused.
        least=0.9,
    )


def provider_loop(fake, key_pem: bytes, tokens: list[str], chunk: int, in_flight: int):
    """Chunks of `chunk` items, `in_flight` chunks at a time, through ApnsProvider."""
    import django

    django.setup()
    from django.conf import settings

    from channels_app.models import ApnsCredential, ApnsKind, Message
    from channels_app.payloads import apns_payload
    from channels_app.providers import runner
    from channels_app.providers.apns import ApnsProvider
    from channels_app.providers.base import Outcome, PushItem

    settings.PUSHPORT_PROVIDER_CA_BUNDLE = fake.ca_file
    settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = [fake.host]
    credential = ApnsCredential(
        kind=ApnsKind.TOKEN,
        bundle_id=TOPIC,
        key_p8=key_pem.decode(),
        key_id=KEY_ID,
        team_id=TEAM_ID,
        endpoint=fake.host,
        max_connections=2,
        response_timeout=30.0,
    )
    payload = apns_payload(Message(title="Hello", body="World"), bundle_id=TOPIC)
    items = [
        PushItem(delivery_id=str(uuid.uuid4()), token=token, payload=payload) for token in tokens
    ]
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    provider = ApnsProvider()

    async def send_all():
        queue = list(reversed(chunks))
        delivered = 0

        async def worker():
            nonlocal delivered
            while queue:
                results = await provider.send_async(credential, queue.pop())
                delivered += sum(r.outcome is Outcome.DELIVERED for r in results)

        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return delivered

    provider.send(credential, items[:1])  # connect and warm up, as a long-lived worker is
    started = time.perf_counter()
    delivered = runner.run(send_all())
    seconds = time.perf_counter() - started
    provider.close()
    return delivered, seconds


def aioapns_loop(fake, key_pem: bytes, tokens: list[str], window: int, connections: int = 10):
    """The same notifications through aioapns, `window` in flight at a time."""
    from aioapns import APNs, NotificationRequest, PushType
    from aioapns.connection import APNsProductionClientProtocol

    host, port = fake.host.rsplit(":", 1)
    # aioapns has no host setting: point its production protocol at the fake.
    APNsProductionClientProtocol.APNS_SERVER = host
    APNsProductionClientProtocol.APNS_PORT = int(port)
    context = ssl.create_default_context(cafile=fake.ca_file)
    context.set_alpn_protocols(["h2"])

    async def send_all():
        client = APNs(
            key=key_pem.decode(),
            key_id=KEY_ID,
            team_id=TEAM_ID,
            topic=TOPIC,
            ssl_context=context,
            max_connections=connections,
        )
        message = {"aps": {"alert": {"title": "Hello", "body": "World"}}}

        def request(token):
            return client.send_notification(
                NotificationRequest(
                    device_token=token, message=message, priority=10, push_type=PushType.ALERT
                )
            )

        await request(tokens[0])  # connect and warm up
        started = time.perf_counter()
        delivered = 0
        for i in range(0, len(tokens), window):
            results = await asyncio.gather(*(request(t) for t in tokens[i : i + window]))
            delivered += sum(r.is_successful for r in results)
        return delivered, time.perf_counter() - started

    return asyncio.run(send_all())


def aioapns_windows(fake, key_pem: bytes, tokens: list[str], send=aioapns_loop) -> list[tuple]:
    """aioapns at each of AIOAPNS_WINDOWS: (window, delivered, seconds, counted by the fake).

    `send` runs one window (aioapns_loop's arguments and result), here or elsewhere.
    """
    runs = []
    for window in AIOAPNS_WINDOWS:
        base = fake.accepted()
        delivered, seconds = send(fake, key_pem, tokens, window)
        # The first notification warms aioapns up, before its clock starts.
        runs.append((window, delivered, seconds, fake.accepted() - base - 1))
    return runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="notifications per client")
    parser.add_argument("--chunk", type=int, default=500, help="items per provider send")
    parser.add_argument("--in-flight", type=int, default=4, help="provider sends at a time")
    parser.add_argument("--fake", choices=["node", "python"], default="node")
    args = parser.parse_args()
    # One line per batch (and aioapns's pool-busy warnings) would drown the figures.
    logging.getLogger("channels_app").setLevel(logging.WARNING)
    logging.getLogger("aioapns").setLevel(logging.ERROR)
    node = shutil.which("node")
    if args.fake == "node" and node is None:
        print("node is not installed: using the Python fake", file=sys.stderr)

    from tests import keys

    key_pem = keys.p8(keys.ec_p256_key())
    tokens = [secrets.token_hex(32) for _ in range(args.n)]
    fake = NodeFake(key_pem, node) if args.fake == "node" and node else PythonFake(key_pem)
    print(f"fake APNs: {fake.name}")
    try:
        base = fake.accepted()
        delivered, seconds = provider_loop(fake, key_pem, tokens, args.chunk, args.in_flight)
        ours = delivered / seconds
        counted = fake.accepted() - base - 1
        print(
            f"provider loop: {delivered}/{args.n} delivered in {seconds:.2f} s = {ours:,.0f}/s "
            f"(fake counted {counted})"
        )
        runs = aioapns_windows(fake, key_pem, tokens)
        for window, delivered, seconds, counted in runs:
            print(
                f"aioapns ({window:>4} in flight): {delivered}/{args.n} delivered in "
                f"{seconds:.2f} s = {delivered / seconds:,.0f}/s (fake counted {counted})"
            )
        theirs = max(delivered / seconds for _, delivered, seconds, _ in runs)
        print(f"ratio provider loop / aioapns = {ours / theirs:.2f} (target >= 1.4)")
        # Enough requests that the burst each connection has refused is a small part of them.
        fake_rate = h2load_rate(fake, key_pem, max(args.n, 20_000))
        if fake_rate is not None:
            print(
                f"h2load against the fake: {fake_rate:,.0f}/s = "
                f"{fake_rate / max(ours, theirs):.1f} x the fastest client (target >= 3)"
            )
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
