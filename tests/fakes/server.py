"""What the provider fakes share: asyncio servers in a thread, HTTP/2 plumbing, Node children.

Each fake keeps only its own protocol rules; this module runs the listeners on 127.0.0.1,
tracks their connections, parses HTTP/2 into whole requests, injects faults, counts
per device token, and talks to the Node versions used by the benchmarks.

Faults and per-token counts (`FaultControls`, the same API on the Python fakes and on their
Node versions, whose node_fake.mjs implements it). They apply to send requests only (not
FCM's token endpoint) and, except the share failures, to HTTP/2 only:

    fake.fail_share(0.1, status=503, reason=None, retry_after=None)
        every k-th send that would have been accepted (deterministic: the n-th is picked
        when floor(n * share) grows; 0.1 picks the 10th, 20th, ...) is answered with this
        error instead; `reason` defaults to the provider's name for the status
        (APNs ServiceUnavailable, FCM UNAVAILABLE); `retry_after` adds a Retry-After header.
    fake.reset_share(0.1, error_code=REFUSED_STREAM)
        that share of the streams is reset on arrival: not processed, not accepted.
    fake.hold_answers(8.0, share=1.0)
        that share of the answers waits this many seconds; the request is processed (and
        counted accepted) on arrival, only its answer is late: a provider slower than a lease.
    fake.goaway_every(1.0, reason=...)
        every interval, each connection gets GOAWAY whose last_stream_id is the highest
        stream the fake processed; streams above it are never processed (not received, not
        accepted); the connection closes once the processed ones are answered (held ones too).
        A client on python-hyper h2 cannot read answers that follow a GOAWAY (its state
        machine closes on it: python-hyper/h2#1181), so it sees those as a lost connection.
    fake.drop_every(1.0)
        every interval, each connection is closed abruptly (TCP): requests already processed
        stay accepted but their answers, if not yet written, are lost.
    fake.set_faults(spec) / fake.clear_faults()
        the same as one dict, {"fail": {...}, "reset": {...}, "hold": {...}, "goaway": {...},
        "drop": {...}}, each with the arguments above ("every" for the intervals); a key set to
        None turns that fault off, a key left out leaves it as it is.
    fake.received_by_token(), fake.accepted_by_token(), fake.answered_by_token()
        {device token: count}: requests received (any answer, or none), accepted (processed
        with a 200, counted when processed), and accepted whose 200 was written to the
        connection. accepted minus answered is "accepted, answer lost" (a drop, a client
        that gave up). An answer written just before a drop may still be lost in the socket.

Counters in `counts` (ServerCounts) add answered, reset_streams, refused_streams (after a
GOAWAY), goaways and drops. The Python fakes also take these controls before `start()`;
the Node ones take a spec as `start(faults=...)` and get the controls as stdin commands
(node_fake.mjs lists them), each worker picking its own share of the requests.
"""

import asyncio
import collections
import json
import math
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame

from tests.fakes.tls import TestCA

# The fakes must see (and refuse) whatever a client sends, so h2 checks nothing itself.
_H2_CONFIG = h2.config.H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
)


def open_h2(transport, *, max_streams: int) -> h2.connection.H2Connection:
    """A server HTTP/2 connection offering `max_streams` streams, its preface written."""
    connection = h2.connection.H2Connection(_H2_CONFIG)
    connection.local_settings = h2.settings.Settings(
        client=False,
        initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: max_streams},
    )
    connection.initiate_connection()
    transport.write(connection.data_to_send())
    return connection


def take_scripted(failures: dict, token: str):
    """The failure scripted for this token (None if none), used up after its `times`."""
    failure = failures.get(token)
    if failure is None:
        return None
    if failure.times is not None:
        failure.times -= 1
        if failure.times <= 0:
            del failures[token]
    return failure


@dataclass
class ServerCounts:
    """What every fake counts; ServerConnection keeps all but requests and accepted."""

    connections: int = 0
    max_concurrent_streams: int = 0
    requests: int = 0
    accepted: int = 0
    answered: int = 0
    reset_streams: int = 0
    refused_streams: int = 0
    goaways: int = 0
    drops: int = 0


FAULTS = ("fail", "reset", "hold", "goaway", "drop")
REFUSED_STREAM = int(h2.errors.ErrorCodes.REFUSED_STREAM)


