"""What the provider fakes share: asyncio servers in a thread, HTTP/2 plumbing, Node children.

Each fake keeps only its own protocol rules; this module runs the listeners on 127.0.0.1,
tracks their connections, parses HTTP/2 into whole requests, and talks to the Node
versions used by the benchmarks.
"""

import asyncio
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

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
    """What every fake counts; ServerConnection keeps the first two."""

    connections: int = 0
    max_concurrent_streams: int = 0
    requests: int = 0
    accepted: int = 0


class FakeServer:
    """Serves asyncio protocols on 127.0.0.1 from a background thread.

    Connections register themselves in `_connections` and count in `counts` (a ServerCounts).
    """

    def __init__(self):
        self._loop = None
        self._thread = None
        self._servers = []
        self._connections: set = set()

    @property
    def open_connections(self) -> int:
        return len(self._connections)

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

    A subclass answers in `_answer(stream_id, headers, body)`.
    """

    def __init__(self, fake: FakeServer):
        self.fake = fake
        self.transport = None
        self.h2 = None
        self.requests: dict[int, list] = {}
        self.open_streams = 0

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
                    self._answer(event.stream_id, *request)
                    if self.transport.is_closing():
                        return
            elif kind is h2.events.PingReceived:
                self._ping_received()
            elif kind is h2.events.StreamReset:
                self._stream_reset(event.stream_id)
        self._read_done()
        self.transport.write(self.h2.data_to_send())

    def _answer(self, stream_id: int, headers, body: bytes):
        raise NotImplementedError

    def _ping_received(self):
        """h2 has queued the PING's acknowledgement; a fake may count it."""

    def _stream_reset(self, stream_id: int) -> bool:
        """Forget a request the client reset; whether it was still unread."""
        return self.requests.pop(stream_id, None) is not None

    def _read_done(self):
        """Every event of one read was handled; its answers are written next."""


class NodeFake:
    """A Node version of a fake run as a child: configured by one JSON line, asked by lines.

    With `workers` > 1 it serves from that many processes sharing its port (node_fake.mjs).
    A subclass names its SCRIPT and NAME.
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

    def _launch(self, *, port: int, **config):
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
