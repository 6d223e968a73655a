"""APNs over HTTP/2: provider tokens or client certificates, long-lived pooled connections."""

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence

import jwt
from django.conf import settings

from channels_app import credentials
from channels_app.models import ApnsKind
from channels_app.providers import runner, transport
from channels_app.providers.base import Outcome, PushItem, Result, log_batch
from channels_app.providers.transport import Unindexed
from portal.outbound import apns_endpoint_allowed

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
_PATH_PREFIX = b"/3/device/"
# What a space reads when no connection could be made: the same words whether the port was
# closed, filtered or spoke something else, so a send cannot be used to scan the network.
_UNREACHABLE = "could not connect to the APNs host"
_POST = b"POST"


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


def _split_host(host_port: str) -> tuple[str, int]:
    host, sep, port = host_port.strip().rpartition(":")
    if not sep or not port.isdigit():
        return host_port.strip(), 443
    return host.strip("[]"), int(port)


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


def _transport_result(error: BaseException, *, certificate: bool) -> Result:
    if isinstance(error, transport.GoAway):
        return Result(Outcome.RETRY, reason=f"GOAWAY {error.reason}".strip())
    if isinstance(error, transport.RequestTimeout):
        return Result(Outcome.RETRY, reason="timeout")
    if isinstance(error, transport.ConnectionLost) and error.tls_error and certificate:
        return Result(Outcome.CREDENTIAL_ERROR, reason="BadCertificate (TLS handshake refused)")
    if isinstance(error, transport.ConnectionLost):
        logger.info("apns connection failed: %s", error)
        return Result(Outcome.RETRY, reason=_UNREACHABLE)
    return Result(Outcome.RETRY, reason=str(error)[:255] or type(error).__name__)


class _Batch:
    """The requests of one round: results in item order, fast failure after a refusal."""

    def __init__(self, size: int, pools, *, certificate: bool):
        self.results: list[Result | None] = [None] * size
        self.pools = pools
        self.certificate = certificate
        self.pending = 0
        self.futures: list = [None] * size
        self.refusal: Result | None = None
        self.done = asyncio.get_running_loop().create_future()

    def watch(self, index: int, future) -> None:
        self.pending += 1
        self.futures[index] = future
        future.add_done_callback(lambda f: self._settle(index, f))

    def _settle(self, index: int, future) -> None:
        if future.cancelled():
            result = Result(
                Outcome.CREDENTIAL_ERROR,
                status=self.refusal.status,
                reason=f"not sent: {self.refusal.reason}"[:255],
            )
        elif future.exception() is not None:
            result = _transport_result(future.exception(), certificate=self.certificate)
        else:
            result = _result(future.result())
        self.results[index] = result
        if (
            result.outcome is Outcome.CREDENTIAL_ERROR
            and self.refusal is None
            and result.reason != _EXPIRED_PROVIDER_TOKEN
        ):
            self.refusal = result
            # The credential is refused: what is not yet on the wire is not sent at all.
            for pool in self.pools:
                pool.cancel_queued(self.futures)
        self.pending -= 1
        if self.pending == 0 and not self.done.done():
            self.done.set_result(None)