class Share:
    """Picks `share` of its calls, the same ones every run: the n-th call is picked when
    floor(n * share) grows, so 0.1 picks the 10th, 20th, ... and 1 picks every call."""

    def __init__(self, share: float):
        if not 0 <= share <= 1:
            raise ValueError(f"a share is between 0 and 1, not {share}")
        self.share = share
        self.seen = 0

    def pick(self) -> bool:
        self.seen += 1
        # The epsilon keeps 0.57 * 100 from flooring to 56 (node_fake.mjs does the same).
        now = math.floor(self.seen * self.share + 1e-9)
        return now > math.floor((self.seen - 1) * self.share + 1e-9)


class Faults:
    """The faults a Python fake injects, set from a spec (see the module docstring)."""

    def __init__(self):
        self.spec: dict = dict.fromkeys(FAULTS)
        self._shares: dict[str, Share] = {}

    def update(self, spec: dict):
        """Take a complete spec (FaultControls._complete)."""
        for name, value in spec.items():
            self.spec[name] = dict(value) if value else None
            if value and "share" in value:
                self._shares[name] = Share(value["share"])
            else:
                self._shares.pop(name, None)

    def _picked(self, name: str) -> dict | None:
        share = self._shares.get(name)
        return self.spec[name] if share is not None and share.pick() else None

    def failure(self) -> dict | None:
        """The share failure this request gets ({status, reason, retry_after}), if any."""
        return self._picked("fail")

    def reset_code(self) -> int | None:
        """The RST_STREAM error code for this arriving stream, if it is to be reset."""
        reset = self._picked("reset")
        return None if reset is None else reset.get("error_code", REFUSED_STREAM)

    def hold_seconds(self) -> float:
        """How long this answer waits (0: it goes at once)."""
        hold = self._picked("hold")
        return 0.0 if hold is None else float(hold["seconds"])

    def interval(self, name: str) -> float | None:
        timer = self.spec[name]
        return float(timer["every"]) if timer and timer.get("every") else None


class TokenCounts:
    """Per device token: requests received, accepted (when processed), accepted and answered."""

    def __init__(self):
        self.received = collections.Counter()
        self.accepted = collections.Counter()
        self.answered = collections.Counter()

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "received": dict(self.received),
            "accepted": dict(self.accepted),
            "answered": dict(self.answered),
        }


class FaultControls:
    """The fault controls and per-token counts of every fake, Python or Node (see above).

    A fake implements `_apply_faults(spec)` and `token_counts()`, and names its provider's
    error reasons for the share failures and its GOAWAY reason.
    """

    SHARE_FAILURE_REASONS: dict[int, str] = {}
    GOAWAY_REASON: str | None = None

    def set_faults(self, spec: dict) -> None:
        """Change the faults named in `spec` (see the module docstring); others stay."""
        self._apply_faults(self._complete(spec))

    def _complete(self, spec: dict) -> dict:
        """The spec with every default filled in, so the Node fakes need none of their own."""
        unknown = set(spec) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        defaults = {
            "fail": {"status": 503, "reason": None, "retry_after": None},
            "reset": {"error_code": REFUSED_STREAM},
            "hold": {"share": 1.0},
            "goaway": {"reason": self.GOAWAY_REASON},
            "drop": {},
        }
        complete = {}
        for name, value in spec.items():
            value = {**defaults[name], **value} if value else None
            if name == "fail" and value:
                value["reason"] = (
                    value["reason"]
                    or self.SHARE_FAILURE_REASONS.get(value["status"])
                    or str(value["status"])
                )
            complete[name] = value
        return complete

    def _apply_faults(self, spec: dict) -> None:
        raise NotImplementedError

    def token_counts(self) -> dict[str, dict[str, int]]:
        """{"received": {token: n}, "accepted": {...}, "answered": {...}}."""
        raise NotImplementedError

    def fail_share(
        self, share: float, status: int = 503, reason: str | None = None, *, retry_after=None
    ):
        """Answer every k-th send that would be accepted with this error (share 0: none)."""
        fail = {"share": share, "status": status, "reason": reason, "retry_after": retry_after}
        self.set_faults({"fail": fail if share else None})

    def reset_share(self, share: float, *, error_code: int = REFUSED_STREAM):
        """Reset (RST_STREAM) this share of the arriving streams, unprocessed."""
        self.set_faults({"reset": {"share": share, "error_code": error_code} if share else None})

    def hold_answers(self, seconds: float, *, share: float = 1.0):
        """Send this share of the answers `seconds` late (processed and counted at once)."""
        hold = {"share": share, "seconds": seconds}
        self.set_faults({"hold": hold if seconds and share else None})

    def goaway_every(self, seconds: float | None, *, reason: str | None = "default"):
        """Every `seconds`, GOAWAY each connection after its processed streams (None: stop)."""
        reason = self.GOAWAY_REASON if reason == "default" else reason
        self.set_faults({"goaway": {"every": seconds, "reason": reason} if seconds else None})

    def drop_every(self, seconds: float | None):
        """Every `seconds`, close each connection abruptly (None: stop)."""
        self.set_faults({"drop": {"every": seconds} if seconds else None})

    def clear_faults(self):
        """Turn every fault of this module off (counts and scripted failures stay)."""
        self.set_faults(dict.fromkeys(FAULTS))

    def received_by_token(self) -> dict[str, int]:
        return self.token_counts()["received"]

    def accepted_by_token(self) -> dict[str, int]:
        return self.token_counts()["accepted"]

    def answered_by_token(self) -> dict[str, int]:
        return self.token_counts()["answered"]


