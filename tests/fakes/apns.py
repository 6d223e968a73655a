"""A fake APNs: a real HTTP/2-over-TLS server that checks requests the way Apple documents.

It listens on two 127.0.0.1 ports (production and sandbox), verifies ES256 provider tokens
with registered public keys or the TLS client certificate, enforces the header, size and
token-refresh rules, starts each connection at one concurrent stream until a valid token
arrives, answers scripted failures per device token, can send GOAWAY, and records every
accepted notification. Run `python -m tests.fakes.apns` to serve it alone (for h2load).

Test controls: `fail(token, status, reason, times=)` and `stall(token)` per device token,
`goaway_after_accepting(n)` and `goaway_now()`, `register_device`, `advance` (the clock),
`reset()`; and the faults shared with the FCM fake and both Node fakes (server.py):
`fail_share(share, status=503, reason="ServiceUnavailable", retry_after=None)`,
`reset_share`, `hold_answers`, `goaway_every` (debug data {"reason": "Shutdown"}),
`drop_every`, `clear_faults`, and the per-token counts `received_by_token()`,
`accepted_by_token()`, `answered_by_token()`. A share failure hits only requests that pass
every check and scripted failure, so it stands for Apple failing a good request.
"""

import collections
import functools
import json
import re
import ssl
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import h2.errors
import h2.exceptions
import h2.settings
import jwt
from cryptography.hazmat.primitives import serialization
from hpack import NeverIndexedHeaderTuple

from tests.fakes.server import (
    FakeServer,
    NodeFake,
    ServerConnection,
    ServerCounts,
    open_h2,
    take_scripted,
)
from tests.fakes.tls import TestCA

PRODUCTION = "production"
SANDBOX = "sandbox"
PUSH_TYPE_SUFFIX = {
    "alert": "",
    "background": "",
    "location": ".location-query",
    "voip": ".voip",
    "complication": ".complication",
    "fileprovider": ".pushkit.fileprovider",
    "mdm": "",
    "liveactivity": ".push-type.liveactivity",
    "pushtotalk": ".voip-ptt",
    "widgets": ".push-type.widgets",
    "controls": ".push-type.controls",
}
# What fail_share answers when given a status alone, and what goaway_every says.
SHARE_FAILURE_REASONS = {
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}
GOAWAY_REASON = "Shutdown"
TOKEN_LIFETIME = 3600
TOKEN_UPDATE_INTERVAL = 20 * 60
_UUID = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX = re.compile(rb"^[0-9a-fA-F]+$")


class Refusal(Exception):
    def __init__(self, status: int, reason: str, timestamp: int | None = None, retry_after=None):
        self.status = status
        self.reason = reason
        self.timestamp = timestamp
        self.retry_after = retry_after


@dataclass
class Failure:
    status: int
    reason: str
    timestamp: int | None = None
    times: int | None = None


@dataclass
class Notification:
    """One accepted notification as the fake recorded it."""

    token: str
    environment: str
    headers: dict
    payload: dict
    # The request body byte for byte (payloads sent as given are checked against it).
    body: bytes = b""


@dataclass
class _Key:
    team_id: str
    public_key: object


@dataclass
class Counts(ServerCounts):
    closed_connections: int = 0
    token_updates: int = 0
    tls_client_certificates: int = 0
    pings: int = 0
    stream_limit_changes: int = 0
    reasons: collections.Counter = field(default_factory=collections.Counter)


def _public_key(key):
    """The public half of a key given as a key object or a private-key PEM."""
    if isinstance(key, bytes | str):
        key = serialization.load_pem_private_key(
            key.encode() if isinstance(key, str) else key, None
        )
    return key.public_key() if hasattr(key, "public_key") else key


