"""APNs over HTTP/2: provider tokens or client certificates, long-lived pooled connections."""

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence

import jwt
from django.conf import settings

from channels_app import credentials
from channels_app.models import ApnsCredential, ApnsKind
from channels_app.payloads import ApnsPayload, apns_payload
from channels_app.providers import runner, transport
from channels_app.providers.base import (
    CredentialUnusable,
    Outcome,
    Provider,
    PushItem,
    Request,
    Result,
    Sender,
    transport_result,
)
from channels_app.providers.h2_internals import Unindexed
from portal.outbound import apns_endpoint_allowed, split_host_port

logger = logging.getLogger(__name__)

# Apple: renew no more often than every 20 minutes, and before the token is an hour old.
TOKEN_RENEW_AFTER = 50 * 60
TOKEN_MIN_AGE = 20 * 60

INVALID_TOKEN_REASONS = frozenset(
    {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "ExpiredToken"}
)
CREDENTIAL_REASONS = frozenset(
    {
        "InvalidProviderToken",
        "MissingProviderToken",
        "BadCertificate",
        "BadCertificateEnvironment",
        "BadEnvironmentKeyIdInToken",
        "TopicDisallowed",
        "Forbidden",
        "BadTopic",
        "MissingTopic",
    }
)
RETRY_REASONS = frozenset(
    {
        "IdleTimeout",
        "Shutdown",
        "ServiceUnavailable",
        "InternalServerError",
        "TooManyRequests",
        "TooManyProviderTokenUpdates",
        "UnrelatedKeyIdInToken",
    }
)
# After these the connections of the pool are of no further use: open fresh ones next time.
_POOL_POISONING_REASONS = frozenset({"TooManyProviderTokenUpdates", "UnrelatedKeyIdInToken"})
_EXPIRED_PROVIDER_TOKEN = "ExpiredProviderToken"
# Apple serves up to 1,000 concurrent streams per connection once a token is accepted.
MAX_STREAMS = 1000
_PATH_PREFIX = b"/3/device/"
# What a space reads when no connection could be made: the same words whether the port was
# closed, filtered or spoke something else, so a send cannot be used to scan the network.
_UNREACHABLE = "could not connect to the APNs host"
_POST = b"POST"
# A well-formed device token no device holds (one repeated digit): Apple answers it with
# BadDeviceToken once the request's authentication is accepted. See check_credential.
CHECK_TOKEN = "0" * 64


class ProviderToken:
    """The ES256 JWT of one APNs key: cached, shared by every request and connection.

    Only the provider loop's thread uses it, so it needs no lock.
    """

    def __init__(self, *, key_p8: str, key_id: str, team_id: str):
        self._key = credentials.parse_p8(key_p8.encode())
        self._key_id = key_id
        self._team_id = team_id
        self.issued_at = 0
        self.value = b""

    def current(self, now: float) -> bytes:
        """The token, minted anew when older than TOKEN_RENEW_AFTER."""
        if now - self.issued_at >= TOKEN_RENEW_AFTER:
            self._mint(now)
        return self.value

    def renew_if_allowed(self, now: float) -> bool:
        """After ExpiredProviderToken: renew unless that would break Apple's 20-minute rule."""
        if now - self.issued_at < TOKEN_MIN_AGE:
            return False
        self._mint(now)
        return True

    def _mint(self, now: float) -> None:
        self.issued_at = int(now)
        self.value = jwt.encode(
            {"iss": self._team_id, "iat": self.issued_at},
            self._key,
            algorithm="ES256",
            headers={"kid": self._key_id},
        ).encode()


def _fingerprint(credential) -> str:
    material = (
        credential.kind,
        credential.key_p8,
        credential.key_id,
        credential.team_id,
        credential.certificate_p12,
        credential.certificate_password,
        str(credential.max_connections),
    )
    return hashlib.sha256("\0".join(material).encode()).hexdigest()


def _certificate_context(credential):
    """A TLS context presenting the .p12's certificate; the PEM touches disk only briefly."""
    cert_pem, key_pem = credentials.p12_tls_pem(
        credential.p12_bytes, credential.certificate_password
    )
    descriptor, path = tempfile.mkstemp(prefix="apns-", suffix=".pem")  # created 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(cert_pem + key_pem)
        return transport.ssl_context(client_cert=(path, path))
    finally:
        os.unlink(path)