class FakeServer(FaultControls):
    """Serves asyncio protocols on 127.0.0.1 from a background thread.

    Connections register themselves in `_connections` and count in `counts` (a ServerCounts).
    A fake calls `_reset_faults_and_tokens()` from its `reset()`, counts an accepted send
    with `_accept(token)`, and says which requests faults apply to and whose token they carry.
    """

    def __init__(self):
        self._loop = None
        self._thread = None
        self._servers = []
        self._connections: set = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.faults = Faults()
        self.tokens = TokenCounts()

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    # faults and per-token counts

    def _reset_faults_and_tokens(self):
        self.faults = Faults()
        self.tokens = TokenCounts()
        self._on_loop(self._arm_timers)

    def _apply_faults(self, spec: dict) -> None:
        def apply():
            self.faults.update(spec)
            self._arm_timers()

        self._on_loop(apply)

    def token_counts(self) -> dict[str, dict[str, int]]:
        return self._on_loop(self.tokens.as_dict)

    def _on_loop(self, function):
        """Run `function` on the fake's loop (the counters' one writer), or here before start."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.current_thread() is self._thread:
            return function()

        async def call():
            return function()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(5)

    def _arm_timers(self):
        """(Re)start the GOAWAY and drop timers the faults ask for; on the loop."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._loop is None:
            return  # start() arms them
        for name, action in (("goaway", self._goaway_all), ("drop", self._drop_all)):
            interval = self.faults.interval(name)
            if interval:
                self._timers[name] = self._loop.call_later(interval, self._tick, name, action)

    def _tick(self, name: str, action):
        action()
        interval = self.faults.interval(name)
        if interval:
            self._timers[name] = self._loop.call_later(interval, self._tick, name, action)

    def _goaway_all(self):
        reason = (self.faults.spec["goaway"] or {}).get("reason")
        debug = json.dumps({"reason": reason}).encode() if reason else b""
        for connection in list(self._connections):
            connection.go_away_gracefully(debug)

    def _drop_all(self):
        for connection in list(self._connections):
            self.counts.drops += 1
            connection.transport.abort()

    def _accept(self, token: str | None):
        """Count one accepted send, when it is processed (its answer may still be lost)."""
        self.counts.accepted += 1
        if token:
            self.tokens.accepted[token] += 1

    def _faulty(self, headers) -> bool:
        """Whether faults apply to this request (a send, not a token request)."""
        return True

    def _token_of(self, headers, body: bytes) -> str | None:
        """The device token a request is for, if it names one."""
        return None

    # serving

    def _serve(self, listeners, *, ssl_context, name: str) -> list[int]:
        """Listen with each (protocol factory, port) pair; the ports bound, in that order."""
        ready = threading.Event()
        ports = []
        failure = []

        def serve():
            self._loop = asyncio.new_event_loop()
            try:
                for factory, port in listeners:
                    server = self._loop.run_until_complete(
                        self._loop.create_server(
                            factory, "127.0.0.1", port, ssl=ssl_context, backlog=1024
                        )
                    )
                    self._servers.append(server)
                    ports.append(server.sockets[0].getsockname()[1])
            except Exception as exc:
                failure.append(exc)
                ready.set()
                return
            # Faults set before start() get their timers now.
            self._arm_timers()
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=serve, name=name, daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return ports

    def _stop_serving(self):
        """Close the listeners, drop every connection and end the thread."""

        async def shutdown():
            for timer in self._timers.values():
                timer.cancel()
            for server in self._servers:
                server.close()
            for connection in list(self._connections):
                connection.transport.abort()

        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


