"""A lean HTTP/2-over-TLS client for push providers: many streams on few long-lived connections.

API (everything runs on one asyncio loop; see runner.py for sync callers):

    pool = H2Pool(host, port, ssl_context=ssl_context(), max_connections=2)
    response = await pool.request(b"POST", b"/3/device/...", headers, body, timeout=10.0)
    future = pool.submit(b"POST", path, headers, body, timeout)  # same, without a task per call
    await pool.aclose()

`headers` is a list of (bytes, bytes) pairs *without* the pseudo-headers, which the pool adds
(`:method`, `:scheme`, `:authority`, `:path`); a value that changes with every request (or is
secret) should come as `Unindexed(name, value)`: it goes literal, never into the HPACK
table. `body` is bytes. The answer is an `H2Response`
(status, headers as (bytes, bytes) pairs, body). Failures raise a `TransportError`:
`ConnectionLost` (reset, closed, refused, TLS failure: see `tls_error`), `StreamReset` (the
server reset the stream), `RequestTimeout` (no answer within `timeout` seconds of the request
going on the wire) or `GoAway` (the server closed the connection before processing the
request; `reason` is the JSON debug data's "reason", when any). Every one of them means the
request may be sent again; `unsent` says the server cannot have processed it (never written,
above a GOAWAY's last_stream_id, or refused with REFUSED_STREAM), so sending it again can
never deliver it twice.

The pool honours each connection's SETTINGS_MAX_CONCURRENT_STREAMS (capped by
`max_streams_cap`), queues the requests that find no free stream, opens up to
`max_connections` connections only when the open ones are full, keeps connections open
across calls, and PINGs a connection that stayed idle for `ping_interval` seconds.
"""

import asyncio
import collections
import contextlib
import json
import logging
import ssl
import time

import jh2.config
import jh2.errors
import jh2.events
import jh2.exceptions
from django.conf import settings

from channels_app.providers.h2_internals import H2Connection, Unindexed

logger = logging.getLogger(__name__)

_H2_CONFIG = dict(
    client_side=True,
    header_encoding=None,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
)
_SWEEP_INTERVAL = 0.1
_IDLE_SWEEP_INTERVAL = 1.0
_PING_TIMEOUT = 20.0
_CONNECT_TIMEOUT = 10.0


class TransportError(Exception):
    """The request got no HTTP answer; sending it again is safe."""

    # True when the server cannot have processed the request (see the module docstring).
    unsent = False


class ConnectionLost(TransportError):
    """The connection failed or closed before the answer arrived."""

    def __init__(
        self, message: str = "connection lost", *, tls_error: bool = False, unsent: bool = False
    ):
        super().__init__(message)
        # The TLS handshake failed, or the server hung up before speaking HTTP/2 (as it does
        # with a client certificate it refuses): a configuration problem, not a blip.
        self.tls_error = tls_error
        self.unsent = unsent


class StreamReset(TransportError):
    """The server reset the request's stream."""

    def __init__(self, error_code: int):
        super().__init__(f"stream reset by the server (error code {error_code})")
        self.error_code = error_code
        # RFC 9113 8.7: REFUSED_STREAM means the server did no processing of the request.
        self.unsent = error_code == jh2.errors.ErrorCodes.REFUSED_STREAM


class RequestTimeout(TransportError):
    """No answer within the request's timeout."""


class GoAway(TransportError):
    """The server sent GOAWAY before processing the request."""

    unsent = True

    def __init__(self, reason: str = "", error_code: int = 0, retriable: bool = True):
        super().__init__(f"GOAWAY ({reason or f'error code {error_code}'})")
        self.reason = reason
        self.error_code = error_code
        self.retriable = retriable


class H2Response:
    """One HTTP/2 answer."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: bytes) -> bytes | None:
        """The first value of a (lowercase) header, or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