class _ServerConnection(ServerConnection):
    def __init__(self, fake: "FakeApns", environment: str):
        super().__init__(fake)
        self.environment = environment
        self.held: set[int] = set()
        self.certificate_der = None
        self.token = None
        self.token_since = 0.0
        self.token_key = None
        self.raised = False
        self.lowered: int | None = None

    def connection_made(self, transport):
        super().connection_made(transport)
        fake = self.fake
        ssl_object = transport.get_extra_info("ssl_object")
        self.certificate_der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if self.certificate_der:
            fake.counts.tls_client_certificates += 1
        self.h2 = open_h2(transport, max_streams=fake.initial_streams)
        self.h2.encoder.encode = functools.partial(self.h2.encoder.encode, huffman=False)

    def connection_lost(self, exc):
        super().connection_lost(exc)
        self.fake.counts.closed_connections += 1

    def data_received(self, data: bytes):
        self._h2_received(data)

    def _ping_received(self):
        self.fake.counts.pings += 1

    def _stream_reset(self, stream_id: int) -> bool:
        held = stream_id in self.held
        self.held.discard(stream_id)
        if held:
            self.open_streams -= 1
        return super()._stream_reset(stream_id)

    def _answer(self, stream_id: int, headers, body: bytes):
        fake = self.fake
        fake.counts.requests += 1
        apns_id = None
        try:
            fields = self._fields(headers)
            apns_id = fields.get(b"apns-id")
            token = self._check(fields, body)
            if token in fake.stalled:
                self.held.add(stream_id)
                return  # never answered: the client's timeout is under test
            failure = take_scripted(fake.failures, token)
            if failure is not None:
                raise Refusal(failure.status, failure.reason, failure.timestamp)
            failure = fake.faults.failure()
            if failure is not None:
                raise Refusal(
                    failure["status"], failure["reason"], retry_after=failure["retry_after"]
                )
        except Refusal as refusal:
            fake.counts.reasons[refusal.reason] += 1
            if refusal.status != 410:
                self._set_stream_limit(fake.streams_after_error)
            error = {"reason": refusal.reason}
            if refusal.timestamp is not None:
                error["timestamp"] = refusal.timestamp
            self._respond(
                stream_id,
                refusal.status,
                apns_id,
                json.dumps(error).encode(),
                retry_after=refusal.retry_after,
            )
            return
        fake._accept(token)
        self._set_stream_limit(None)
        if fake.keep_records:
            fake.notifications.append(
                Notification(
                    token=token,
                    environment=self.environment,
                    headers={k.decode(): v.decode() for k, v in fields.items()},
                    payload=json.loads(body),
                    body=bytes(body),
                )
            )
        self._respond(stream_id, 200, apns_id, b"", accepted_token=token)
        if fake.goaway_after is not None:
            fake.goaway_after -= 1
            if fake.goaway_after <= 0:
                fake.goaway_after = None
                self.goaway(fake.goaway_reason, last_stream_id=stream_id)

    def _fields(self, headers) -> dict:
        fields = {}
        for name, value in headers:
            if name in fields:
                raise Refusal(400, "DuplicateHeaders")
            fields[name] = value
        return fields

    def _check(self, fields: dict, body: bytes) -> str:
        """The request's device token, or a Refusal with Apple's status and reason."""
        if fields.get(b":method") != b"POST":
            raise Refusal(405, "MethodNotAllowed")
        path = fields.get(b":path", b"")
        if not path.startswith(b"/3/device/"):
            raise Refusal(404, "BadPath")
        token = path[len(b"/3/device/") :]
        if not token:
            raise Refusal(400, "MissingDeviceToken")
        cert_topic = self._authenticate(fields.get(b"authorization"))
        push_type = fields.get(b"apns-push-type", b"").decode()
        if push_type not in PUSH_TYPE_SUFFIX:
            raise Refusal(400, "InvalidPushType")
        self._check_topic(fields.get(b"apns-topic"), push_type, cert_topic)
        priority = fields.get(b"apns-priority", b"10")
        if priority not in (b"10", b"5", b"1") or (push_type == "background" and priority == b"10"):
            raise Refusal(400, "BadPriority")
        apns_id = fields.get(b"apns-id")
        if apns_id is not None and not _UUID.match(apns_id):
            raise Refusal(400, "BadMessageId")
        expiration = fields.get(b"apns-expiration")
        if expiration is not None and not expiration.isdigit():
            raise Refusal(400, "BadExpirationDate")
        if len(fields.get(b"apns-collapse-id", b"")) > 64:
            raise Refusal(400, "BadCollapseId")
        if not body:
            raise Refusal(400, "PayloadEmpty")
        if len(body) > (5120 if push_type == "voip" else 4096):
            raise Refusal(413, "PayloadTooLarge")
        try:
            payload = json.loads(body)
        except ValueError:
            raise Refusal(400, "BadRequestPayload") from None
        aps = payload.get("aps") if isinstance(payload, dict) else None
        if not isinstance(aps, dict):
            raise Refusal(400, "BadRequestPayload")
        if push_type == "background" and aps != {"content-available": 1}:
            raise Refusal(400, "BadRequestPayload")
        if not _HEX.match(token) or not token.strip(b"0"):
            # Apple issues no all-zero token: Pushport's credential check sends one and expects
            # BadDeviceToken once the authentication above has passed.
            raise Refusal(400, "BadDeviceToken")
        token = token.decode()
        registered = self.fake.device_environments.get(token)
        if registered is not None and registered != self.environment:
            raise Refusal(400, "BadDeviceToken")
        return token

    def _authenticate(self, authorization: bytes | None) -> str | None:
        """Check the provider token (or the client certificate); the certificate's topic."""
        fake = self.fake
        if self.certificate_der is not None:
            topic = fake.certificates.get(self.certificate_der)
            if topic is None:
                raise Refusal(403, "BadCertificate")
            self._raise_stream_limit()
            return topic
        if not authorization:
            raise Refusal(403, "MissingProviderToken")
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            raise Refusal(403, "MissingProviderToken")
        claims = fake._verified(token)
        kid, issuer, issued_at = claims
        if fake.clock() - issued_at > TOKEN_LIFETIME:
            raise Refusal(403, "ExpiredProviderToken")
        if self.token is None:
            self.token, self.token_since, self.token_key = token, fake.clock(), (kid, issuer)
        elif token != self.token:
            if (kid, issuer) != self.token_key:
                raise Refusal(403, "UnrelatedKeyIdInToken")
            if fake.clock() - self.token_since < TOKEN_UPDATE_INTERVAL:
                raise Refusal(429, "TooManyProviderTokenUpdates")
            self.token, self.token_since = token, fake.clock()
            fake.counts.token_updates += 1
        self._raise_stream_limit()
        return None

    def _check_topic(self, topic: bytes | None, push_type: str, cert_topic: str | None):
        if topic is None:
            if cert_topic is None:
                raise Refusal(400, "MissingTopic")
            topic_text = cert_topic + PUSH_TYPE_SUFFIX[push_type]
        else:
            topic_text = topic.decode("utf-8", "replace")
        suffix = PUSH_TYPE_SUFFIX[push_type]
        if suffix and not topic_text.endswith(suffix):
            raise Refusal(400, "BadTopic")
        bundle = topic_text[: len(topic_text) - len(suffix)] if suffix else topic_text
        allowed = {cert_topic} if cert_topic is not None else self.fake.topics
        if bundle not in allowed:
            raise Refusal(400, "TopicDisallowed")

    def _raise_stream_limit(self):
        # APNs allows one stream until the first authenticated request, then many.
        if not self.raised:
            self.raised = True
            self.h2.update_settings(
                {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.fake.max_streams}
            )

    def _set_stream_limit(self, lowered: int | None):
        """Like APNs, lower the stream limit after an error and restore it after a success."""
        if not self.raised or lowered == self.lowered:
            return
        if lowered is None or self.fake.streams_after_error is not None:
            self.lowered = lowered
            self.fake.counts.stream_limit_changes += 1
            limit = self.fake.max_streams if lowered is None else lowered
            self.h2.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: limit})

    def _respond(
        self,
        stream_id: int,
        status: int,
        apns_id: bytes | None,
        body: bytes,
        *,
        retry_after=None,
        accepted_token: str | None = None,
    ):
        headers = [(b":status", str(status).encode())]
        headers.append(NeverIndexedHeaderTuple(b"apns-id", apns_id or str(uuid.uuid4()).encode()))
        if body:
            headers.append((b"content-type", b"application/json"))
            headers.append((b"content-length", str(len(body)).encode()))
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))

        def send():
            self.h2.send_headers(stream_id, headers, end_stream=not body)
            if body:
                self.h2.send_data(stream_id, body, end_stream=True)

        self._reply(stream_id, accepted_token, send)

    def goaway(self, reason: str | None, last_stream_id: int | None = None):
        debug = json.dumps({"reason": reason}).encode() if reason else b""
        self.h2.close_connection(
            error_code=h2.errors.ErrorCodes.NO_ERROR,
            additional_data=debug,
            last_stream_id=last_stream_id,
        )
        self.transport.write(self.h2.data_to_send())
        self.transport.close()


