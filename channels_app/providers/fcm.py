"""FCM HTTP v1 over HTTP/2: OAuth2 service-account tokens, messages:send, outcomes.

One `_FcmClient` per credential (and endpoint) lives on the provider loop: its HTTP/2 pool
keeps connections open between sends, and its access token is cached until google-auth calls
it no longer valid (a few minutes before expiry), then refreshed by one caller at a time in a
thread, since google-auth is synchronous. A send keeps at most `STREAMS_PER_CONNECTION` x
`max_connections` requests in flight, so a chunk of any size uses bounded memory.
"""

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import google.auth.exceptions
import google.auth.transport.requests
import requests
from django.conf import settings
from google.oauth2 import service_account

from channels_app.models import FcmCredential
from channels_app.payloads import FcmPayload, fcm_message
from channels_app.providers import runner
from channels_app.providers.base import (
    CredentialUnusable,
    Outcome,
    Provider,
    ProviderUnavailable,
    PushItem,
    Request,
    Result,
    Sender,
    transport_result,
)
from channels_app.providers.h2_internals import Unindexed
from channels_app.providers.transport import H2Pool, TransportError, ssl_context
from portal.outbound import fcm_token_uri_allowed

logger = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/firebase.messaging",)
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# FCM serves about 100 concurrent streams per HTTP/2 connection.
STREAMS_PER_CONNECTION = 100
CHECK_TOPIC = "pushport-credential-check"
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_INVALID_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
_CREDENTIAL_CODES = frozenset({"THIRD_PARTY_AUTH_ERROR", "APNS_AUTH_ERROR"})
# What a space sees when the token endpoint fails: never the endpoint's words or the network
# error, which would let a tenant probe hosts and ports through a service account.
_TOKEN_URI_REFUSED = (
    "OAuth token not requested: the service account's token_uri is not a token endpoint this "
    "server may use; upload a key whose token_uri is https://oauth2.googleapis.com/token"
)
_TOKEN_ENDPOINT_UNREACHABLE = "OAuth token endpoint unavailable; the send will be retried"
_TOKEN_ANSWER_UNUSABLE = "OAuth token endpoint answered without a usable token; will retry"
_OAUTH_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class CredentialRefused(Exception):
    """Google would not issue an access token for the service account."""


class TokenEndpointUnavailable(Exception):
    """The OAuth token endpoint failed in a way worth trying again later."""


_TOKEN_ENDPOINT_ERRORS = (
    TokenEndpointUnavailable,
    requests.RequestException,
    google.auth.exceptions.TransportError,
    OSError,
)


class _TokenRequest(google.auth.transport.requests.Request):
    """google-auth's requests transport with our CA bundle and timeout, never redirected.

    A redirect would carry the request to a host the outbound-host policy never approved.
    """

    def __init__(self, *, timeout: float):
        super().__init__(requests.Session())
        self.timeout = timeout
        # Passed per call: requests lets REQUESTS_CA_BUNDLE override a session's `verify`.
        self.verify = settings.PUSHPORT_PROVIDER_CA_BUNDLE or True

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        kwargs.setdefault("verify", self.verify)
        kwargs["allow_redirects"] = False
        if not fcm_token_uri_allowed(url):
            raise CredentialRefused(_TOKEN_URI_REFUSED)
        return super().__call__(url, method, body, headers, timeout or self.timeout, **kwargs)