def ssl_context(*, ca_bundle: str | None = None, client_cert: tuple[str, str] | None = None):
    """A client TLS context for HTTP/2 (ALPN h2, TLS 1.2+).

    `ca_bundle` defaults to the PUSHPORT_PROVIDER_CA_BUNDLE setting (system CAs when empty);
    `client_cert` is a (certificate file, key file) pair for certificate authentication.
    """
    if ca_bundle is None:
        ca_bundle = settings.PUSHPORT_PROVIDER_CA_BUNDLE
    context = ssl.create_default_context(cafile=ca_bundle or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    if client_cert:
        context.load_cert_chain(*client_cert)
    return context


class _Request:
    __slots__ = ("body", "future", "headers", "timeout")

    def __init__(self, headers, body, timeout, future):
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.future = future


class _Stream:
    __slots__ = ("body", "deadline", "future", "headers", "pending", "status")

    def __init__(self, future, deadline):
        self.future = future
        self.deadline = deadline
        self.status = 0
        self.headers = ()
        self.body = b""
        self.pending = b""


def _goaway_reason(data: bytes | None) -> str:
    if not data:
        return ""
    try:
        reason = json.loads(data).get("reason", "")
    except (ValueError, AttributeError):
        return data[:100].decode("utf-8", "replace")
    return reason if isinstance(reason, str) else ""


class _Connection(asyncio.Protocol):
    """One HTTP/2 connection; the pool decides which requests go on it."""

    def __init__(self, pool: "H2Pool"):
        self.pool = pool
        self.loop = pool.loop
        self.streams: dict[int, _Stream] = {}
        self.h2 = H2Connection(jh2.config.H2Configuration(**_H2_CONFIG), self.streams)
        self.transport = None
        self.ready = self.loop.create_future()
        self.blocked: collections.OrderedDict[int, _Stream] = collections.OrderedDict()
        self.limit = 1
        # Until its first answer a connection's real stream limit is unknown (APNs starts at 1).
        self.warm = False
        self.closing = False
        self.closed = False
        self.last_activity = time.monotonic()
        self.ping_deadline = 0.0
        self.flush_scheduled = False
        self.timer = None

    # asyncio callbacks

    def connection_made(self, transport):
        self.transport = transport
        self.h2.initiate_connection()
        transport.write(self.h2.data_to_send())
        self.timer = self.loop.call_later(_SWEEP_INTERVAL, self._sweep)

    def data_received(self, data: bytes):
        self.last_activity = time.monotonic()
        self.ping_deadline = 0.0
        try:
            events = self.h2.receive_data(data)
        except jh2.exceptions.ProtocolError as exc:
            self._fail_all(ConnectionLost(f"HTTP/2 protocol error: {exc}"))
            self.transport.close()
            return
        streams = self.streams
        for event in events:
            kind = type(event)
            if kind is jh2.events.DataReceived:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream.body += event.data
                if event.flow_controlled_length:
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif kind is jh2.events.ResponseReceived:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream.headers = event.headers
                    for key, value in event.headers:
                        if key == b":status":
                            stream.status = int(value)
                            break
            elif kind is jh2.events.StreamEnded:
                self.warm = True
                stream = streams.pop(event.stream_id, None)
                if stream is not None:
                    if self.blocked.pop(event.stream_id, None) is not None:
                        # Answered before the body was all sent: close our half too.
                        self.h2.reset_stream(event.stream_id, jh2.errors.ErrorCodes.CANCEL)
                    self.h2.forget(event.stream_id)
                    if not stream.future.done():
                        stream.future.set_result(
                            H2Response(stream.status, stream.headers, stream.body)
                        )
            elif kind is jh2.events.StreamReset:
                self._end_stream(event.stream_id, StreamReset(event.error_code))
            elif kind is jh2.events.RemoteSettingsChanged:
                self._apply_settings()
            elif kind is jh2.events.WindowUpdated:
                self._send_blocked()
            elif kind is jh2.events.ConnectionTerminated:
                self._goaway(event)
        if not self.ready.done() and not self.closing:
            # The server's preface (SETTINGS) arrived: the stream limit is known.
            self.ready.set_result(None)
        # What the answers made (acknowledgements, window updates) leaves with the requests
        # their callbacks start, in one write: in a busy server the fakes read 0.2 to 0.4
        # times per request instead of 0.6.
        self.schedule_flush()
        self.pool.schedule_dispatch()

    def connection_lost(self, exc):
        self.closed = True
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
        # With TLS 1.3 a refused client certificate shows only as a close before the preface.
        refused = isinstance(exc, ssl.SSLError) or not self.ready.done()
        error = ConnectionLost(
            f"connection lost: {exc}" if exc else "connection closed by the server",
            tls_error=refused,
        )
        if not self.ready.done():
            self.ready.set_exception(error)
        self._fail_all(error)
        self.pool._forget(self)

    # requests

    @property
    def free(self) -> int:
        return 0 if self.closing else self.limit - len(self.streams)

    def start(self, request: _Request):
        """Put one request on a new stream; the caller flushes."""
        stream_id = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream_id, request.headers, end_stream=not request.body)
        stream = _Stream(request.future, time.monotonic() + request.timeout)
        self.streams[stream_id] = stream
        if request.body:
            stream.pending = request.body
            self._send_body(stream_id, stream)

    def _send_body(self, stream_id: int, stream: _Stream) -> None:
        window = min(self.h2.local_flow_control_window(stream_id), len(stream.pending))
        frame_size = self.h2.max_outbound_frame_size
        while window > 0:
            size = min(window, frame_size)
            chunk, stream.pending = stream.pending[:size], stream.pending[size:]
            window -= size
            self.h2.send_data(stream_id, chunk, end_stream=not stream.pending)
        if stream.pending:
            self.blocked[stream_id] = stream
        else:
            self.blocked.pop(stream_id, None)

    def _send_blocked(self):
        for stream_id, stream in list(self.blocked.items()):
            if self.h2.local_flow_control_window(stream_id) <= 0:
                if self.h2.outbound_flow_control_window <= 0:
                    return
                continue
            self._send_body(stream_id, stream)

    def flush(self):
        data = self.h2.data_to_send()
        if data and not self.closed:
            self.transport.write(data)

    def schedule_flush(self):
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._scheduled_flush)

    def _scheduled_flush(self):
        self.flush_scheduled = False
        self.flush()

    # connection state

    def _apply_settings(self):
        remote = self.h2.remote_settings.max_concurrent_streams
        self.limit = max(0, min(remote, self.pool.max_streams_cap))

    def _end_stream(self, stream_id: int, error: Exception):
        self.warm = True
        stream = self.streams.pop(stream_id, None)
        self.blocked.pop(stream_id, None)
        self.h2.forget(stream_id)
        if stream is not None and not stream.future.done():
            stream.future.set_exception(error)

    def _goaway(self, event):
        self.closing = True
        reason = _goaway_reason(event.additional_data)
        last = event.last_stream_id
        logger.warning(
            "push connection to %s got GOAWAY (code %s, reason %r)",
            self.pool.authority_text,
            event.error_code,
            reason,
        )
        # Streams above last_stream_id were never processed; the ones below may still finish.
        for stream_id in [sid for sid in self.streams if last is None or sid > last]:
            self._end_stream(stream_id, GoAway(reason, int(event.error_code)))
        if not self.ready.done():
            self.ready.set_exception(GoAway(reason, int(event.error_code)))
        if not self.streams:
            self.transport.close()
        self.pool._forget(self)

    def _fail_all(self, error: Exception):
        streams, self.streams = self.streams, {}
        self.blocked.clear()
        for stream in streams.values():
            if not stream.future.done():
                stream.future.set_exception(error)

    def _sweep(self):
        """Time out requests, and PING a connection that was idle for too long."""
        now = time.monotonic()
        if self.streams:
            expired = [sid for sid, stream in self.streams.items() if stream.deadline <= now]
            for stream_id in expired:
                self._end_stream(stream_id, RequestTimeout("no answer in time"))
                with contextlib.suppress(jh2.exceptions.H2Error):
                    self.h2.reset_stream(stream_id, jh2.errors.ErrorCodes.CANCEL)
                    self.h2.forget(stream_id)
            if expired:
                self._ping(now)
                self.pool._dispatch()
        elif self.closing and not self.closed:
            self.transport.close()
        if self.ping_deadline and now > self.ping_deadline:
            # No frame at all since the PING: the peer or the path is gone.
            self._fail_all(ConnectionLost("no answer to PING"))
            self.transport.close()
            return
        if not self.streams and now - self.last_activity > self.pool.ping_interval:
            self._ping(now)
        self.flush()
        interval = _SWEEP_INTERVAL if self.streams else _IDLE_SWEEP_INTERVAL
        self.timer = self.loop.call_later(interval, self._sweep)

    def _ping(self, now: float):
        if self.ping_deadline or self.closing:
            return
        self.ping_deadline = now + _PING_TIMEOUT
        self.last_activity = now
        self.h2.ping(b"pushport")


