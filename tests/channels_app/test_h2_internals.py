"""The one place using h2's and hpack's internals fails loudly when an upgrade moves them."""

import inspect
import logging

import h2.config
import h2.connection
import hpack
import pytest

from channels_app.providers import h2_internals
from channels_app.providers.h2_internals import Encoder, H2Connection, Unindexed


def test_hpack_still_has_what_the_encoder_relies_on():
    encoder = hpack.Encoder()
    for name in h2_internals.HPACK_ENCODER_ATTRIBUTES:
        assert hasattr(encoder, name), f"hpack.Encoder no longer has {name}: see h2_internals.py"
    for name in h2_internals.HPACK_TABLE_ATTRIBUTES:
        assert hasattr(encoder.header_table, name), f"hpack's HeaderTable lost {name}"
    assert list(inspect.signature(hpack.Encoder.add).parameters) == [
        "self",
        "to_add",
        "sensitive",
        "huffman",
    ]


def test_h2_still_has_what_the_connection_relies_on():
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    for name in h2_internals.H2_CONNECTION_ATTRIBUTES:
        assert hasattr(connection, name), f"h2's H2Connection no longer has {name}"
    assert isinstance(connection.streams, dict)
    assert isinstance(h2.connection.H2Connection.open_outbound_streams, property)


def test_the_connection_counts_its_own_streams():
    in_flight = {1: object(), 3: object()}
    connection = H2Connection(h2.config.H2Configuration(client_side=True), in_flight)

    assert connection.open_outbound_streams == 2


def test_the_header_encoder_stays_decodable_as_its_table_fills_and_evicts():
    encoder, decoder = Encoder(), hpack.Decoder()
    blocks = []
    for n in range(300):
        # Repeated headers, a value that changes now and then (new table entries that evict
        # old ones), and a per-request value that must never enter the table.
        headers = [
            (b":method", b"POST"),
            (b"apns-topic", b"com.example.%d" % (n // 50)),
            (b"apns-collapse-id", b"x" * 40 + b"%d" % (n // 7)),
            Unindexed(b":path", b"/3/device/%064x" % n),
        ]
        if n == 150:
            encoder.header_table_size = 2048  # a size change is announced, then encoding goes on
        blocks.append((headers, encoder.encode(headers)))

    for headers, block in blocks:
        assert decoder.decode(block, raw=True) == [(name, value) for name, value in headers]
    assert not any(
        b"/3/device/" in name + value for name, value in decoder.header_table.dynamic_entries
    )


@pytest.mark.parametrize("resized", [False, True])
def test_a_bearer_credential_is_never_indexed_nor_logged(caplog, resized):
    encoder, decoder = Encoder(), hpack.Decoder()
    if resized:
        encoder.header_table_size = 1024
    secret = b"bearer eyJhbGciOiJFUzI1NiJ9.secret-provider-token"

    with caplog.at_level(logging.DEBUG):
        block = encoder.encode([(b":method", b"POST"), Unindexed(b"authorization", secret)])

    assert decoder.decode(block, raw=True)[1] == (b"authorization", secret)
    assert not decoder.header_table.dynamic_entries or all(
        value != secret for _, value in decoder.header_table.dynamic_entries
    )
    assert b"eyJ" not in caplog.text.encode()
