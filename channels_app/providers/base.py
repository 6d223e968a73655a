"""What every provider speaks, and the one bounded send loop they all run on.

A provider is one module holding one `Provider` subclass: it names its credential model,
builds its payload, opens a `Sender` for one credential (authentication, the pools of the
hosts it picks) and classifies each answer. This module owns what they share: how many
requests are in flight, stopping after the provider refuses the credential, one renewal of
a stale authentication, the result type, and streaming each result to the caller the moment
it is known, so the engine can record it before the rest of the send is over.
"""

import asyncio
import datetime as dt
import enum
import functools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from channels_app import metrics
from channels_app.providers import runner
from channels_app.providers.transport import (
    ConnectionLost,
    GoAway,
    H2Pool,
    H2Response,
    RequestTimeout,
    StreamReset,
    TransportError,
)


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    # The provider cannot have processed the request (GOAWAY above last_stream_id, refused
    # stream, never written): sent again at once, and it costs no attempt.
    UNSENT = "unsent"
    INVALID_TOKEN = "invalid_token"
    REJECTED = "rejected"
    CREDENTIAL_ERROR = "credential_error"


@dataclass(slots=True, frozen=True)
class PushItem:
    """One delivery handed to a provider.

    `payload` is what the provider's build_payload made of the delivery's message (shared by
    every item of that message); `environment` is the device's APNs environment.
    """

    delivery_id: str
    token: str
    payload: Any
    environment: str = ""


@dataclass(slots=True, frozen=True)
class Result:
    """The outcome of one attempt, one per PushItem."""

    outcome: Outcome
    status: int | None = None
    reason: str = ""
    provider_id: str = ""
    retry_after: float | None = None
    # APNs 410: when the token stopped being valid; a device registered later stays active.
    invalid_since: dt.datetime | None = None


@dataclass(slots=True, frozen=True)
class Request:
    """One HTTP/2 request a Sender asks the loop to put on the wire."""

    pool: H2Pool
    path: bytes
    headers: list
    body: bytes
    timeout: float


class CredentialUnusable(Exception):
    """Nothing can be sent with this credential (unreadable key, refused service account)."""


class ProviderUnavailable(Exception):
    """The provider cannot be reached before any item is sent (its token endpoint is down)."""


def not_sent(refusal: Result) -> Result:
    """The result of an item left unsent because the credential was refused meanwhile."""
    return Result(
        Outcome.CREDENTIAL_ERROR, status=refusal.status, reason=f"not sent: {refusal.reason}"[:255]
    )


# What a space reads about a request that got no answer: a fixed text per kind of failure,
# never the network's own words, which would tell a closed port from an open one.
_TRANSPORT_REASONS = (
    (RequestTimeout, "RequestTimeout: no answer in time"),
    (StreamReset, "StreamReset: the provider reset the request"),
    (GoAway, "GoAway: the provider closed the connection"),
    (ConnectionLost, "ConnectionLost: the connection to the provider failed"),
)


def transport_result(error: BaseException) -> Result:
    """A request that got no answer: sent again at once when the provider never saw it."""
    reason = next(
        (text for kind, text in _TRANSPORT_REASONS if isinstance(error, kind)), "provider error"
    )
    if isinstance(error, TransportError) and error.unsent:
        return Result(Outcome.UNSENT, reason=reason)
    return Result(Outcome.RETRY, reason=reason)


class Sender:
    """One credential's requests for one send; a provider subclasses it."""

    # Requests on the wire at once; the rest wait in item order.
    max_in_flight: int = 1000

    def request(self, item: PushItem) -> Request:
        """The request that delivers one item."""
        raise NotImplementedError

    def classify(self, response: H2Response) -> Result:
        """The outcome of one answer."""
        raise NotImplementedError

    def failed(self, error: BaseException) -> Result:
        """The outcome of a request that got no answer."""
        return transport_result(error)

    def stale_authentication(self, result: Result) -> bool:
        """Whether fresh authentication may cure this result (then the item is sent once more)."""
        return False

    async def reauthenticate(self) -> Result | None:
        """Renew the authentication: None to send the stale items again, or their result."""
        return None

    def finish(self, results: Sequence[Result]) -> None:
        """Called once the send is over (a provider may drop connections it cannot reuse)."""


