"""The one place that leans on jh2's internals, for speed and for delivery guarantees.

jh2 is h2's maintained fork with HPACK in native code: it spends about a fifth less CPU per
request than h2 and hpack (bench/send_throughput.py: the providers' loops), and its encoder
never logs a header, so a bearer credential cannot reach a log through it. Its connection
keeps h2's API and internals; what this module uses of them, that jh2 does not promise to
keep, is listed below, pyproject pins the release it is tested with, and
tests/channels_app/test_h2_internals.py fails loudly when an upgrade moves one of them.
Nothing else in the project touches a private attribute of jh2.
"""

import jh2.connection
from jh2.hpack import NeverIndexedHeaderTuple as Unindexed
from jh2.stream import StreamClosedBy

__all__ = ["H2Connection", "Unindexed"]

# What this module reads or replaces, checked by the test named above.
H2_CONNECTION_ATTRIBUTES = (
    "streams",
    "_closed_streams",
    "open_outbound_streams",
    "state_machine",
    "_receive_goaway_frame",
)


class H2Connection(jh2.connection.H2Connection):
    """The HTTP/2 state machine without its scan of every stream before each new one, and
    with the answers a GOAWAY still owes.

    jh2 (as h2) counts open streams by walking all of them (and drops closed ones as it
    goes): with hundreds in flight that walk costs more than the request. The connection
    knows its streams, so it answers the count and drops each closed stream itself.

    It also takes a received GOAWAY as the end of the connection and refuses every frame
    after it, so the answers to streams at or below last_stream_id, which the server
    processed and still sends (RFC 9113 6.8), would be lost and those requests sent twice.
    The connection stays open for them; the pool starts no new stream on it.
    """

    def __init__(self, config, in_flight: dict):
        super().__init__(config)
        self._in_flight = in_flight

    @property
    def open_outbound_streams(self) -> int:
        return len(self._in_flight)

    def _receive_goaway_frame(self, frame):
        events = super()._receive_goaway_frame(frame)
        self.state_machine.state = jh2.connection.ConnectionState.CLIENT_OPEN
        return events

    def forget(self, stream_id: int) -> None:
        """Drop a closed stream, as the library would on its next walk.

        The library remembers how each of its last 65,536 streams closed, only to tell a late
        frame on a reset stream (a stream error) from one on a finished stream (a connection
        error, as for a stream it does not remember): kept for every stream, that grew a
        process by 5 MB a connection at 100,000 notifications. Only resets are remembered.
        """
        stream = self.streams.get(stream_id)
        if stream is not None and stream.closed:
            del self.streams[stream_id]
            if stream.closed_by in _RESET:
                self._closed_streams[stream_id] = stream.closed_by


_RESET = (StreamClosedBy.SEND_RST_STREAM, StreamClosedBy.RECV_RST_STREAM)
