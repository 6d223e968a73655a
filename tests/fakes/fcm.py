"""A fake FCM: a real TLS server on 127.0.0.1 speaking HTTP/2 and HTTP/1.1 (by ALPN).

It serves Google's OAuth2 token endpoint (verifying the RS256 service-account assertion with
the registered public key) and FCM HTTP v1 `messages:send` (checking the bearer token it
issued, the project, and the message the way Google documents), answers FCM's error bodies,
scripted failures per device token, stalls, stream resets and GOAWAY on demand, and records
and counts every accepted message. Run `python -m tests.fakes.fcm` to serve it alone (h2load).

Test controls: `fail(token, status, error_code, times=, retry_after=)`, `stall(token)` and
`reset_stream(token)` per device token, `goaway_after_accepting(n)`, `revoke_access_tokens`,
`token_lifetime`, `reset()`; and the faults shared with the APNs fake and both Node fakes
(server.py), which spare the token endpoint: `fail_share(share, status=503,
reason="UNAVAILABLE", retry_after=None)` (an FCM error body whose errorCode is `reason`),
`reset_share`, `hold_answers` (`delay_answers` is its old name), `goaway_every`,
`drop_every`, `clear_faults`, and the per-token counts (the token is message.token)
`received_by_token()`, `accepted_by_token()`, `answered_by_token()`. A share failure hits
only messages that pass every check and scripted failure.
"""

import collections
import json
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import h2.errors
import h2.exceptions
import h11
import jwt
from cryptography.hazmat.primitives import serialization