class FakeApns(FakeServer):
    """The fake server; `start()` runs it in a background thread."""

    SHARE_FAILURE_REASONS = SHARE_FAILURE_REASONS
    GOAWAY_REASON = GOAWAY_REASON

    def __init__(self, *, ca: TestCA | None = None, initial_streams: int = 1, max_streams=1000):
        super().__init__()
        self.ca = ca or TestCA()
        self.initial_streams = initial_streams
        self.max_streams = max_streams
        self.ssl_context = self.ca.server_context()
        self.keep_records = True
        self.ports: dict[str, int] = {}
        self.keys: dict[str, _Key] = {}
        self.certificates: dict[bytes, str] = {}
        self.topics: set[str] = set()
        self.reset()

    # test controls

    def reset(self):
        """Forget failures, faults, records, counts and clock moves (keys and topics stay)."""
        self._reset_faults_and_tokens()
        self.failures: dict[str, Failure] = {}
        self.stalled: set[str] = set()
        self.device_environments: dict[str, str] = {}
        self.notifications: list[Notification] = []
        self.counts = Counts()
        self.clock_offset = 0.0
        self.goaway_after: int | None = None
        self.goaway_reason = "Shutdown"
        # The stream limit a connection drops to after an error (None: it does not drop).
        self.streams_after_error: int | None = None
        self._verified_tokens: dict[bytes, tuple] = {}

    def clock(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float):
        """Move the fake's clock forward (token ages and rotation rules follow it)."""
        self.clock_offset += seconds

    def register_key(self, *, key_id: str, team_id: str, private_or_public_key, topics=()):
        """Accept provider tokens signed by this key (a key object or PEM) for these topics."""
        self.keys[key_id] = _Key(team_id=team_id, public_key=_public_key(private_or_public_key))
        self.topics.update(topics)

    def register_certificate(self, certificate, topic: str):
        """Accept this client certificate (an x509 object) for pushes to `topic`."""
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        self.certificates[certificate.public_bytes(serialization.Encoding.DER)] = topic
        self.ssl_context.load_verify_locations(cadata=pem.decode())
        self.ssl_context.verify_mode = ssl.CERT_OPTIONAL

    def fail(self, token: str, status: int, reason: str, *, timestamp=None, times=None):
        """Answer this token with Apple's error (`times` answers, or until reset)."""
        self.failures[token] = Failure(status, reason, timestamp, times)

    def stall(self, token: str):
        """Never answer requests for this token."""
        self.stalled.add(token)

    def register_device(self, token: str, environment: str):
        """Tie a token to one environment: the other answers BadDeviceToken."""
        self.device_environments[token] = environment

    def goaway_after_accepting(self, count: int, reason: str = "Shutdown"):
        """Send GOAWAY (and close) once `count` more notifications were accepted."""
        self.goaway_reason = reason
        self.goaway_after = count

    def goaway_now(self, reason: str | None = "Shutdown"):
        """Send GOAWAY on every open connection."""

        def close_all():
            for connection in list(self._connections):
                connection.goaway(reason)

        self._loop.call_soon_threadsafe(close_all)

    @property
    def provider_tokens_seen(self) -> int:
        """How many distinct valid provider tokens reached the fake since the last reset."""
        return sum(1 for claims in self._verified_tokens.values() if isinstance(claims, tuple))

    def host(self, environment: str) -> str:
        return f"127.0.0.1:{self.ports[environment]}"

    # server internals

    def _token_of(self, headers, body: bytes) -> str | None:
        for name, value in headers:
            if name == b":path" and value.startswith(b"/3/device/"):
                return value[len(b"/3/device/") :].decode("utf-8", "replace") or None
        return None

    def _verified(self, token: bytes) -> tuple:
        cached = self._verified_tokens.get(token)
        if cached is None:
            cached = self._verify(token)
            self._verified_tokens[token] = cached
        if isinstance(cached, Refusal):
            raise cached
        return cached

    def _verify(self, token: bytes):
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return Refusal(403, "InvalidProviderToken")
        key = self.keys.get(header.get("kid"))
        if header.get("alg") != "ES256" or key is None:
            return Refusal(403, "InvalidProviderToken")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["ES256"],
                options={"verify_iat": False, "require": ["iss", "iat"]},
            )
        except jwt.InvalidTokenError:
            return Refusal(403, "InvalidProviderToken")
        if claims["iss"] != key.team_id or not isinstance(claims["iat"], int):
            return Refusal(403, "InvalidProviderToken")
        return header["kid"], claims["iss"], claims["iat"]

    def start(self, *, production_port: int = 0, sandbox_port: int = 0) -> "FakeApns":
        environments = {PRODUCTION: production_port, SANDBOX: sandbox_port}
        ports = self._serve(
            [
                (functools.partial(_ServerConnection, self, environment), port)
                for environment, port in environments.items()
            ],
            ssl_context=self.ssl_context,
            name="fake-apns",
        )
        self.ports.update(zip(environments, ports, strict=True))
        return self

    def stop(self):
        self._stop_serving()
        self.ca.cleanup()


