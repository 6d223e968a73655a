"""What every provider speaks: the items it is handed and the one result type it returns."""

import datetime as dt
import enum
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
