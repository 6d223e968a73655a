"""Momentum's Multi-Channel Message Type (MCMT): a MIME message whose APNs parts are pushes.

An APNs part has `Content-Type: message/vnd.msys.apn`; its body is a small message of its own:
headers (X-Device-Token, optional Return-Path and Content-Transfer-Encoding), a blank line, and
the APNs JSON payload. Parts of other types (e-mail, SMS...) are reported as skipped. Parsing
is pure: it reads bytes and says, part by part, what to send or what is wrong; the payload's
JSON rules are payloads.given_apns_payload's, applied by whoever stores the push.
"""

import email
import email.errors
import email.policy
import json
import re
from dataclasses import dataclass
from email.message import Message

APN_CONTENT_TYPE = "message/vnd.msys.apn"
# Tokens are hex; the Momentum documentation's own example has 35 digits, so any length is
# taken (up to what a Device row holds) and Apple judges the token.
TOKEN_MAX_CHARS = 200
_HEX = re.compile(r"[0-9A-Fa-f]+\Z")
# Encodings the reference names (7bit, base64) and their MIME siblings.
_ENCODINGS = frozenset({"", "7bit", "8bit", "binary", "base64", "quoted-printable"})


class McmtError(ValueError):
    """The whole message is unusable; `code` is stable, `message` says what to fix."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ApnPart:
    """An APNs part ready to be sent: the token (lowercase hex) and the payload bytes."""

    index: int
    token: str
    payload: bytes
    return_path: str


@dataclass(frozen=True, slots=True)
class BadPart:
    """An APNs part that cannot be sent, and why."""

    index: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class SkippedPart:
    """A part of another channel's type, which Pushport does not send."""

    index: int
    content_type: str


Part = ApnPart | BadPart | SkippedPart


def _describe(defect: email.errors.MessageDefect) -> str:
    """A defect in words: its text, or its class name spelt out (most carry no text)."""
    text = str(defect).strip()
    if text:
        return text
    name = type(defect).__name__.removesuffix("Defect")
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _leaves(message: Message):
    """The parts of a message in order, multipart containers opened, APNs parts kept whole."""
    if message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            yield from _leaves(part)
    else:
        yield message


def _header(message: Message, name: str) -> str:
    return str(message.get(name, "")).strip()


def without_trailing_commas(payload: bytes) -> bytes:
    """The payload with any comma before a closing } or ] left out, when that is all that keeps
    it from being JSON; any other payload unchanged.

    Momentum's own documented example ends its object with `"app-key" : "bar",` and Momentum
    passed such payloads on; strict JSON refuses them. Commas inside strings are kept.
    """
    try:
        json.loads(payload)
    except ValueError:
        pass
    else:
        return payload
    kept = bytearray()
    in_string = escaped = False
    for index, byte in enumerate(payload):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # a backslash escapes the next byte
                escaped = True
            elif byte == 0x22:  # the closing quote
                in_string = False
        elif byte == 0x22:
            in_string, escaped = True, False
        elif byte == 0x2C and payload[index + 1 :].lstrip()[:1] in (b"}", b"]"):
            continue
        kept.append(byte)
    repaired = bytes(kept)
    try:
        json.loads(repaired)
    except ValueError:
        return payload  # not only trailing commas: refused later with the parser's own words
    return repaired


def _apn_part(index: int, part: Message, *, return_path: str) -> ApnPart | BadPart:
    inner = part.get_payload()
    if not isinstance(inner, list) or len(inner) != 1 or not isinstance(inner[0], Message):
        return BadPart(index, "part_malformed", "The APNs part's body is not headers and a body.")
    inner = inner[0]
    token = _header(inner, "X-Device-Token")
    if not token:
        where = (
            " It is among the part's MIME headers: put a blank line between Content-Type and "
            "X-Device-Token, as Momentum requires."
            if _header(part, "X-Device-Token")
            else ""
        )
        return BadPart(
            index,
            "missing_device_token",
            "The APNs part has no X-Device-Token header after its Content-Type." + where,
        )
    if not _HEX.match(token) or len(token) > TOKEN_MAX_CHARS:
        shown = token[:16] + ("…" if len(token) > 16 else "")
        return BadPart(
            index,
            "device_token_not_hex",
            f"X-Device-Token {shown!r} is not a device token in hex "
            f"(digits 0-9 and a-f, at most {TOKEN_MAX_CHARS}).",
        )
    encoding = _header(inner, "Content-Transfer-Encoding").lower()
    if encoding not in _ENCODINGS:
        return BadPart(
            index,
            "part_malformed",
            f"Content-Transfer-Encoding {encoding!r} is not one of 7bit, 8bit, base64, "
            "quoted-printable.",
        )
    defects = [*part.defects, *inner.defects]
    if defects:
        return BadPart(
            index, "part_malformed", f"The APNs part is malformed MIME: {_describe(defects[0])}."
        )
    payload = inner.get_payload(decode=True)
    if inner.defects:
        # Decoding base64 records its own defects (bad padding, stray characters).
        return BadPart(
            index,
            "part_malformed",
            f"The payload's {encoding} is invalid: {_describe(inner.defects[0])}.",
        )
    return ApnPart(
        index=index,
        token=token.lower(),
        payload=without_trailing_commas(payload or b""),
        return_path=_header(inner, "Return-Path") or return_path,
    )


def parse(raw: bytes, *, content_type: str = "", mail_from: str = "") -> list[Part]:
    """The parts of an MCMT message, each ready to send, refused with a reason, or skipped.

    `raw` is a whole MIME message (headers and body), or with `content_type` (an HTTP
    Content-Type such as multipart/mixed; boundary=...) only its body. `mail_from` is the
    SMTP envelope sender, the Return-Path of parts that name none (as in Momentum). Raises
    McmtError when the message as a whole cannot be read.
    """
    if content_type:
        raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    # compat32 keeps the bytes of a payload exactly as they came (no re-folding, no charset
    # guesses), which "sent as given" needs.
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    top_type = message.get_content_type()
    if message.get_content_maintype() != "multipart" and top_type != APN_CONTENT_TYPE:
        raise McmtError(
            "mcmt_not_multipart",
            f"An MCMT message is multipart (multipart/mixed with a boundary); this is {top_type}.",
        )
    if message.defects:
        raise McmtError(
            "mcmt_malformed", f"The MIME message is malformed: {_describe(message.defects[0])}."
        )
    return_path = _header(message, "Return-Path") or mail_from
    parts: list[Part] = []
    for index, part in enumerate(_leaves(message)):
        kind = part.get_content_type()
        if kind != APN_CONTENT_TYPE:
            parts.append(SkippedPart(index, kind))
        else:
            parts.append(_apn_part(index, part, return_path=return_path))
    if not parts:
        raise McmtError("mcmt_empty", "The MCMT message has no parts.")
    return parts