class H2Pool:
    """Up to `max_connections` HTTP/2 connections to one origin with one authentication."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int = 1,
        max_streams_cap: int = 1000,
        ping_interval: float = 3600.0,
        connect_timeout: float = _CONNECT_TIMEOUT,
    ):
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.max_connections = max(1, max_connections)
        self.max_streams_cap = max_streams_cap
        self.ping_interval = ping_interval
        self.connect_timeout = connect_timeout
        self.authority_text = f"{host}:{port}"
        self._scheme_authority = [
            (b":scheme", b"https"),
            (b":authority", (host if port == 443 else self.authority_text).encode()),
        ]
        self.loop = None
        self._connections: list[_Connection] = []
        self._connecting = 0
        self._queue: collections.deque[_Request] = collections.deque()
        self._closed = False
        self._dispatch_scheduled = False
        self.connections_opened = 0

    async def request(self, method: bytes, path: bytes, headers, body: bytes, timeout: float):
        """Send one request and wait for its answer (see the module docstring)."""
        return await self.submit(method, path, headers, body, timeout)

    def submit(self, method: bytes, path: bytes, headers, body: bytes, timeout: float):
        """Queue one request; the returned future resolves to an H2Response or raises."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        future = self.loop.create_future()
        if self._closed:
            future.set_exception(ConnectionLost("the pool is closed", unsent=True))
            return future
        # A per-request value goes literal, never indexed, as Apple asks: no table churn.
        full = [(b":method", method), *self._scheme_authority, Unindexed(b":path", path)]
        full.extend(headers)
        self._queue.append(_Request(full, body, timeout, future))
        self._dispatch()
        return future

    def schedule_dispatch(self):
        """Start queued requests soon: after the callbacks of the answers just received."""
        if not self._dispatch_scheduled and self._queue:
            self._dispatch_scheduled = True
            self.loop.call_soon(self._scheduled_dispatch)

    def _scheduled_dispatch(self):
        self._dispatch_scheduled = False
        self._dispatch()

    def _dispatch(self):
        queue = self._queue
        if not queue:
            return
        for connection in list(self._connections):
            if connection.closing:
                self._connections.remove(connection)
                continue
            free = connection.free
            if free <= 0 or not connection.ready.done():
                continue
            started = False
            while free > 0 and queue:
                request = queue.popleft()
                if request.future.done():
                    continue
                try:
                    connection.start(request)
                except jh2.exceptions.TooManyStreamsError:
                    # The server lowered its limit under us; wait for streams to finish.
                    queue.appendleft(request)
                    connection.limit = len(connection.streams)
                    break
                except jh2.exceptions.NoAvailableStreamIDError:
                    # Days of traffic used up the stream ids: drain it, open a fresh one.
                    queue.appendleft(request)
                    connection.closing = True
                    break
                started = True
                free -= 1
            if started:
                connection.schedule_flush()
            if not queue:
                return
        if self._connecting or not all(c.warm for c in self._connections):
            return
        if len(self._connections) < self.max_connections:
            self._connecting += 1
            self.loop.create_task(self._connect())

    async def _connect(self):
        try:
            _, connection = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: _Connection(self),
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.host,
                ),
                self.connect_timeout,
            )
            await asyncio.wait_for(asyncio.shield(connection.ready), self.connect_timeout)
            if connection.transport.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
                connection.transport.close()
                raise ConnectionLost(f"{self.authority_text} does not speak HTTP/2")
        except (OSError, TimeoutError, TransportError) as exc:
            self._connecting -= 1
            self._connect_failed(exc)
            return
        self._connecting -= 1
        if self._closed:
            connection.transport.close()
            return
        self.connections_opened += 1
        self._connections.append(connection)
        self._dispatch()

    def _connect_failed(self, exc: Exception):
        tls = isinstance(exc, ssl.SSLError) or getattr(exc, "tls_error", False)
        logger.warning("push connection to %s failed: %s", self.authority_text, exc)
        if self._connections or self._connecting:
            return
        # Nothing can carry the queued requests: fail them rather than wait forever.
        error = ConnectionLost(
            f"cannot connect to {self.authority_text}: {exc}", tls_error=tls, unsent=True
        )
        queue, self._queue = self._queue, collections.deque()
        for request in queue:
            if not request.future.done():
                request.future.set_exception(error)

    def _forget(self, connection: _Connection):
        if connection in self._connections:
            self._connections.remove(connection)
        if self._queue:
            self._dispatch()

    def cancel_queued(self, futures) -> None:
        """Cancel those of these requests that are still waiting for a stream."""
        wanted = {id(future) for future in futures if future is not None}
        keep = collections.deque()
        for request in self._queue:
            if id(request.future) in wanted:
                request.future.cancel()
            else:
                keep.append(request)
        self._queue = keep

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def aclose(self):
        """Close every connection; queued and in-flight requests fail with ConnectionLost."""
        self.close()

    def close(self):
        """aclose(), for callers on the pool's loop that cannot await."""
        self._closed = True
        error = ConnectionLost("the pool is closed", unsent=True)
        for request in self._queue:
            if not request.future.done():
                request.future.set_exception(error)
        self._queue.clear()
        for connection in list(self._connections):
            connection.closing = True
            try:
                connection.h2.close_connection()
                connection.flush()
            except jh2.exceptions.H2Error:
                pass
            connection.transport.close()
        self._connections.clear()
