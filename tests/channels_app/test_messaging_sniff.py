"""Recognising an upload's type from its first bytes."""

import pytest

from channels_app.messaging.sniff import EXTENSIONS, sniff


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"%PDF-1.4\n", "application/pdf"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x00", "audio/mpeg"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"\x1a\x45\xdf\xa3\x01\x00", "video/webm"),
        ("héllo wörld".encode(), "text/plain"),
    ],
)
def test_it_recognises_each_format_by_its_signature(head, expected):
    assert sniff(head) == expected
    assert expected in EXTENSIONS


def test_text_cut_inside_a_multibyte_character_is_still_text():
    assert sniff("日本語".encode()[:-1]) == "text/plain"


@pytest.mark.parametrize("head", [b"", b"\x7fELF\x02\x01", b"MZ\x90\x00\x03\x00", b"ab\x00cd"])
def test_it_recognises_nothing_in_binaries_it_does_not_know(head):
    assert sniff(head) is None