class Provider:
    """A push service client for one platform; one instance per process (see PROVIDERS)."""

    platform: ClassVar[str]
    credential_model: ClassVar[type]
    # The level of the summary line of a send that met a credential error.
    credential_error_level: ClassVar[int] = logging.INFO

    def build_payload(self, message, credential) -> Any:
        """The payload of a message for this provider; raises payloads.PayloadError."""
        raise NotImplementedError

    async def open(self, credential, items: Sequence[PushItem]) -> Sender:
        """A Sender for these items; raises CredentialUnusable or ProviderUnavailable."""
        raise NotImplementedError

    def log_label(self, credential) -> str:
        """What the summary line of a send names (never a secret)."""
        return f"{self.platform} send space={credential.space_id}"

    def close(self) -> None:
        """Close every connection this provider holds (they reopen on the next send)."""

    def send(self, credential, items: Sequence[PushItem]) -> list[Result]:
        """Send every item with the credential; one Result per item, in order."""
        if not items:
            return []
        # Every request carries its own timeout, so the send always ends.
        return runner.run(self.send_async(credential, items))

    async def send_async(
        self,
        credential,
        items: Sequence[PushItem],
        on_result: Callable[[int, Result], None] | None = None,
    ) -> list[Result]:
        """send() on the provider loop; `on_result(index, result)` hears each result as it lands.

        Never raises for a per-item failure; every item gets exactly one result.
        """
        started = time.monotonic()
        results: list[Result | None] = [None] * len(items)

        def settle(index: int, result: Result) -> None:
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        try:
            sender = await self.open(credential, items)
        except CredentialUnusable as exc:
            refused = Result(Outcome.CREDENTIAL_ERROR, reason=str(exc)[:255])
            for index in range(len(items)):
                settle(index, refused)
        except ProviderUnavailable as exc:
            unavailable = Result(Outcome.RETRY, reason=str(exc)[:255])
            for index in range(len(items)):
                settle(index, unavailable)
        else:
            flight = functools.partial(
                _Flight, sender, items, settle=settle, platform=self.platform
            )
            stale = await flight(range(len(items)), final=False).run()
            if stale:
                replacement = await sender.reauthenticate()
                if replacement is None:
                    await flight(stale, final=True).run()
                else:
                    for index in stale:
                        settle(index, replacement)
            sender.finish(results)
        log_batch(
            logging.getLogger(type(self).__module__),
            label=self.log_label(credential),
            results=results,
            seconds=time.monotonic() - started,
            credential_error_level=self.credential_error_level,
        )
        return results


class _Flight:
    """Send some items, at most `max_in_flight` at once, settling each result as it arrives.

    After a credential error nothing more is launched: the items still waiting (here or in a
    pool's queue) settle as not sent. Results that fresh authentication may cure are handed
    back by run() instead of settled, unless this is the `final` flight.
    """

    def __init__(self, sender: Sender, items, indexes, *, settle, platform: str, final: bool):
        self.sender = sender
        self.platform = platform
        self.items = items
        self.todo = deque(indexes)
        self.settle = settle
        self.final = final
        self.in_flight: dict[int, tuple[H2Pool, asyncio.Future, float]] = {}
        self.refusal: Result | None = None
        self.stale: list[int] = []
        self.done = asyncio.get_running_loop().create_future()

    async def run(self) -> list[int]:
        self._launch()
        await self.done
        return self.stale

    def _launch(self) -> None:
        sender, items, todo, in_flight = self.sender, self.items, self.todo, self.in_flight
        limit = sender.max_in_flight
        while todo and len(in_flight) < limit and self.refusal is None:
            index = todo.popleft()
            request = sender.request(items[index])
            future = request.pool.submit(
                b"POST", request.path, request.headers, request.body, request.timeout
            )
            in_flight[index] = (request.pool, future, time.monotonic())
            future.add_done_callback(functools.partial(self._answered, index))
        if self.refusal is not None and todo:
            unsent = not_sent(self.refusal)
            while todo:
                self.settle(todo.popleft(), unsent)
        if not in_flight and not self.done.done():
            self.done.set_result(None)

    def _answered(self, index: int, future: asyncio.Future) -> None:
        started = self.in_flight.pop(index)[2]
        sender = self.sender
        if future.cancelled():
            result = not_sent(self.refusal)
        elif (error := future.exception()) is not None:
            result = sender.failed(error)
        else:
            metrics.observe_provider_latency(self.platform, time.monotonic() - started)
            result = sender.classify(future.result())
        if not self.final and sender.stale_authentication(result):
            self.stale.append(index)
        else:
            self.settle(index, result)
            if result.outcome is Outcome.CREDENTIAL_ERROR and self.refusal is None:
                self.refusal = result
                # What still waits for a stream in a pool is not on the wire: never send it.
                waiting: dict[H2Pool, list] = {}
                for pool, pending, _ in self.in_flight.values():
                    waiting.setdefault(pool, []).append(pending)
                for pool, futures in waiting.items():
                    pool.cancel_queued(futures)
        self._launch()


def log_batch(
    logger: logging.Logger,
    *,
    label: str,
    results: Sequence[Result],
    seconds: float,
    credential_error_level: int = logging.INFO,
) -> None:
    """Log one send's outcome counts (never a token) after `label`.

    The line is INFO, or `credential_error_level` when some item met a credential error.
    """
    counts = Counter(result.outcome for result in results)
    logger.log(
        credential_error_level if counts[Outcome.CREDENTIAL_ERROR] else logging.INFO,
        "%s items=%d delivered=%d retry=%d unsent=%d invalid_token=%d rejected=%d "
        "credential_error=%d seconds=%.3f",
        label,
        len(results),
        counts[Outcome.DELIVERED],
        counts[Outcome.RETRY],
        counts[Outcome.UNSENT],
        counts[Outcome.INVALID_TOKEN],
        counts[Outcome.REJECTED],
        counts[Outcome.CREDENTIAL_ERROR],
        seconds,
    )
