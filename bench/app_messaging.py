"""App Messaging at scale: many idle sockets on one server, and a busy conversation's fan-out.

N SDK sockets (default 2,000) stay open on the server, idle but for the SDK's `echo` frame
(every 60 s, at a random phase per socket) and the server's WebSocket pings; P of their
profiles (default 100) are the participants of one conversation, which receives M messages
(default 1,000) POSTed by S participants at once (default 4, each posting its next message
when its last one is answered). For every message and participant the bench times the POST
against the arrival of the conversationMessage.sent frame on that participant's socket, and
prints the fan-out latency (p50, p99), the messages per second, the servers' peak memory
(VmHWM) and the memory each socket costs. The baseline of the same run is a GET of the
conversation by the same senders: what a request costs without the fan-out.

The servers are daphne processes (`portal.asgi:application`) on a throwaway database
(SQLite in WAL by default), with sessions created directly in it; the sockets and the POSTs
come from this process (websockets and httpx on one asyncio loop). First one server with the
in-memory channel layer, then the same workload on two servers sharing events through Redis
(channels_redis; the cache, which counts open sockets, in Redis too), sockets and senders
split between them. Exits 1 when a target is missed.

    .venv/bin/python bench/app_messaging.py [--sockets 2000] [--participants 100]
        [--messages 1000] [--senders 4] [--redis-url redis://127.0.0.1:6379/13] [--no-redis]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_messaging]
"""

import argparse
import asyncio
import json
import os
import random
import re
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from bench import deployment  # noqa: E402
from bench.send_throughput import Database, _in_child  # noqa: E402

TARGETS = {
    # Every server process of a run, summed, with all the sockets open.
    "memory_mb": 400,
    # From the POST to the frame on every participant's socket.
    "fan_out_p99_ms": 250,
}
REDIS_URL = "redis://127.0.0.1:6379/13"
CONVERSATION = "bench-room"
# Sockets opening at once: daphne (Twisted) listens with a backlog of 50.
CONNECTING = 40
# How long the frames may stop arriving before the missing ones count as lost.
STALL_SECONDS = 30


# --- The database, in a child process ------------------------------------------------------


def prepare(*, sockets: int, participants: int) -> dict:
    """Migrate; a space, N profiles with a live session each, and one conversation of the
    first P profiles. Returns the space id and each session's token, in profile order."""
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from channels_app.messaging.conversations import DEFAULT_ROLES
    from channels_app.messaging.models import Conversation, Participant, ParticipantRole
    from portal.models import ApiSpace
    from sessions_app.models import Profile, Session
    from sessions_app.tokens import issue_session_token

    call_command("migrate", verbosity=0)
    space = ApiSpace.objects.create(name="Bench")
    etag = Profile.etag_for({})
    ids = [f"bench-{i:06d}" for i in range(sockets)]
    Profile.objects.bulk_create(
        [Profile(space=space, profile_id=p, etag=etag) for p in ids], batch_size=1000
    )
    profiles = dict(Profile.objects.filter(space=space).values_list("profile_id", "id"))
    expires = timezone.now() + dt.timedelta(days=1)
    Session.objects.bulk_create(
        [
            Session(space=space, profile_id=profiles[p], platform="javascript", expires_at=expires)
            for p in ids
        ],
        batch_size=1000,
    )
    sessions = {
        s.profile.profile_id: s
        for s in Session.objects.filter(space=space).select_related("profile")
    }
    conversation = Conversation.objects.create(
        space=space,
        conversation_id=CONVERSATION,
        name="Bench room",
        roles=DEFAULT_ROLES,
        created_by=ids[0],
        updated_by=ids[0],
    )
    Participant.objects.bulk_create(
        Participant(
            conversation=conversation,
            profile_id=p,
            role=ParticipantRole.OWNER if i == 0 else ParticipantRole.PARTICIPANT,
        )
        for i, p in enumerate(ids[:participants])
    )
    return {
        "space_id": str(space.pk),
        "tokens": [issue_session_token(session=sessions[p]) for p in ids],
    }


# --- The servers -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status_kb(pid: int, field_name: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field_name}:\s+(\d+) kB", status).group(1))


