"""Reading Momentum MCMT messages: APNs parts, their tokens and payloads as given."""

import base64

import pytest

from channels_app.compat import mcmt
from tests.channels_app.mcmt_examples import EXAMPLE, PAYLOAD, TOKEN, apn_part, message


def test_the_documented_example_is_one_apns_part_with_its_token_and_exact_payload():
    assert mcmt.parse(EXAMPLE) == [
        mcmt.ApnPart(index=0, token=TOKEN, payload=PAYLOAD, return_path="")
    ]


def test_a_multipart_body_reads_with_the_content_type_given_apart():
    body = EXAMPLE.split(b"\n\n", 1)[1]
    parts = mcmt.parse(body, content_type="multipart/mixed; boundary=MCMT_BOUNDARY")
    assert parts == [mcmt.ApnPart(index=0, token=TOKEN, payload=PAYLOAD, return_path="")]


def test_crlf_line_ends_stay_in_the_payload_as_they_came():
    (part,) = mcmt.parse(EXAMPLE.replace(b"\n", b"\r\n"))
    assert part.payload == PAYLOAD.replace(b"\n", b"\r\n")


def test_a_base64_payload_is_decoded():
    encoded = base64.b64encode(PAYLOAD)
    raw = message(apn_part(payload=encoded, headers="Content-Transfer-Encoding: base64\n"))
    assert mcmt.parse(raw)[0].payload == PAYLOAD


def test_the_return_path_is_the_parts_then_the_messages_then_the_envelope_sender():
    own = apn_part(headers="Return-Path: <part@example.com>\n")
    raw = message(own, apn_part(), headers="Return-Path: <message@example.com>\n")
    first, second = mcmt.parse(raw, mail_from="envelope@example.com")
    assert (first.return_path, second.return_path) == (
        "<part@example.com>",
        "<message@example.com>",
    )
    assert mcmt.parse(EXAMPLE, mail_from="envelope@example.com")[0].return_path == (
        "envelope@example.com"
    )


def test_parts_of_other_channels_are_skipped_in_their_place():
    text = b"Content-Type: text/plain\n\nAn e-mail part"
    parts = mcmt.parse(message(text, apn_part()))
    assert parts[0] == mcmt.SkippedPart(index=0, content_type="text/plain")
    assert isinstance(parts[1], mcmt.ApnPart)


def test_a_part_without_a_token_says_so_and_the_next_part_is_still_read():
    bad, good = mcmt.parse(message(apn_part(token=""), apn_part()))
    assert (bad.code, good.token) == ("missing_device_token", TOKEN)


def test_a_token_among_the_mime_headers_points_at_the_missing_blank_line():
    raw = message(b"Content-Type: message/vnd.msys.apn\nX-Device-Token: ab12\n\n" + PAYLOAD)
    (part,) = mcmt.parse(raw)
    assert part.code == "missing_device_token"
    assert "blank line" in part.message


@pytest.mark.parametrize("token", ["not-hex", "12 34", "0x1234", "g" * 64])
def test_a_token_that_is_not_hex_is_refused(token):
    (part,) = mcmt.parse(message(apn_part(token=token)))
    assert part.code == "device_token_not_hex"


def test_a_token_is_kept_in_lowercase():
    (part,) = mcmt.parse(message(apn_part(token=TOKEN.upper())))
    assert part.token == TOKEN


def test_invalid_base64_is_a_malformed_part():
    raw = message(
        apn_part(payload=b"eyJhcHMiOnt9fQ=", headers="Content-Transfer-Encoding: base64\n")
    )
    (part,) = mcmt.parse(raw)
    assert part.code == "part_malformed"
    assert "base64" in part.message


def test_a_header_block_without_its_blank_line_is_a_malformed_part():
    raw = message(b"Content-Type: message/vnd.msys.apn\n\nX-Device-Token: ab12\nnot a header\n{}")
    (part,) = mcmt.parse(raw)
    assert part.code == "part_malformed"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"Content-Type: text/plain\n\nhello", "mcmt_not_multipart"),
        (b"Content-Type: multipart/mixed\n\nhello", "mcmt_malformed"),
        (b"Content-Type: multipart/mixed; boundary=X\n\nno boundary here", "mcmt_malformed"),
        (
            b"Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\nhi\n",
            "mcmt_malformed",
        ),
    ],
)
def test_a_message_that_is_not_mcmt_mime_is_refused_whole(raw, code):
    with pytest.raises(mcmt.McmtError) as caught:
        mcmt.parse(raw)
    assert caught.value.code == code