class ApnsProvider:
    """Sends to APNs; one instance per process keeps the tokens and connection pools."""

    platform = "ios"

    def __init__(self, *, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._tokens: dict[tuple, ProviderToken] = {}
        self._pools: dict[tuple, tuple[str, transport.H2Pool]] = {}

    def send(self, credential, items: Sequence[PushItem]) -> list[Result]:
        """Send every item (see Provider.send); runs on the process's provider loop."""
        if not items:
            return []
        # Every request carries its own timeout and queued ones advance as streams free up,
        # so the batch always ends; no outer deadline is needed.
        return runner.run(self.send_async(credential, items))

    def close(self) -> None:
        """Close every connection this provider holds (they reopen on the next send)."""
        pools = [pool for _, pool in self._pools.values()]
        self._pools.clear()

        async def close_all():
            for pool in pools:
                await pool.aclose()

        runner.run(close_all(), timeout=10)

    async def send_async(self, credential, items: Sequence[PushItem]) -> list[Result]:
        """send(), for callers already on the provider loop."""
        started = time.monotonic()
        certificate = credential.kind == ApnsKind.CERTIFICATE
        try:
            token = None if certificate else self._token(credential)
            groups = self._group_by_host(credential, items)
            pools = {host: self._pool(credential, host) for host in groups}
        except (credentials.CredentialError, ValueError, OSError) as exc:
            # An unreadable key or certificate: nothing can be sent with it.
            reason = f"credential unusable: {exc}"[:255]
            return [Result(Outcome.CREDENTIAL_ERROR, reason=reason)] * len(items)
        results = await self._send_round(
            credential, items, groups, pools, token, certificate=certificate
        )
        expired = [i for i, r in enumerate(results) if r.reason == _EXPIRED_PROVIDER_TOKEN]
        if expired and token is not None:
            if token.renew_if_allowed(self.clock()):
                retried = [items[i] for i in expired]
                again = await self._send_round(
                    credential,
                    retried,
                    self._group_by_host(credential, retried),
                    pools,
                    token,
                    certificate=False,
                )
                for index, result in zip(expired, again, strict=True):
                    results[index] = result
            else:
                wait = TOKEN_MIN_AGE - (self.clock() - token.issued_at)
                for index in expired:
                    results[index] = Result(
                        Outcome.RETRY,
                        status=403,
                        reason=_EXPIRED_PROVIDER_TOKEN,
                        retry_after=max(wait, 1.0),
                    )
        self._retire_poisoned_pools(results, pools)
        self._log(credential, results, time.monotonic() - started)
        return results

    async def _send_round(self, credential, items, groups, pools, token, *, certificate):
        batch = _Batch(len(items), list(pools.values()), certificate=certificate)
        timeout = float(credential.response_timeout)
        authorization = (
            (b"authorization", b"bearer " + token.current(self.clock())) if token else None
        )
        base_headers: dict[int, list] = {}
        for host, indexes in groups.items():
            pool = pools[host]
            for index in indexes:
                item = items[index]
                payload = item.payload
                headers = base_headers.get(id(payload))
                if headers is None:
                    headers = self._headers(credential, payload, authorization)
                    base_headers[id(payload)] = headers
                future = pool.submit(
                    _POST,
                    _PATH_PREFIX + item.token.encode(),
                    [*headers, Unindexed(b"apns-id", item.delivery_id.encode())],
                    payload.body,
                    timeout,
                )
                batch.watch(index, future)
        await batch.done
        return batch.results

    @staticmethod
    def _headers(credential, payload, authorization) -> list[tuple[bytes, bytes]]:
        fields = dict(payload.headers)
        fields.setdefault("apns-topic", credential.topic or credential.bundle_id)
        headers = [(name.encode(), str(value).encode()) for name, value in fields.items()]
        if authorization is not None:
            headers.insert(0, authorization)
        return headers

    def _token(self, credential) -> ProviderToken:
        key = (credential.key_id, credential.team_id, credential.key_p8)
        token = self._tokens.get(key)
        if token is None:
            token = ProviderToken(
                key_p8=credential.key_p8, key_id=credential.key_id, team_id=credential.team_id
            )
            self._tokens[key] = token
        return token

    @staticmethod
    def _group_by_host(credential, items) -> dict[str, list[int]]:
        if credential.endpoint:
            # Checked at send time too: the operator may have shortened the list since.
            if not apns_endpoint_allowed(credential.endpoint):
                raise credentials.CredentialError("endpoint not allowed by this server's operator")
            return {credential.endpoint: list(range(len(items)))}
        production = settings.PUSHPORT_APNS_PRODUCTION_HOST
        sandbox = settings.PUSHPORT_APNS_SANDBOX_HOST
        default = sandbox if credential.environment == "sandbox" else production
        groups: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            environment = item.environment
            if environment == "production":
                host = production
            elif environment in ("development", "sandbox"):
                host = sandbox
            else:
                host = default
            groups.setdefault(host, []).append(index)
        return groups

    def _pool(self, credential, host_port: str) -> transport.H2Pool:
        key = (credential.pk, credential.space_id, host_port)
        fingerprint = _fingerprint(credential)
        known = self._pools.get(key)
        if known is not None:
            if known[0] == fingerprint:
                return known[1]
            # The credential changed: its old connections carry a stale identity.
            known[1].close()
        host, port = _split_host(host_port)
        if credential.kind == ApnsKind.CERTIFICATE:
            context = _certificate_context(credential)
        else:
            context = transport.ssl_context()
        pool = transport.H2Pool(
            host, port, ssl_context=context, max_connections=credential.max_connections
        )
        self._pools[key] = (fingerprint, pool)
        return pool

    def _retire_poisoned_pools(self, results, pools):
        if not any(r.reason in _POOL_POISONING_REASONS for r in results):
            return
        for key, (_, pool) in list(self._pools.items()):
            if pool in pools.values():
                del self._pools[key]
                pool.close()

    @staticmethod
    def _log(credential, results, seconds: float) -> None:
        log_batch(
            logger, label=f"apns send space={credential.space_id}", results=results, seconds=seconds
        )
        refused = next((r for r in results if r.outcome is Outcome.CREDENTIAL_ERROR), None)
        if refused is not None:
            logger.warning(
                "apns credential refused space=%s reason=%s", credential.space_id, refused.reason
            )
