"""What every provider speaks: the items it is handed, the one result type it returns, and
the summary line it logs for each send.
"""

import datetime as dt
import enum
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    INVALID_TOKEN = "invalid_token"
    REJECTED = "rejected"
    CREDENTIAL_ERROR = "credential_error"


@dataclass(slots=True, frozen=True)
class PushItem:
    """One delivery handed to a provider.

    `payload` is what payloads.py built for the delivery's message and platform (shared by
    every item of that message); `environment` is the device's APNs environment.
    """

    delivery_id: str
    token: str
    payload: Any
    environment: str = ""


@dataclass(slots=True, frozen=True)
class Result:
    """The outcome of one attempt, one per PushItem, in the same order."""

    outcome: Outcome
    status: int | None = None
    reason: str = ""
    provider_id: str = ""
    retry_after: float | None = None
    # APNs 410: when the token stopped being valid; a device registered later stays active.
    invalid_since: dt.datetime | None = None


class Provider(Protocol):
    """A push service client for one platform; one instance per process."""

    platform: str

    def send(self, credential, items: Sequence[PushItem]) -> list[Result]:
        """Send every item with the credential; never raises for a per-item failure."""
        ...

    async def send_async(self, credential, items: Sequence[PushItem]) -> list[Result]:
        """send(), awaited on the provider loop (items never empty)."""
        ...


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
        "%s items=%d delivered=%d retry=%d invalid_token=%d rejected=%d "
        "credential_error=%d seconds=%.3f",
        label,
        len(results),
        counts[Outcome.DELIVERED],
        counts[Outcome.RETRY],
        counts[Outcome.INVALID_TOKEN],
        counts[Outcome.REJECTED],
        counts[Outcome.CREDENTIAL_ERROR],
        seconds,
    )