class FastFakeApns(NodeFake):
    """The same fake on Node's native HTTP/2 server (apns_fast.mjs), for benchmarks.

    It keeps the checks, the stream-limit and token rules, the error bodies and the shared
    faults and per-token counts (server.FaultControls, also as `start(faults=spec)`), but not
    the per-token test controls (scripted failures, records, clock); `counts()` asks Node.
    """

    SCRIPT = Path(__file__).with_name("apns_fast.mjs")
    NAME = "APNs"
    SHARE_FAILURE_REASONS = SHARE_FAILURE_REASONS
    GOAWAY_REASON = GOAWAY_REASON

    def __init__(
        self, *, node: str, ca: TestCA | None = None, max_streams: int = 1000, workers: int = 1
    ):
        super().__init__(node=node, ca=ca, max_streams=max_streams, workers=workers)

    def start(
        self,
        *,
        key_id: str,
        team_id: str,
        private_or_public_key,
        topic: str,
        port=0,
        faults: dict | None = None,
    ):
        """Start Node, accepting tokens of this key (key object or PEM) for this topic."""
        key = _public_key(private_or_public_key)
        public_pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._launch(
            port=port,
            key_id=key_id,
            team_id=team_id,
            public_key_pem=public_pem.decode(),
            topic=topic,
            faults=faults,
        )
        return self

    def host(self, environment: str = PRODUCTION) -> str:
        return f"127.0.0.1:{self.port}"

    def counts(self) -> dict:
        return self._counts()


