"""MCMT messages for the tests, built from the example in Momentum's APNs documentation."""

TOKEN = "123acb90ffa0978cbade354ddffee76665a"
# The documentation's payload, but for one character: the example ends the object with a
# trailing comma ("app-key" : "bar",), which strict JSON refuses and Momentum passed on; Pushport
# leaves such commas out and sends the rest byte for byte (see the trailing-comma test).
PAYLOAD = b"""{
  "aps" : {
    "alert" : "You have mail",
    "badge" : 9,
    "sound" : "dingdong.aiff"
   },
   "app-key" : "bar"
}"""
PAYLOAD_AS_DOCUMENTED = PAYLOAD.replace(b'"bar"', b'"bar",')
BOUNDARY = "MCMT_BOUNDARY"


def apn_part(token: str = TOKEN, payload: bytes = PAYLOAD, *, headers: str = "") -> bytes:
    """One message/vnd.msys.apn part as the documentation lays it out (the blank line before
    X-Device-Token included), without its boundary line."""
    inner = f"X-Device-Token: {token}\n" if token else ""
    return b"Content-Type: message/vnd.msys.apn\n\n" + (inner + headers).encode() + b"\n" + payload


def body(*parts: bytes) -> bytes:
    """The multipart body of these parts (what follows the message's headers)."""
    delimiter = f"--{BOUNDARY}\n".encode()
    return b"".join(delimiter + part + b"\n" for part in parts) + f"--{BOUNDARY}--\n".encode()


def message(*parts: bytes, headers: str = "") -> bytes:
    """A whole MCMT MIME message (message/rfc822) of these parts."""
    top = f"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary={BOUNDARY}\n{headers}\n"
    return top.encode() + body(*parts)


EXAMPLE = message(apn_part())