class Servers:
    """K daphne processes serving portal.asgi:application on ports of their own."""

    def __init__(self, count: int, environment: dict):
        self.ports = [_free_port() for _ in range(count)]
        self.processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-v",
                    "0",
                    "portal.asgi:application",
                ],
                cwd=ROOT,
                env={**os.environ, **environment},
            )
            for port in self.ports
        ]

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 60
        for url, process in zip(self.urls, self.processes, strict=True):
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"daphne exited with {process.returncode}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"daphne at {url} did not answer /healthz within 60 s")
                time.sleep(0.1)

    def rss_mb(self) -> list[float]:
        return [_status_kb(p.pid, "VmRSS") / 1024 for p in self.processes]

    def peak_mb(self) -> list[float]:
        return [_status_kb(p.pid, "VmHWM") / 1024 for p in self.processes]

    def stop(self) -> None:
        deployment.stop(self.processes)


# --- The clients: sockets and senders on one loop -------------------------------------------


@dataclass
class Workload:
    space_id: str
    tokens: list[str]
    urls: list[str]
    participants: int
    messages: int
    senders: int
    echo_interval: float
    # Filled by the run.
    posted_at: dict[int, float] = field(default_factory=dict)
    answered_at: dict[int, float] = field(default_factory=dict)
    arrivals: dict[int, list[float]] = field(default_factory=dict)
    received: int = 0
    done: asyncio.Event | None = None

    @property
    def expected(self) -> int:
        return self.messages * self.participants

    def server_of(self, index: int) -> str:
        return self.urls[index % len(self.urls)]


async def _reader(ws, work: Workload) -> None:
    import websockets

    try:
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("name") != "conversationMessage.sent":
                continue
            seq = frame["payload"]["metadata"].get("bench")
            if not isinstance(seq, int) or seq < 0:
                continue  # warm-up
            work.arrivals.setdefault(seq, []).append(now)
            work.received += 1
            if work.received >= work.expected:
                work.done.set()
    except websockets.ConnectionClosed:
        pass


async def _echoes(ws, interval: float) -> None:
    """The SDK's keep-alive: an echo frame every `interval` s, from a random phase."""
    import websockets

    await asyncio.sleep(random.uniform(0, interval))
    try:
        while True:
            frame = {"name": "echo", "payload": {}, "publishedOn": _now_iso()}
            await ws.send(json.dumps(frame))
            await asyncio.sleep(interval)
    except websockets.ConnectionClosed:
        pass


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


async def _open_sockets(work: Workload) -> tuple[list, list[asyncio.Task], float]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(CONNECTING)

    async def open_one(i: int, token: str):
        ws_base = work.server_of(i).replace("http://", "ws://")
        async with gate:
            # No client pings: the JS SDK sends none; daphne pings every socket itself.
            return await connect(
                f"{ws_base}/apispaces/{work.space_id}/socket?token={token}",
                ping_interval=None,
                open_timeout=60,
                max_queue=None,
            )

    started = time.perf_counter()
    sockets = await asyncio.gather(*(open_one(i, t) for i, t in enumerate(work.tokens)))
    seconds = time.perf_counter() - started
    tasks = []
    for i, ws in enumerate(sockets):
        if i < work.participants:
            tasks.append(asyncio.create_task(_reader(ws, work)))
        else:
            tasks.append(asyncio.create_task(_drain(ws)))
        tasks.append(asyncio.create_task(_echoes(ws, work.echo_interval)))
    return sockets, tasks, seconds


async def _drain(ws) -> None:
    import websockets

    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass


def _clients(work: Workload) -> list:
    import httpx

    return [
        httpx.AsyncClient(
            base_url=work.server_of(i),
            headers={"authorization": f"Bearer {work.tokens[i]}"},
            timeout=60,
        )
        for i in range(work.senders)
    ]


def _path(work: Workload) -> str:
    return f"/apispaces/{work.space_id}/conversations/{CONVERSATION}"


def _body(seq: int) -> dict:
    text = f"Message {seq} of the bench"
    return {
        "parts": [{"name": "body", "type": "text/plain", "data": text, "size": len(text)}],
        "metadata": {"bench": seq},
    }


async def _baseline(clients: list, work: Workload, requests: int) -> list[float]:
    """Seconds of each GET of the conversation: the same senders, the same concurrency."""
    times = []
    left = iter(range(requests))

    async def caller(client):
        for _ in left:
            started = time.perf_counter()
            response = await client.get(_path(work))
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"GET of the conversation answered {response.status_code}")

    await asyncio.gather(*(caller(c) for c in clients))
    return times


