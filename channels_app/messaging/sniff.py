"""What kind of file a few leading bytes show.

An uploaded file is served back to other people, so its type is taken from its content, not
from the name or type the client gives: a page uploaded as "image/png" must not come back as
HTML. Only formats with a fixed signature are recognised, plus UTF-8 text (served as
text/plain, so markup in it is never rendered).
"""

# Enough for every signature below, and for a fair UTF-8 check of text.
HEAD_BYTES = 512

# The extension each recognised type is stored under; the view serves the type back from it.
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "text/plain": "txt",
}
TYPES = {extension: content_type for content_type, extension in EXTENSIONS.items()}

_PREFIXES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
]
# ISO base media files (MP4, QuickTime, HEIC) say what they are in the brand after "ftyp".
_BRANDS = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heic",
}


def sniff(head: bytes) -> str | None:
    """The MIME type the file's first bytes show, or None when they show none we know."""
    for prefix, content_type in _PREFIXES:
        if head.startswith(prefix):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if head[8:12] == b"WEBP" else "audio/wav"
    if head[4:8] == b"ftyp":
        return _BRANDS.get(head[8:12], "video/mp4")
    # MPEG audio without an ID3 tag starts with a frame sync: eleven set bits.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "audio/mpeg"
    if head and _is_text(head):
        return "text/plain"
    return None


# Control characters plain text does not hold (tab, line feed, form feed and carriage
# return aside): binaries are full of them, and many start with one.
_BINARY = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F}


def _is_text(head: bytes) -> bool:
    if any(byte in _BINARY for byte in head):
        return False
    # The head may end inside a multi-byte character: up to three bytes may be cut off.
    for cut in range(4):
        try:
            head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False