class ServerConnection(asyncio.Protocol):
    """One connection to a FakeServer; with `h2` set, HTTP/2 read into whole requests.

    A subclass answers in `_answer(stream_id, headers, body)` and sends that answer through
    `_reply`, which holds it when the faults say so and counts it answered once written.
    """

    def __init__(self, fake: FakeServer):
        self.fake = fake
        self.transport = None
        self.h2 = None
        self.requests: dict[int, list] = {}
        self.open_streams = 0
        self.closed_in_read = 0
        self.processed = 0  # the highest stream processed: a GOAWAY's last_stream_id
        self.last_stream_id: int | None = None  # set once this connection sent its GOAWAY
        self.held_answers = 0

    def connection_made(self, transport):
        self.transport = transport
        self.fake.counts.connections += 1
        self.fake._connections.add(self)

    def connection_lost(self, exc):
        self.fake._connections.discard(self)

    def _h2_received(self, data: bytes):
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.transport.write(self.h2.data_to_send())
            self.transport.close()
            return
        for event in events:
            kind = type(event)
            if kind is h2.events.RequestReceived:
                if self.last_stream_id is not None and event.stream_id > self.last_stream_id:
                    # Sent before the client read our GOAWAY: never processed.
                    self.fake.counts.refused_streams += 1
                    continue
                self.requests[event.stream_id] = [event.headers, b""]
                self.open_streams += 1
                counts = self.fake.counts
                if self.open_streams > counts.max_concurrent_streams:
                    counts.max_concurrent_streams = self.open_streams
            elif kind is h2.events.DataReceived:
                request = self.requests.get(event.stream_id)
                if request is not None:
                    request[1] += event.data
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif kind is h2.events.StreamEnded:
                request = self.requests.pop(event.stream_id, None)
                if request is not None:
                    self._request_ended(event.stream_id, *request)
                    if self.transport.is_closing():
                        return
            elif kind is h2.events.PingReceived:
                self._ping_received()
            elif kind is h2.events.StreamReset:
                self._stream_reset(event.stream_id)
        self._flush()
        self._close_if_gone_away()

    def _request_ended(self, stream_id: int, headers, body: bytes):
        """A whole request arrived: count it, reset it if the faults say so, or process it."""
        fake = self.fake
        if not fake._faulty(headers):
            self._answer(stream_id, headers, body)
            return
        token = fake._token_of(headers, body)
        if token:
            fake.tokens.received[token] += 1
        code = fake.faults.reset_code()
        if code is not None:
            fake.counts.reset_streams += 1
            self.h2.reset_stream(stream_id, code)
            self._stream_closed()
            return
        self.processed = max(self.processed, stream_id)
        self._answer(stream_id, headers, body)

    def _answer(self, stream_id: int, headers, body: bytes):
        raise NotImplementedError

    def _reply(self, stream_id: int, accepted_token: str | None, send, *, faulty: bool = True):
        """Send an answer (`send()` queues it in h2), now or held; `accepted_token` names the
        token of an accepted send, counted answered once its answer is written."""
        seconds = self.fake.faults.hold_seconds() if faulty else 0.0
        if not seconds:
            self._send_answer(accepted_token, send)
            return
        self.held_answers += 1
        asyncio.get_running_loop().call_later(seconds, self._send_held, accepted_token, send)

    def _send_held(self, accepted_token: str | None, send):
        self.held_answers -= 1
        self._send_answer(accepted_token, send)
        self._flush()
        self._close_if_gone_away()

    def _send_answer(self, accepted_token: str | None, send):
        if self.transport.is_closing():
            return  # dropped: the answer is lost
        try:
            send()
        except h2.exceptions.StreamClosedError:
            pass  # the client gave up on it
        else:
            if accepted_token is not None:
                self.fake.counts.answered += 1
                if accepted_token:
                    self.fake.tokens.answered[accepted_token] += 1
        self._stream_closed()

    def _stream_closed(self):
        # The stream counts as open until its answer is written, at the end of this read.
        self.closed_in_read += 1

    def _flush(self):
        """Write what h2 queued; the streams answered meanwhile stop counting as open."""
        self.open_streams -= self.closed_in_read
        self.closed_in_read = 0
        if not self.transport.is_closing():
            self.transport.write(self.h2.data_to_send())

    def go_away_gracefully(self, debug: bytes = b""):
        """GOAWAY after the streams processed so far; close once they are all answered."""
        if self.h2 is None:
            self.transport.close()  # HTTP/1.1: nothing in flight to finish
            return
        if self.last_stream_id is not None or self.transport.is_closing():
            return
        self.last_stream_id = self.processed
        self.fake.counts.goaways += 1
        for stream_id in [sid for sid in self.requests if sid > self.processed]:
            del self.requests[stream_id]
            self.open_streams -= 1
            self.fake.counts.refused_streams += 1
        self._flush()
        # Written by hand: h2's close_connection would refuse to send the held answers.
        frame = GoAwayFrame(0)
        frame.last_stream_id = self.last_stream_id
        frame.error_code = int(h2.errors.ErrorCodes.NO_ERROR)
        frame.additional_data = debug
        self.transport.write(frame.serialize())
        self._close_if_gone_away()

    def _close_if_gone_away(self):
        if self.last_stream_id is None or self.held_answers or self.transport.is_closing():
            return
        if not any(sid <= self.last_stream_id for sid in self.requests):
            self.transport.close()

    def _ping_received(self):
        """h2 has queued the PING's acknowledgement; a fake may count it."""

    def _stream_reset(self, stream_id: int) -> bool:
        """Forget a request the client reset; whether it was still unread."""
        unread = self.requests.pop(stream_id, None) is not None
        if unread:
            self.open_streams -= 1
        return unread


