"""The one place that leans on h2's and hpack's internals, for speed and for secrecy.

Everything here uses attributes those libraries do not promise to keep; pyproject pins the
versions it is tested with, and tests/channels_app/test_h2_internals.py fails loudly when an
upgrade moves one of them. Nothing else in the project touches a private attribute of h2 or
hpack.
"""

import h2.connection
import hpack
from hpack import NeverIndexedHeaderTuple as Unindexed

__all__ = ["Encoder", "H2Connection", "Unindexed"]

# What this module reads or replaces, checked by the test named above.
HPACK_ENCODER_ATTRIBUTES = ("header_table", "add", "_encode_table_size_change")
HPACK_TABLE_ATTRIBUTES = ("resized", "dynamic_entries")
H2_CONNECTION_ATTRIBUTES = (
    "streams",
    "_closed_streams",
    "open_outbound_streams",
    "state_machine",
    "_receive_goaway_frame",
)


class Encoder(hpack.Encoder):
    """HPACK that reuses the bytes of the headers every request repeats, and never logs a value.

    Once a repeated header sits in the dynamic table its indexed form stays the same until the
    table changes, so its bytes are kept and forgotten whenever the table changes. `Unindexed`
    values (per-request values and bearer credentials) never enter the table and are never
    logged: hpack's own encode() logs the encoded block, which would show a bearer token in
    the clear, so it is not called. No Huffman coding: it costs both ends more CPU than the
    bytes it saves.
    """

    def __init__(self):
        super().__init__()
        self._known: dict[tuple, bytes] = {}

    def encode(self, headers, huffman: bool = False) -> bytes:
        table = self.header_table
        block = []
        if table.resized:
            block.append(self._encode_table_size_change())
            table.resized = False
            self._known.clear()
        known = self._known
        entries = table.dynamic_entries
        for header in headers:
            if header.__class__ is Unindexed:
                block.append(self.add(header, True, huffman))
                continue
            encoded = known.get(header)
            if encoded is None:
                size, first = len(entries), entries[0] if entries else None
                encoded = self.add(header, False, huffman)
                if len(entries) != size or (entries and entries[0] is not first):
                    known.clear()  # indexes moved: what was kept no longer holds
                else:
                    known[header] = encoded
            block.append(encoded)
        return b"".join(block)


class H2Connection(h2.connection.H2Connection):
    """h2's state machine without its scan of every stream before each new one, and with the
    answers a GOAWAY still owes.

    h2 counts open streams by walking all of them (and drops closed ones as it goes): with
    hundreds in flight that walk costs more than the request. The connection knows its
    streams, so it answers the count and drops each closed stream itself.

    h2 also takes a received GOAWAY as the end of the connection and refuses every frame
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
        self.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        return events

    def forget(self, stream_id: int) -> None:
        """Drop a closed stream, as h2 would on its next walk."""
        stream = self.streams.get(stream_id)
        if stream is not None and stream.closed:
            del self.streams[stream_id]
            self._closed_streams[stream_id] = stream.closed_by