async def _send_all(clients: list, work: Workload, seqs) -> None:
    left = iter(seqs)

    async def caller(client):
        for seq in left:
            work.posted_at[seq] = time.perf_counter()
            response = await client.post(f"{_path(work)}/messages", json=_body(seq))
            work.answered_at[seq] = time.perf_counter()
            if response.status_code != 200:
                raise RuntimeError(
                    f"POST messages answered {response.status_code}: {response.text}"
                )

    await asyncio.gather(*(caller(c) for c in clients))


async def drive(work: Workload, servers: Servers) -> dict:
    """Open the sockets, warm up, time the baseline, then send the messages."""
    work.done = asyncio.Event()
    before = servers.rss_mb()
    sockets, tasks, connect_seconds = await _open_sockets(work)
    await asyncio.sleep(1)  # the last handshakes' presence writes settle
    after = servers.rss_mb()
    clients = _clients(work)
    try:
        # Warm-up: a message from each sender (its frames are not counted), and GETs.
        await _send_all(clients, work, range(-work.senders, 0))
        await _baseline(clients, work, 4 * work.senders)
        baseline = await _baseline(clients, work, min(200, max(work.messages, 20)))
        started = time.perf_counter()
        await _send_all(clients, work, range(work.messages))
        posted = time.perf_counter()
        last = work.received
        while not work.done.is_set():
            try:
                await asyncio.wait_for(work.done.wait(), STALL_SECONDS)
            except TimeoutError:
                if work.received == last:
                    break
                last = work.received
        finished = max((max(times) for times in work.arrivals.values()), default=posted)
        open_at_end = sum(ws.state.name == "OPEN" for ws in sockets)
    finally:
        for client in clients:
            await client.aclose()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies = sorted(
        at - work.posted_at[seq] for seq, times in work.arrivals.items() for at in times
    )
    answers = sorted(work.answered_at[s] - work.posted_at[s] for s in range(work.messages))
    return {
        "connect_seconds": connect_seconds,
        "rss_before_mb": sum(before),
        "rss_after_mb": sum(after),
        "peak_mb": servers.peak_mb(),
        "open_at_end": open_at_end,
        "received": work.received,
        "latencies": latencies,
        "answers": answers,
        "baseline": sorted(baseline),
        "seconds": finished - started,
        "posted_seconds": posted - started,
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


# --- One run -------------------------------------------------------------------------------


def run(args, *, servers: int, redis_url: str | None) -> dict:
    """The whole workload against `servers` daphne processes; the figures."""
    database = Database(args.database_url)
    environment = {
        **deployment.production_environment(database.url),
        # The servers serve no collected static files (whitenoise warns at start).
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
        "PUSHPORT_CHANNEL_LAYER_URL": redis_url or "",
        # Open sockets are counted in the cache: shared by the processes when there are several.
        # Its keys and the layer's do not meet (":1:messaging:…" and "asgi:…").
        "CACHE_URL": redis_url or "locmemcache://",
    }
    pool = None
    try:
        prepared = _in_child(
            environment, prepare, {"sockets": args.sockets, "participants": args.participants}
        )
        pool = Servers(servers, environment)
        pool.wait_ready()
        work = Workload(
            space_id=prepared["space_id"],
            tokens=prepared["tokens"],
            urls=pool.urls,
            participants=args.participants,
            messages=args.messages,
            senders=args.senders,
            echo_interval=args.echo_interval,
        )
        figures = asyncio.run(drive(work, pool))
    finally:
        if pool is not None:
            pool.stop()
        database.drop()
    figures["servers"] = servers
    figures["layer"] = "Redis (channels_redis)" if redis_url else "in-memory"
    figures["database"] = database.label
    return figures


# --- Report --------------------------------------------------------------------------------


def _check(label: str, ok: bool) -> bool:
    print(f"  [{'ok' if ok else 'MISSED'}] {label}")
    return ok


def report(args, figures: dict) -> bool:
    n, p, m = args.sockets, args.participants, args.messages
    latencies = figures["latencies"]
    p50, p99 = _quantile(latencies, 0.50) * 1e3, _quantile(latencies, 0.99) * 1e3
    base = _quantile(figures["baseline"], 0.50) * 1e3
    rate = m / figures["seconds"] if figures["seconds"] > 0 else float("nan")
    memory = sum(figures["peak_mb"])
    per_socket = (figures["rss_after_mb"] - figures["rss_before_mb"]) * 1024 / n
    processes = f"{figures['servers']} daphne process{'es' if figures['servers'] > 1 else ''}"
    print(f"{processes}, {figures['layer']} channel layer; database: {figures['database']}")
    print(
        f"  {n:,} sockets opened in {figures['connect_seconds']:.1f} s; "
        f"{figures['open_at_end']:,} still open at the end; "
        f"{per_socket:.0f} KB of server memory per socket"
    )
    print(
        f"  {m:,} messages to {p} participants from {args.senders} senders: "
        f"{figures['seconds']:.2f} s, {rate:,.0f} messages/s, {rate * p:,.0f} frames/s "
        f"(all POSTs answered after {figures['posted_seconds']:.2f} s)"
    )
    print(
        f"  fan-out, POST to frame: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {latencies[-1] * 1e3 if latencies else float('nan'):.1f} ms; "
        f"POST answered p50 {_quantile(figures['answers'], 0.5) * 1e3:.1f} ms"
    )
    print(
        f"  baseline, GET of the conversation: p50 {base:.1f} ms; fan-out p50 = {p50 / base:.1f} x"
    )
    parts = ", ".join(f"{mb:.0f} MB" for mb in figures["peak_mb"])
    print(
        f"  peak memory of the servers: {memory:.0f} MB ({parts}); this process {_self_mb():.0f} MB"
    )
    met = _check(
        f"every frame arrived: {figures['received']:,} of {m * p:,}", figures["received"] == m * p
    )
    met &= _check(
        f"every socket stayed open: {figures['open_at_end']:,} of {n:,}",
        figures["open_at_end"] == n,
    )
    met &= _check(
        f"{n:,} sockets: servers' peak memory {memory:.0f} MB < {TARGETS['memory_mb']} MB",
        memory < TARGETS["memory_mb"],
    )
    met &= _check(
        f"fan-out p99 {p99:.1f} ms < {TARGETS['fan_out_p99_ms']} ms at {p} participants",
        p99 < TARGETS["fan_out_p99_ms"],
    )
    return met


def _self_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare(one: dict, two: dict, args) -> None:
    rate = [args.messages / f["seconds"] for f in (one, two)]
    p99 = [_quantile(f["latencies"], 0.99) for f in (one, two)]
    p50 = [_quantile(f["latencies"], 0.50) for f in (one, two)]
    print("two processes through Redis / one process in memory:")
    print(
        f"  messages/s {rate[1] / rate[0]:.2f} x, fan-out p50 {p50[1] / p50[0]:.2f} x, "
        f"p99 {p99[1] / p99[0]:.2f} x, memory {sum(two['peak_mb']) / sum(one['peak_mb']):.2f} x"
    )


def _raise_open_files(sockets: int) -> None:
    """This process holds every client socket: lift its limit of open files to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = sockets + 200
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    if min(wanted, hard) < wanted:
        raise SystemExit(f"{sockets} sockets need {wanted} open files; the hard limit is {hard}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=2000, help="open sockets, one per profile")
    parser.add_argument("--participants", type=int, default=100, help="of the conversation")
    parser.add_argument("--messages", type=int, default=1000, help="sent to the conversation")
    parser.add_argument("--senders", type=int, default=4, help="participants posting at once")
    parser.add_argument(
        "--echo-interval", type=float, default=60.0, help="seconds between a socket's echoes"
    )
    parser.add_argument("--redis-url", default=REDIS_URL, help="the channel layer of the 2nd run")
    parser.add_argument("--no-redis", action="store_true", help="skip the two-process run")
    parser.add_argument(
        "--database-url", help="a PostgreSQL URL; its database is created and dropped"
    )
    args = parser.parse_args(argv)
    if not 0 < args.senders <= args.participants <= args.sockets:
        parser.error("need 0 < senders <= participants <= sockets")
    _raise_open_files(args.sockets)
    print(
        f"{args.sockets:,} sockets, a conversation of {args.participants} of them, "
        f"{args.messages:,} messages"
    )
    one = run(args, servers=1, redis_url=None)
    met = report(args, one)
    if args.no_redis:
        return 0 if met else 1
    two = run(args, servers=2, redis_url=args.redis_url)
    met &= report(args, two)
    compare(one, two, args)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