class NodeFake(FaultControls):
    """A Node version of a fake run as a child: configured by one JSON line, asked by lines.

    With `workers` > 1 it serves from that many processes sharing its port (node_fake.mjs):
    fault controls reach every worker before they return, counts are summed over them, and
    the share faults pick every k-th request of each worker. A subclass names its SCRIPT
    and NAME, and passes `faults` (a spec) to `_launch` to start with them.
    """

    SCRIPT = None
    NAME = ""

    def __init__(self, *, node: str, ca: TestCA | None, max_streams: int, workers: int = 1):
        self.node = node
        self._own_ca = ca is None
        self.ca = ca or TestCA()
        self.max_streams = max_streams
        self.workers = workers
        self.port = 0
        self._process = None

    def _launch(self, *, port: int, faults: dict | None = None, **config):
        """Start Node serving the CA's certificate on `port` (0: any) with this config."""
        self._process = subprocess.Popen(
            [self.node, str(self.SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        config = {
            "cert_file": self.ca.cert_file,
            "key_file": self.ca.key_file,
            "port": port,
            "max_streams": self.max_streams,
            "workers": self.workers,
            "faults": self._complete(faults or {}),
            **config,
        }
        self.port = json.loads(self._ask(json.dumps(config)))["port"]

    def _ask(self, line: str) -> str:
        """Send one line; the answer line."""
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the Node fake {self.NAME} exited")
        return answer

    def cpu_seconds(self) -> float:
        """CPU time (user and system) Node and its workers have used so far."""
        pids = [self._process.pid]
        children = Path(f"/proc/{pids[0]}/task/{pids[0]}/children")
        pids += [int(pid) for pid in children.read_text().split()]
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def _counts(self) -> dict:
        """The fake's counters, summed over its workers."""
        return json.loads(self._ask("counts"))

    def _apply_faults(self, spec: dict) -> None:
        self._command({"faults": spec})

    def token_counts(self) -> dict[str, dict[str, int]]:
        return json.loads(self._ask("tokens"))

    def reset(self):
        """Turn every fault off and zero every count, in every worker."""
        self._command({"reset": True})

    def _command(self, command: dict):
        answer = self._ask(json.dumps(command)).strip()
        if answer != "ok":
            raise RuntimeError(f"the Node fake {self.NAME} refused {command}: {answer}")

    def stop(self):
        """Close Node's stdin (it exits, with its workers) and remove a CA of its own."""
        if self._process is not None:
            self._process.stdin.close()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._own_ca:
            self.ca.cleanup()