class _FcmClient:
    """What one credential needs on the provider loop: its pool and its access token."""

    def __init__(self, *, info: dict, base_url: str, max_connections: int, timeout: float):
        self.project_id = info["project_id"]
        self.token_uri = info["token_uri"]
        self.google = service_account.Credentials.from_service_account_info(
            info, scopes=list(SCOPES)
        )
        parts = urlsplit(base_url)
        self.path = f"{parts.path.rstrip('/')}/v1/projects/{self.project_id}/messages:send".encode()
        self.pool = H2Pool(
            parts.hostname,
            parts.port or 443,
            ssl_context=ssl_context(),
            max_connections=max_connections,
        )
        self.max_in_flight = max(1, max_connections) * STREAMS_PER_CONNECTION
        self.timeout = timeout
        self.token_lock = asyncio.Lock()
        self.headers: list[tuple[bytes, bytes]] | None = None

    async def request_headers(self, *, refresh: bool = False) -> list[tuple[bytes, bytes]]:
        """Headers with a valid bearer token, refreshing it first when needed (or asked)."""
        stale = self.headers
        if stale is not None and not refresh and self.google.valid:
            return stale
        async with self.token_lock:
            # Another caller may have refreshed while this one waited.
            if self.headers is not None and self.headers is not stale and self.google.valid:
                return self.headers
            if refresh or not self.google.valid:
                # Checked on every refresh: the operator may have shortened the list since.
                if not fcm_token_uri_allowed(self.token_uri):
                    raise CredentialRefused(_TOKEN_URI_REFUSED)
                loop = asyncio.get_running_loop()
                try:
                    await loop.run_in_executor(
                        None, self.google.refresh, _TokenRequest(timeout=self.timeout)
                    )
                except google.auth.exceptions.RefreshError as exc:
                    if getattr(exc, "retryable", False):
                        raise TokenEndpointUnavailable(_refresh_reason(exc)) from exc
                    raise CredentialRefused(_refresh_reason(exc)) from exc
                except (
                    requests.RequestException,
                    google.auth.exceptions.TransportError,
                    OSError,
                ) as exc:
                    logger.warning(
                        "fcm token endpoint unreachable project=%s: %r", self.project_id, exc
                    )
                    raise TokenEndpointUnavailable(_TOKEN_ENDPOINT_UNREACHABLE) from exc
                except (ValueError, TypeError, KeyError) as exc:
                    # A 200 whose body is not an OAuth token answer: google-auth trips on it.
                    logger.warning("fcm token answer unusable project=%s: %r", self.project_id, exc)
                    raise TokenEndpointUnavailable(_TOKEN_ANSWER_UNUSABLE) from exc
            self.headers = [
                # A bearer credential goes literal, never into the HPACK table or a log.
                Unindexed(b"authorization", f"Bearer {self.google.token}".encode()),
                (b"content-type", b"application/json; charset=UTF-8"),
            ]
            return self.headers


def _refresh_reason(exc: Exception) -> str:
    """google-auth's refusal as a space may read it: the OAuth error code and a fixed text.

    The endpoint's own words (error_description, or a body that is not OAuth JSON) are never
    copied: they are whatever the answering host chose to say.
    """
    detail = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = detail.get("error")
    if isinstance(code, str) and _OAUTH_ERROR_CODE.match(code):
        return f"OAuth token refused: {code} (the token endpoint refused the service account)"
    return "OAuth token refused: the token endpoint gave no OAuth error code"


def classify(status: int, body: bytes, retry_after: bytes | None = None) -> Result:
    """The Outcome of one messages:send answer."""
    if status == 200:
        try:
            name = json.loads(body).get("name", "")
        except (ValueError, AttributeError):
            name = ""
        return Result(outcome=Outcome.DELIVERED, status=200, provider_id=name)
    error = _error(body)
    code = _error_code(error)
    message = str(error.get("message", ""))[:200]
    reason = code or str(error.get("status", "")) or f"HTTP {status}"
    if message:
        reason = f"{reason}: {message}"
    if code in _INVALID_TOKEN_CODES:
        return Result(outcome=Outcome.INVALID_TOKEN, status=status, reason=reason)
    if code in _CREDENTIAL_CODES or status in (401, 403, 404):
        # 404 without UNREGISTERED: the project itself is unknown.
        return Result(outcome=Outcome.CREDENTIAL_ERROR, status=status, reason=reason)
    if status in _RETRY_STATUSES or status >= 500:
        return Result(
            outcome=Outcome.RETRY,
            status=status,
            reason=reason,
            retry_after=_seconds(retry_after),
        )
    if status == 400 and _about_token(error):
        return Result(outcome=Outcome.INVALID_TOKEN, status=status, reason=reason)
    return Result(outcome=Outcome.REJECTED, status=status, reason=reason)


def _error(body: bytes) -> dict:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _details(error: dict) -> list[dict]:
    details = error.get("details")
    return (
        [detail for detail in details if isinstance(detail, dict)]
        if isinstance(details, list)
        else []
    )


def _error_code(error: dict) -> str:
    for detail in _details(error):
        if detail.get("@type") == FCM_ERROR_TYPE and isinstance(detail.get("errorCode"), str):
            return detail["errorCode"]
    return ""


def _about_token(error: dict) -> bool:
    """Whether an INVALID_ARGUMENT names the registration token rather than the payload."""
    if "registration token" in str(error.get("message", "")).lower():
        return True
    for detail in _details(error):
        if detail.get("@type") == BAD_REQUEST_TYPE:
            for violation in detail.get("fieldViolations") or ():
                if isinstance(violation, dict) and violation.get("field") == "message.token":
                    return True
    return False