def _result(response: transport.H2Response) -> Result:
    """Map one APNs answer to an outcome (Apple's table of statuses and reasons)."""
    status = response.status
    provider_id = (response.header(b"apns-id") or b"").decode()
    if status == 200:
        return Result(Outcome.DELIVERED, status=200, provider_id=provider_id)
    reason, timestamp = "", None
    try:
        error = json.loads(response.body) if response.body else {}
        reason = str(error.get("reason", ""))
        timestamp = error.get("timestamp")
    except (ValueError, AttributeError):
        pass
    if reason in INVALID_TOKEN_REASONS:
        since = None
        if isinstance(timestamp, int | float) and status == 410:
            since = dt.datetime.fromtimestamp(timestamp / 1000, tz=dt.UTC)
        return Result(Outcome.INVALID_TOKEN, status=status, reason=reason, invalid_since=since)
    if reason in CREDENTIAL_REASONS or reason == _EXPIRED_PROVIDER_TOKEN:
        return Result(Outcome.CREDENTIAL_ERROR, status=status, reason=reason)
    if reason in RETRY_REASONS or status == 429 or status >= 500:
        retry_after = response.header(b"retry-after")
        return Result(
            Outcome.RETRY,
            status=status,
            reason=reason or f"HTTP {status}",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    return Result(Outcome.REJECTED, status=status, reason=reason or f"HTTP {status}")


class _ApnsSender(Sender):
    """The requests of one send with one APNs credential."""

    def __init__(self, provider: "ApnsProvider", credential, token, pools: dict):
        self.provider = provider
        self.credential = credential
        self.token = token
        self.pools = pools
        self.certificate = token is None
        self.max_in_flight = max(1, credential.max_connections) * MAX_STREAMS * len(pools)
        self.timeout = float(credential.response_timeout)
        self.topic = credential.topic or credential.bundle_id
        self.authorization = self._authorization()
        self._headers: dict[int, list] = {}

    def _authorization(self):
        if self.token is None:
            return None
        # A bearer credential goes literal, never into the HPACK table or a log.
        return Unindexed(b"authorization", b"bearer " + self.token.current(self.provider.clock()))

    def request(self, item: PushItem) -> Request:
        payload = item.payload
        headers = self._headers.get(id(payload))
        if headers is None:
            fields = dict(payload.headers)
            fields.setdefault("apns-topic", self.topic)
            headers = [(name.encode(), str(value).encode()) for name, value in fields.items()]
            if self.authorization is not None:
                headers.insert(0, self.authorization)
            self._headers[id(payload)] = headers
        return Request(
            self.pools[self.provider.host(self.credential, item.environment)],
            _PATH_PREFIX + item.token.encode(),
            [*headers, Unindexed(b"apns-id", item.delivery_id.encode())],
            payload.body,
            self.timeout,
        )

    def classify(self, response: transport.H2Response) -> Result:
        return _result(response)

    def failed(self, error: BaseException) -> Result:
        if isinstance(error, transport.GoAway):
            return Result(Outcome.UNSENT, reason=f"GOAWAY {error.reason}".strip())
        if isinstance(error, transport.RequestTimeout):
            return Result(Outcome.RETRY, reason="timeout")
        if isinstance(error, transport.ConnectionLost) and error.tls_error and self.certificate:
            return Result(Outcome.CREDENTIAL_ERROR, reason="BadCertificate (TLS handshake refused)")
        result = transport_result(error)
        if isinstance(error, transport.ConnectionLost):
            logger.info("apns connection failed: %s", error)
            return Result(result.outcome, reason=_UNREACHABLE)
        return result

    def stale_authentication(self, result: Result) -> bool:
        return self.token is not None and result.reason == _EXPIRED_PROVIDER_TOKEN

    async def reauthenticate(self) -> Result | None:
        now = self.provider.clock()
        if self.token.renew_if_allowed(now):
            self.authorization = self._authorization()
            self._headers.clear()
            return None
        # Apple refuses tokens renewed within 20 minutes: wait out the rest of them.
        wait = TOKEN_MIN_AGE - (now - self.token.issued_at)
        return Result(
            Outcome.RETRY, status=403, reason=_EXPIRED_PROVIDER_TOKEN, retry_after=max(wait, 1.0)
        )

    def finish(self, results) -> None:
        if any(r.reason in _POOL_POISONING_REASONS for r in results):
            self.provider.retire(self.pools.values())
        refused = next((r for r in results if r.outcome is Outcome.CREDENTIAL_ERROR), None)
        if refused is not None:
            logger.warning(
                "apns credential refused space=%s reason=%s",
                self.credential.space_id,
                refused.reason,
            )


class ApnsProvider(Provider):
    """Sends to APNs; one instance per process keeps the tokens and connection pools."""

    platform = "ios"
    credential_model = ApnsCredential

    def __init__(self, *, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._tokens: dict[tuple, ProviderToken] = {}
        self._pools: dict[tuple, tuple[str, transport.H2Pool]] = {}

    def build_payload(self, message, credential) -> ApnsPayload:
        return apns_payload(message, bundle_id=credential.topic or credential.bundle_id)

    def close(self) -> None:
        pools = [pool for _, pool in self._pools.values()]
        self._pools.clear()

        async def close_all():
            for pool in pools:
                await pool.aclose()

        runner.run(close_all(), timeout=10)

    async def open(self, credential, items: Sequence[PushItem]) -> Sender:
        certificate = credential.kind == ApnsKind.CERTIFICATE
        if credential.endpoint and not apns_endpoint_allowed(credential.endpoint):
            # Checked again here: the operator may have shortened the list since the save.
            raise CredentialUnusable("endpoint not allowed by this server's operator")
        try:
            token = None if certificate else self._token(credential)
            hosts = {self.host(credential, item.environment) for item in items}
            pools = {host: self._pool(credential, host) for host in hosts}
        except (credentials.CredentialError, ValueError, OSError) as exc:
            # An unreadable key or certificate: nothing can be sent with it.
            raise CredentialUnusable(f"credential unusable: {exc}") from exc
        return _ApnsSender(self, credential, token, pools)

    def log_label(self, credential) -> str:
        return f"apns send space={credential.space_id}"

    def check_credential(self, credential) -> Result:
        """Send one background push to a dummy token that Apple never issued.

        Apple authenticates the request before it looks at the token, so BadDeviceToken means
        the key or certificate, team and topic were accepted; an authentication reason
        (InvalidProviderToken, BadCertificate...) comes back as a credential error.
        """
        payload = ApnsPayload(
            headers={"apns-push-type": "background", "apns-priority": "5"},
            body=b'{"aps":{"content-available":1}}',
        )
        item = PushItem(
            delivery_id=str(uuid.uuid4()),
            token=CHECK_TOKEN,
            payload=payload,
            environment=credential.environment,
        )
        return self.send(credential, [item])[0]

    @staticmethod
    def host(credential, environment: str) -> str:
        """The host:port a device of this environment is reached at."""
        if credential.endpoint:
            return credential.endpoint
        if environment == "production":
            return settings.PUSHPORT_APNS_PRODUCTION_HOST
        if environment in ("development", "sandbox") or credential.environment == "sandbox":
            return settings.PUSHPORT_APNS_SANDBOX_HOST
        return settings.PUSHPORT_APNS_PRODUCTION_HOST

    def retire(self, pools) -> None:
        """Forget and close these pools: their connections are of no further use."""
        retired = set(map(id, pools))
        for key, (_, pool) in list(self._pools.items()):
            if id(pool) in retired:
                del self._pools[key]
                pool.close()

    def _token(self, credential) -> ProviderToken:
        key = (credential.key_id, credential.team_id, credential.key_p8)
        token = self._tokens.get(key)
        if token is None:
            token = ProviderToken(
                key_p8=credential.key_p8, key_id=credential.key_id, team_id=credential.team_id
            )
            self._tokens[key] = token
        return token

    def _pool(self, credential, host_port: str) -> transport.H2Pool:
        key = (credential.pk, credential.space_id, host_port)
        fingerprint = _fingerprint(credential)
        known = self._pools.get(key)
        if known is not None:
            if known[0] == fingerprint:
                return known[1]
            # The credential changed: its old connections carry a stale identity.
            known[1].close()
        # The hosts in use were checked: Apple's settings, or an allowed override.
        host, port = split_host_port(host_port, default_port=443)
        if credential.kind == ApnsKind.CERTIFICATE:
            context = _certificate_context(credential)
        else:
            context = transport.ssl_context()
        pool = transport.H2Pool(
            host,
            port,
            ssl_context=context,
            max_connections=credential.max_connections,
            max_streams_cap=MAX_STREAMS,
        )
        self._pools[key] = (fingerprint, pool)
        return pool