from tests import keys
from tests.fakes.server import (
    FakeServer,
    NodeFake,
    ServerConnection,
    ServerCounts,
    open_h2,
    take_scripted,
)
from tests.fakes.tls import TestCA

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPES = (
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
)
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
MAX_PAYLOAD_BYTES = 4096
MAX_TTL_SECONDS = 2419200
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
INVALID_TOKEN_MESSAGE = "The registration token is not a valid FCM registration token"
MESSAGE_KEYS = {
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
    "token",
    "topic",
    "condition",
    "fid",
}
TARGETS = ("token", "topic", "condition", "fid")
NOTIFICATION_KEYS = {"title", "body", "image"}
ANDROID_KEYS = {
    "collapse_key",
    "priority",
    "ttl",
    "restricted_package_name",
    "data",
    "notification",
    "fcm_options",
    "direct_boot_ok",
    "bandwidth_constrained_ok",
    "restricted_satellite_ok",
}
ANDROID_NOTIFICATION_KEYS = {
    "title",
    "body",
    "icon",
    "color",
    "sound",
    "tag",
    "click_action",
    "body_loc_key",
    "body_loc_args",
    "title_loc_key",
    "title_loc_args",
    "channel_id",
    "ticker",
    "sticky",
    "event_time",
    "local_only",
    "notification_priority",
    "default_sound",
    "default_vibrate_timings",
    "default_light_settings",
    "vibrate_timings",
    "visibility",
    "notification_count",
    "light_settings",
    "image",
    "proxy",
}
_STRING_FIELDS = {"title", "body", "icon", "sound", "tag", "image", "color", "channel_id"}
_SEND_PATH = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
_TTL = re.compile(r"^(\d+)(\.\d{1,9})?s$")
_TOKEN = re.compile(r"^[A-Za-z0-9_:.\-]{16,4096}$")
_TOPIC = re.compile(r"^[a-zA-Z0-9\-_.~%]+$")
_JSON = [(b"content-type", b"application/json; charset=UTF-8")]
# What fail_share answers when given a status alone (the errorCode), and Google's wording.
SHARE_FAILURE_REASONS = {429: "QUOTA_EXCEEDED", 500: "INTERNAL", 503: "UNAVAILABLE"}
SHARE_FAILURE_MESSAGES = {
    429: "Quota exceeded for quota metric 'Send requests'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
GOAWAY_REASON = None  # Google's GOAWAY carries no debug data a client reads


class FcmRefusal(Exception):
    """An FCM error answer: HTTP status, message, optional errorCode and field violation."""

    def __init__(self, status, message, error_code=None, *, field_name=None, retry_after=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.field_name = field_name
        self.retry_after = retry_after

    def response(self):
        details = []
        if self.error_code:
            details.append({"@type": FCM_ERROR_TYPE, "errorCode": self.error_code})
        if self.field_name:
            details.append(
                {
                    "@type": BAD_REQUEST_TYPE,
                    "fieldViolations": [{"field": self.field_name, "description": self.message}],
                }
            )
        error = {
            "code": self.status,
            "message": self.message,
            "status": STATUS_NAMES.get(self.status, "UNKNOWN"),
        }
        if details:
            error["details"] = details
        headers = list(_JSON)
        if self.retry_after is not None:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return self.status, headers, json.dumps({"error": error}).encode()


class _OAuthRefusal(Exception):
    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


@dataclass
class Failure:
    status: int
    error_code: str | None
    message: str
    times: int | None = None
    retry_after: int | None = None
    action: str = "answer"  # or "stall", "reset"


@dataclass
class Counts(ServerCounts):
    validated: int = 0
    token_grants: int = 0
    token_refusals: int = 0
    http2_connections: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)


@dataclass
class Sent:
    """One accepted message as the fake recorded it."""

    project_id: str
    message: dict
    headers: dict


@dataclass
class _ServiceAccount:
    client_email: str
    private_key_id: str
    public_key: object


class FakeFcm(FakeServer):
    """The fake server; `start()` runs it in a background thread."""

    SHARE_FAILURE_REASONS = SHARE_FAILURE_REASONS
    GOAWAY_REASON = GOAWAY_REASON

    def __init__(self, *, ca: TestCA | None = None, max_streams: int = 100):
        super().__init__()
        self._own_ca = ca is None
        self.ca = ca or TestCA()
        self.max_streams = max_streams
        self.ssl_context = self.ca.server_context()
        self.ssl_context.set_alpn_protocols(["h2", "http/1.1"])
        self.port = 0
        self.keep_records = True
        self.token_lifetime = 3600
        self.service_accounts: dict[str, _ServiceAccount] = {}
        self.projects: set[str] = set()
        self.reset()

    # test controls

    def reset(self):
        """Forget failures, faults, records, counts and issued tokens (accounts stay)."""
        self._reset_faults_and_tokens()
        self.failures: dict[str, Failure] = {}
        self.sent: list[Sent] = []
        self.counts = Counts()
        self.access_tokens: dict[str, float] = {}
        self.token_lifetime = 3600
        self.goaway_after: int | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    def service_account(self, *, project_id: str = "demo-project", key=None) -> dict:
        """A service-account JSON whose key the fake trusts and whose token_uri is the fake."""
        info = keys.service_account_json(key=key, project_id=project_id, token_uri=self.token_uri)
        private = serialization.load_pem_private_key(info["private_key"].encode(), None)
        self.service_accounts[info["client_email"]] = _ServiceAccount(
            info["client_email"], info["private_key_id"], private.public_key()
        )
        self.projects.add(project_id)
        return info

    def fail(
        self,
        token: str,
        status: int,
        error_code: str | None = None,
        *,
        message: str = "",
        times: int | None = None,
        retry_after: int | None = None,
    ):
        """Answer this device token with FCM's error (`times` answers, or until reset)."""
        if not message:
            message = INVALID_TOKEN_MESSAGE if error_code == "INVALID_ARGUMENT" else "scripted"
        self.failures[token] = Failure(status, error_code, message, times, retry_after)

    def stall(self, token: str, *, times: int | None = None):
        """Never answer requests for this token."""
        self.failures[token] = Failure(0, None, "", times, action="stall")

    def reset_stream(self, token: str, *, times: int | None = None):
        """Reset the stream (RST_STREAM REFUSED_STREAM) of requests for this token."""
        self.failures[token] = Failure(0, None, "", times, action="reset")

    def delay_answers(self, seconds: float):
        """Hold every HTTP/2 answer this long (requests pile up as streams in flight)."""
        self.hold_answers(seconds)

    def goaway_after_accepting(self, count: int):
        """Send GOAWAY (and close) once `count` more messages were accepted."""
        self.goaway_after = count

    def revoke_access_tokens(self):
        """Forget every issued access token, as if they had all expired."""
        self.access_tokens.clear()

    def messages_for(self, token: str) -> list[dict]:
        return [sent.message for sent in self.sent if sent.message.get("token") == token]

    # request handling, shared by both protocols

    def handle(self, method: bytes, path: bytes, headers: dict, body: bytes):
        """One request: (status, headers, body, accepted token), or "stall" or "reset".

        The accepted token is None unless a message was accepted ("" for a topic message).
        """
        path_text = path.decode("utf-8", "replace")
        if path_text == "/token":
            return (*self._token(method, body), None)
        match = _SEND_PATH.match(path_text)
        if match is None:
            refusal = FcmRefusal(404, f"Requested entity was not found: {path_text}")
            return (*refusal.response(), None)
        self.counts.requests += 1
        try:
            if method != b"POST":
                raise FcmRefusal(405, "Method not allowed.")
            token, message, validate_only = self._check_send(match.group(1), headers, body)
            failure = take_scripted(self.failures, token) if token else None
            if failure is not None:
                if failure.action != "answer":
                    return failure.action
                raise FcmRefusal(
                    failure.status,
                    failure.message,
                    failure.error_code,
                    field_name="message.token"
                    if failure.message == INVALID_TOKEN_MESSAGE
                    else None,
                    retry_after=failure.retry_after,
                )
            share_failure = self.faults.failure() if not validate_only else None
            if share_failure is not None:
                status = share_failure["status"]
                raise FcmRefusal(
                    status,
                    SHARE_FAILURE_MESSAGES.get(status, "scripted"),
                    share_failure["reason"],
                    retry_after=share_failure["retry_after"],
                )
        except FcmRefusal as refusal:
            self.counts.errors[refusal.error_code or STATUS_NAMES.get(refusal.status)] += 1
            return (*refusal.response(), None)
        project_id = match.group(1)
        name = f"projects/{project_id}/messages/{secrets.token_hex(8)}"
        if validate_only:
            self.counts.validated += 1
            answer = json.dumps({"name": f"projects/{project_id}/messages/fake"}).encode()
            return 200, _JSON, answer, None
        self._accept(token)
        if self.keep_records:
            printable = {k.decode(): v.decode("utf-8", "replace") for k, v in headers.items()}
            self.sent.append(Sent(project_id, message, printable))
        return 200, _JSON, json.dumps({"name": name}).encode(), token

    def _token(self, method: bytes, body: bytes):
        try:
            if method != b"POST":
                raise _OAuthRefusal("the token endpoint takes POST")
            form = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
            if form.get("grant_type") != [JWT_BEARER]:
                raise _OAuthRefusal(f"grant_type must be {JWT_BEARER}")
            self._verify_assertion((form.get("assertion") or [""])[0])
        except (_OAuthRefusal, ValueError, UnicodeDecodeError) as exc:
            self.counts.token_refusals += 1
            description = getattr(exc, "description", "malformed token request")
            return (
                400,
                _JSON,
                json.dumps({"error": "invalid_grant", "error_description": description}).encode(),
            )
        self.counts.token_grants += 1
        access_token = "ya29.fake-" + secrets.token_urlsafe(32)
        self.access_tokens[access_token] = time.time() + self.token_lifetime
        answer = {
            "access_token": access_token,
            "expires_in": self.token_lifetime,
            "token_type": "Bearer",
        }
        return 200, _JSON, json.dumps(answer).encode()

    def _verify_assertion(self, assertion: str):
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise _OAuthRefusal(f"malformed assertion: {exc}") from exc
        account = self.service_accounts.get(claims.get("iss"))
        if account is None:
            raise _OAuthRefusal("Invalid JWT: unknown issuer")
        if header.get("alg") != "RS256" or header.get("kid") != account.private_key_id:
            raise _OAuthRefusal("Invalid JWT Signature.")
        try:
            claims = jwt.decode(
                assertion,
                account.public_key,
                algorithms=["RS256"],
                audience=[GOOGLE_TOKEN_URI, self.token_uri],
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.InvalidTokenError as exc:
            raise _OAuthRefusal(f"Invalid JWT: {exc}") from exc
        if claims["exp"] - claims["iat"] > 3600 or claims["iat"] > time.time() + 60:
            raise _OAuthRefusal("Invalid JWT: Token must be a short-lived token (60 minutes)")
        if not set(str(claims["scope"]).split()) & set(FCM_SCOPES):
            raise _OAuthRefusal("Invalid JWT: scope does not allow FCM")

    def _check_send(self, project_id: str, headers: dict, body: bytes):
        authorization = headers.get(b"authorization", b"")
        if not authorization.startswith(b"Bearer "):
            raise FcmRefusal(401, "Request is missing required authentication credential.")
        expires = self.access_tokens.get(authorization[7:].decode("ascii", "replace"))
        if expires is None or expires <= time.time():
            raise FcmRefusal(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        if project_id not in self.projects:
            raise FcmRefusal(404, "Requested entity was not found.")
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FcmRefusal(400, "Invalid JSON payload received.") from exc
        if not isinstance(request, dict):
            raise FcmRefusal(400, "Invalid JSON payload received.")
        unknown = set(request) - {"message", "validate_only"}
        if unknown:
            raise FcmRefusal(400, f'Invalid JSON payload received. Unknown name "{min(unknown)}"')
        message = request.get("message")
        if not isinstance(message, dict):
            raise FcmRefusal(400, "Request contains an invalid argument.", "INVALID_ARGUMENT")
        token = self._check_message(message)
        return token, message, bool(request.get("validate_only"))

    def _check_message(self, message: dict) -> str:
        """Validate the message as FCM does; the device token it targets ("" for others)."""

        def invalid(text, field_name=None):
            return FcmRefusal(400, text, "INVALID_ARGUMENT", field_name=field_name)

        unknown = set(message) - MESSAGE_KEYS
        if unknown:
            raise invalid(f'Invalid JSON payload received. Unknown name "{min(unknown)}"')
        targets = [target for target in TARGETS if message.get(target) is not None]
        if len(targets) != 1:
            raise invalid("Exactly one of token, topic or condition must be specified.")
        token = message.get("token")
        if token is not None and (not isinstance(token, str) or not _TOKEN.match(token)):
            raise invalid(INVALID_TOKEN_MESSAGE, "message.token")
        topic = message.get("topic")
        if topic is not None and (not isinstance(topic, str) or not _TOPIC.match(topic)):
            raise invalid("Invalid topic name.", "message.topic")
        self._check_data(message.get("data"), "message.data")
        notification = message.get("notification")
        if notification is not None:
            self._check_strings(notification, NOTIFICATION_KEYS, "message.notification")
        android = message.get("android")
        if android is not None:
            self._check_android(android)
        sized = {key: value for key, value in message.items() if key not in TARGETS}
        size = len(json.dumps(sized, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_PAYLOAD_BYTES:
            raise invalid(f"Message is too big: {size} bytes (limit {MAX_PAYLOAD_BYTES}).")
        return token or ""

    @staticmethod
    def _check_data(data, where: str):
        if data is None:
            return
        if not isinstance(data, dict):
            raise FcmRefusal(400, f"Invalid value at '{where}'", "INVALID_ARGUMENT")
        for index, (key, value) in enumerate(data.items()):
            if not isinstance(value, str):
                raise FcmRefusal(
                    400,
                    f"Invalid value at '{where}[{index}].value' (TYPE_STRING)",
                    "INVALID_ARGUMENT",
                    field_name=f"{where}[{index}].value",
                )
            if key in ("from", "message_type", "notification") or key.startswith(
                ("google.", "gcm.")
            ):
                raise FcmRefusal(
                    400, f"Invalid data payload key: {key}", "INVALID_ARGUMENT", field_name=where
                )

    @staticmethod
    def _check_object(value, allowed: set, where: str):
        """Refuse, as FCM does, a value at `where` that is not an object of known keys."""
        if not isinstance(value, dict):
            raise FcmRefusal(400, f"Invalid value at '{where}'", "INVALID_ARGUMENT")
        unknown = set(value) - allowed
        if unknown:
            raise FcmRefusal(
                400,
                f"Invalid JSON payload received. Unknown name \"{min(unknown)}\" at '{where}'",
                "INVALID_ARGUMENT",
            )

    def _check_strings(self, value, allowed: set, where: str):
        self._check_object(value, allowed, where)
        for key, item in value.items():
            if key in _STRING_FIELDS and not isinstance(item, str):
                raise FcmRefusal(
                    400, f"Invalid value at '{where}.{key}' (TYPE_STRING)", "INVALID_ARGUMENT"
                )

    def _check_android(self, android):
        where = "message.android"
        self._check_object(android, ANDROID_KEYS, where)
        priority = android.get("priority")
        if priority is not None and str(priority).upper() not in ("NORMAL", "HIGH"):
            raise FcmRefusal(
                400, f"Invalid value at '{where}.priority'", "INVALID_ARGUMENT", field_name=where
            )
        ttl = android.get("ttl")
        if ttl is not None:
            match = _TTL.match(ttl) if isinstance(ttl, str) else None
            if match is None or int(match.group(1)) > MAX_TTL_SECONDS:
                raise FcmRefusal(
                    400, f"Invalid value at '{where}.ttl' (Duration)", "INVALID_ARGUMENT"
                )
        for key in ("collapse_key", "restricted_package_name"):
            if key in android and not isinstance(android[key], str):
                raise FcmRefusal(
                    400, f"Invalid value at '{where}.{key}' (TYPE_STRING)", "INVALID_ARGUMENT"
                )
        self._check_data(android.get("data"), f"{where}.data")
        notification = android.get("notification")
        if notification is not None:
            self._check_strings(notification, ANDROID_NOTIFICATION_KEYS, f"{where}.notification")

    def _faulty(self, headers) -> bool:
        return any(name == b":path" and value != b"/token" for name, value in headers)

    def _token_of(self, headers, body: bytes) -> str | None:
        try:
            token = json.loads(body)["message"]["token"]
        except (ValueError, TypeError, KeyError):
            return None
        return token if isinstance(token, str) else None

    def _accepted_one(self) -> bool:
        """Count an accepted message toward a scheduled GOAWAY; True when it is due."""
        if self.goaway_after is None:
            return False
        self.goaway_after -= 1
        if self.goaway_after > 0:
            return False
        self.goaway_after = None
        return True

    # serving

    def start(self, *, port: int = 0) -> "FakeFcm":
        [self.port] = self._serve(
            [(lambda: _ServerConnection(self), port)], ssl_context=self.ssl_context, name="fake-fcm"
        )
        return self

    def stop(self):
        self._stop_serving()
        if self._own_ca:
            self.ca.cleanup()


class _ServerConnection(ServerConnection):
    """One TLS connection; HTTP/2 or HTTP/1.1 by the protocol ALPN settled on."""

    def __init__(self, fake: FakeFcm):
        super().__init__(fake)
        self.h11 = None
        self.h1_request = None
        self.h1_body = b""

    def connection_made(self, transport):
        super().connection_made(transport)
        protocol = transport.get_extra_info("ssl_object").selected_alpn_protocol()
        if protocol == "h2":
            self.fake.counts.http2_connections += 1
            self.h2 = open_h2(transport, max_streams=self.fake.max_streams)
        else:
            self.h11 = h11.Connection(h11.SERVER)

    def data_received(self, data: bytes):
        if self.h2 is not None:
            self._h2_received(data)
        else:
            self._h11_received(data)

    # HTTP/2

    def _answer(self, stream_id: int, raw_headers, body: bytes):
        headers = {}
        for name, value in raw_headers:
            headers[name] = value
        path = headers.get(b":path", b"")
        answer = self.fake.handle(headers.get(b":method"), path, headers, body)
        if answer == "stall":
            return
        if answer == "reset":
            self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            self._stream_closed()
            return
        status, response_headers, response_body, accepted_token = answer

        def send():
            self.h2.send_headers(stream_id, [(b":status", str(status).encode()), *response_headers])
            self.h2.send_data(stream_id, response_body, end_stream=True)
            if status == 200 and self.fake._accepted_one():
                self.h2.close_connection(last_stream_id=stream_id)
                self.transport.write(self.h2.data_to_send())
                self.transport.close()

        self._reply(stream_id, accepted_token, send, faulty=path != b"/token")

    # HTTP/1.1

    def _h11_received(self, data: bytes):
        self.h11.receive_data(data)
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError:
                self.transport.close()
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.h1_request, self.h1_body = event, b""
            elif isinstance(event, h11.Data):
                self.h1_body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._h11_answer()
                if self.transport.is_closing():
                    return
            elif isinstance(event, h11.ConnectionClosed):
                self.transport.close()
                return

    def _h11_answer(self):
        request = self.h1_request
        headers = {name.lower(): value for name, value in request.headers}
        answer = self.fake.handle(request.method, request.target, headers, self.h1_body)
        if answer in ("stall", "reset"):
            self.transport.close()
            return
        status, response_headers, body, accepted_token = answer
        response = h11.Response(
            status_code=status,
            headers=[*response_headers, (b"content-length", str(len(body)).encode())],
        )
        self.transport.write(self.h11.send(response) + self.h11.send(h11.Data(data=body)))
        self.transport.write(self.h11.send(h11.EndOfMessage()))
        if accepted_token is not None:
            self.fake.counts.answered += 1
            if accepted_token:
                self.fake.tokens.answered[accepted_token] += 1
        if self.h11.our_state is h11.MUST_CLOSE:
            self.transport.close()
        elif self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()


class FastFakeFcm(NodeFake):
    """The same fake on Node's native HTTP/2 server (fcm_fast.mjs), for benchmarks.

    It keeps the checks, the error bodies and the shared faults and per-token counts
    (server.FaultControls, also as `start(faults=spec)`), but not the per-token test
    controls (scripted failures, records); `counts` asks the Node process.
    """

    SCRIPT = Path(__file__).with_name("fcm_fast.mjs")
    NAME = "FCM"
    SHARE_FAILURE_REASONS = SHARE_FAILURE_REASONS
    GOAWAY_REASON = GOAWAY_REASON

    def __init__(
        self, *, node: str, ca: TestCA | None = None, max_streams: int = 100, workers: int = 1
    ):
        super().__init__(node=node, ca=ca, max_streams=max_streams, workers=workers)
        self.token_lifetime = 3600

    base_url = FakeFcm.base_url
    token_uri = FakeFcm.token_uri

    def start(
        self,
        *,
        port: int = 0,
        static_tokens: dict[str, float] | None = None,
        faults: dict | None = None,
    ):
        """Start Node; `static_tokens` are access tokens accepted without OAuth (for h2load)."""
        self._launch(
            port=port,
            token_lifetime=self.token_lifetime,
            static_tokens=static_tokens or {},
            faults=faults,
        )
        return self

    def service_account(self, *, project_id: str = "demo-project", key=None) -> dict:
        """A service-account JSON whose key the fake trusts and whose token_uri is the fake."""
        info = keys.service_account_json(key=key, project_id=project_id, token_uri=self.token_uri)
        private = serialization.load_pem_private_key(info["private_key"].encode(), None)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        account = {
            "client_email": info["client_email"],
            "private_key_id": info["private_key_id"],
            "public_key_pem": public_pem.decode(),
            "project_id": project_id,
        }
        self._ask(json.dumps(account))
        return info

    @property
    def counts(self) -> Counts:
        answer = self._counts()
        errors = collections.Counter(answer.pop("errors"))
        return Counts(**answer, errors=errors)


def main():  # pragma: no cover - a manual tool for h2load
    import argparse

    parser = argparse.ArgumentParser(description="Serve the fake FCM on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    fake = FakeFcm()
    fake.keep_records = False
    fake.start(port=args.port)
    fake.service_account(project_id="bench-project")
    fake.access_tokens["bench-token"] = time.time() + 10 * 365 * 86400
    print(f"https://127.0.0.1:{fake.port}/v1/projects/bench-project/messages:send", flush=True)
    print(f"CA {fake.ca.ca_file}; authorization: Bearer bench-token", flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