def _seconds(value: bytes | None) -> float | None:
    """Retry-After as seconds (FCM sends delta-seconds); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class _FcmSender(Sender):
    """The requests of one send with one service account."""

    def __init__(self, client: _FcmClient, headers):
        self.client = client
        self.headers = headers
        self.max_in_flight = client.max_in_flight

    def request(self, item: PushItem) -> Request:
        client = self.client
        return Request(
            client.pool,
            client.path,
            self.headers,
            item.payload.request_body(item.token),
            client.timeout,
        )

    def classify(self, response) -> Result:
        retry_after = response.header(b"retry-after") if response.status != 200 else None
        return classify(response.status, response.body, retry_after)

    def stale_authentication(self, result: Result) -> bool:
        # A 401 that a fresh access token may cure (not a third-party credential problem).
        return result.status == 401 and not result.reason.startswith(tuple(_CREDENTIAL_CODES))

    async def reauthenticate(self) -> Result | None:
        try:
            self.headers = await self.client.request_headers(refresh=True)
        except CredentialRefused as exc:
            return Result(outcome=Outcome.CREDENTIAL_ERROR, reason=str(exc)[:255])
        except _TOKEN_ENDPOINT_ERRORS as exc:
            return Result(outcome=Outcome.RETRY, reason=str(exc)[:255])
        return None


class FcmProvider(Provider):
    """The FCM provider: one client per credential on the provider loop."""

    platform = "android"
    credential_model = FcmCredential
    credential_error_level = logging.WARNING

    def __init__(self):
        # credential pk -> (what the client was made from, the client)
        self._clients: dict = {}

    def build_payload(self, message, credential) -> FcmPayload:
        return fcm_message(message, package_name=credential.package_name)

    def log_label(self, credential) -> str:
        return f"fcm send project={credential.project_id}"

    def check_credential(self, credential) -> Result:
        """Ask FCM to validate (not deliver) a message with this credential."""
        return runner.run(self.check_credential_async(credential))

    async def check_credential_async(self, credential) -> Result:
        """`check_credential` on the provider loop."""
        body = json.dumps(
            {"validate_only": True, "message": {"topic": CHECK_TOPIC, "data": {"check": "1"}}}
        ).encode()
        try:
            client = await self._client(credential)
            headers = await client.request_headers()
            response = await client.pool.request(
                b"POST", client.path, headers, body, client.timeout
            )
        except CredentialRefused as exc:
            return Result(outcome=Outcome.CREDENTIAL_ERROR, reason=str(exc))
        except (TransportError, *_TOKEN_ENDPOINT_ERRORS) as exc:
            return transport_result(exc)
        return classify(response.status, response.body, response.header(b"retry-after"))

    async def open(self, credential, items: Sequence[PushItem]) -> Sender:
        try:
            client = await self._client(credential)
            headers = await client.request_headers()
        except CredentialRefused as exc:
            raise CredentialUnusable(str(exc)) from exc
        except _TOKEN_ENDPOINT_ERRORS as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return _FcmSender(client, headers)

    def close(self) -> None:
        """Close every connection this provider opened."""
        clients, self._clients = list(self._clients.values()), {}

        async def close_all():
            for _, client in clients:
                await client.pool.aclose()

        runner.run(close_all())

    async def _client(self, credential) -> _FcmClient:
        """The credential's client; a new one (the old closed) when it or the endpoint changed."""
        document = credential.service_account_json
        key = (
            hashlib.sha256(document.encode()).hexdigest(),
            settings.PUSHPORT_FCM_BASE_URL,
            settings.PUSHPORT_PROVIDER_CA_BUNDLE,
            credential.max_connections,
            credential.response_timeout,
        )
        known = self._clients.get(credential.pk)
        if known is not None and known[0] == key:
            return known[1]
        try:
            client = _FcmClient(
                info=json.loads(document),
                base_url=settings.PUSHPORT_FCM_BASE_URL,
                max_connections=credential.max_connections,
                timeout=credential.response_timeout,
            )
        except (ValueError, KeyError) as exc:
            raise CredentialRefused(f"the service-account JSON is unusable: {exc!r}"[:200]) from exc
        self._clients[credential.pk] = (key, client)
        if known is not None:
            await known[1].pool.aclose()
        return client
