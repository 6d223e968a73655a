"""The one place using jh2's internals fails loudly when an upgrade moves them, and what
goes through it keeps per-request values and credentials out of the HPACK table and logs."""

import logging

import hpack
import jh2.config
import jh2.connection

from channels_app.providers import h2_internals
from channels_app.providers.h2_internals import H2Connection, Unindexed

CONFIG = dict(client_side=True, header_encoding=None)


def test_jh2_still_has_what_the_connection_relies_on():
    connection = jh2.connection.H2Connection(jh2.config.H2Configuration(client_side=True))
    for name in h2_internals.H2_CONNECTION_ATTRIBUTES:
        assert hasattr(connection, name), f"jh2's H2Connection no longer has {name}"
    assert isinstance(connection.streams, dict)
    assert isinstance(jh2.connection.H2Connection.open_outbound_streams, property)


def test_the_connection_counts_its_own_streams():
    in_flight = {1: object(), 3: object()}
    connection = H2Connection(jh2.config.H2Configuration(**CONFIG), in_flight)

    assert connection.open_outbound_streams == 2


def _header_blocks(sent: bytes) -> list[bytes]:
    """The HPACK blocks of the HEADERS frames in bytes a client sent (after its preface)."""
    blocks, at = [], sent.index(b"\r\n\r\nSM\r\n\r\n") + 10
    while at < len(sent):
        length, kind = int.from_bytes(sent[at : at + 3], "big"), sent[at + 3]
        if kind == 0x1:  # HEADERS, no padding or priority
            blocks.append(sent[at + 9 : at + 9 + length])
        at += 9 + length
    return blocks


def _client() -> H2Connection:
    connection = H2Connection(jh2.config.H2Configuration(**CONFIG), {})
    connection.initiate_connection()
    return connection


def test_repeated_headers_are_indexed_and_per_request_values_never_are():
    connection = _client()
    requests = []
    for n in range(300):
        # Repeated headers, a value that changes now and then (new table entries that evict
        # old ones), and a per-request value that must never enter the table.
        headers = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", b"api.push.apple.com"),
            Unindexed(b":path", b"/3/device/%064x" % n),
            (b"apns-topic", b"com.example.%d" % (n // 50)),
            (b"apns-collapse-id", b"x" * 40 + b"%d" % (n // 7)),
        ]
        stream_id = connection.get_next_available_stream_id()
        connection.send_headers(stream_id, headers, end_stream=True)
        requests.append(headers)
    decoder = hpack.Decoder()

    blocks = _header_blocks(connection.data_to_send())

    assert [decoder.decode(block, raw=True) for block in blocks] == [
        [(name, value) for name, value in headers] for headers in requests
    ]
    assert not any(b"/3/device/" in n + v for n, v in decoder.header_table.dynamic_entries)
    # The repeated headers cost a byte or two each once they are in the table.
    assert len(blocks[-1]) < len(blocks[0]) / 2


def test_a_bearer_credential_is_never_indexed_nor_logged(caplog):
    connection = _client()
    secret = b"bearer eyJhbGciOiJFUzI1NiJ9.secret-provider-token"

    with caplog.at_level(logging.DEBUG):
        for n in range(3):
            connection.send_headers(
                connection.get_next_available_stream_id(),
                [
                    (b":method", b"POST"),
                    (b":scheme", b"https"),
                    (b":authority", b"api.push.apple.com"),
                    Unindexed(b":path", b"/3/device/%064x" % n),
                    Unindexed(b"authorization", secret),
                ],
                end_stream=True,
            )
        sent = connection.data_to_send()
    decoder = hpack.Decoder()

    for block in _header_blocks(sent):
        authorization = decoder.decode(block, raw=True)[-1]
        assert authorization == (b"authorization", secret)
        # RFC 7541 6.2.3: the never-indexed literal form, so that intermediaries keep it out
        # of their tables too.
        assert isinstance(authorization, hpack.NeverIndexedHeaderTuple)
    assert all(value != secret for _, value in decoder.header_table.dynamic_entries)
    assert b"eyJ" not in caplog.text.encode()


def _pair() -> tuple[H2Connection, jh2.connection.H2Connection]:
    """A client connection and a server one, their preface and settings exchanged."""
    client = _client()
    server = jh2.connection.H2Connection(
        jh2.config.H2Configuration(client_side=False, header_encoding=None)
    )
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    return client, server


def _request(client: H2Connection, server) -> int:
    stream_id = client.get_next_available_stream_id()
    client.send_headers(
        stream_id,
        [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"x"), (b":path", b"/")],
        end_stream=True,
    )
    server.receive_data(client.data_to_send())
    return stream_id


def test_finished_streams_leave_nothing_behind():
    client, server = _pair()

    for _ in range(1000):
        stream_id = _request(client, server)
        server.send_headers(stream_id, [(b":status", b"200")], end_stream=True)
        client.receive_data(server.data_to_send())
        client.forget(stream_id)

    assert client.streams == {}
    assert len(client._closed_streams) == 0


def test_a_late_frame_on_a_reset_stream_resets_only_that_stream():
    client, server = _pair()
    stream_id = _request(client, server)
    client.reset_stream(stream_id)
    client.forget(stream_id)
    client.data_to_send()

    # The server answers before it reads the reset: a stream error, not a connection one.
    server.send_headers(stream_id, [(b":status", b"200")])
    client.receive_data(server.data_to_send())

    assert b"\x00\x00\x04\x03" in client.data_to_send()  # RST_STREAM, 4 bytes
    assert client.state_machine.state != jh2.connection.ConnectionState.CLOSED