def main():  # pragma: no cover - run by the benchmarks, and by hand for h2load
    """Serve the fake alone; print its address as JSON; answer `counts` lines on stdin."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Serve the fake APNs on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key-file", required=True, help="the .p8 whose tokens to accept")
    parser.add_argument("--key-id", default="ABC123DEFG")
    parser.add_argument("--team-id", default="TEAM123456")
    parser.add_argument("--topic", default="com.example.app")
    args = parser.parse_args()
    with open(args.key_file, "rb") as file:
        key = serialization.load_pem_private_key(file.read(), None)
    fake = FakeApns()
    fake.keep_records = False
    fake.register_key(
        key_id=args.key_id, team_id=args.team_id, private_or_public_key=key, topics=[args.topic]
    )
    fake.start(production_port=args.port)
    token = jwt.encode(
        {"iss": args.team_id, "iat": int(time.time())},
        key,
        algorithm="ES256",
        headers={"kid": args.key_id},
    )
    address = {"host": fake.host(PRODUCTION), "ca_file": fake.ca.ca_file, "token": token}
    print(json.dumps(address), flush=True)
    for line in sys.stdin:
        if line.strip() == "counts":
            counts = fake.counts
            print(
                json.dumps(
                    {
                        "accepted": counts.accepted,
                        "requests": counts.requests,
                        "connections": counts.connections,
                        "max_concurrent_streams": counts.max_concurrent_streams,
                    }
                ),
                flush=True,
            )
    fake.stop()


if __name__ == "__main__":
    main()
