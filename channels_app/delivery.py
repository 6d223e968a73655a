"""The delivery engine: claim deliveries, send them through their provider, record every outcome.

This is the only code that calls providers and the only code that deactivates devices.
"""

import contextlib
import datetime as dt
import logging
import random
import threading
import uuid
from collections import Counter, defaultdict, namedtuple
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import providers, rows
from .models import (
    ApnsCredential,
    Delivery,
    DeliveryStatus,
    Device,
    FcmCredential,
    Health,
    Message,
    Platform,
)
from .payloads import PayloadError, apns_payload, fcm_message
from .providers import runner
from .providers.base import Outcome, PushItem, Result
from .tracking import refresh_statuses

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "channel not configured"
DEVICE_INACTIVE = "device deactivated"
CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
RECLAIM_BATCH = 500
# What sending reads of a message: the fields payloads.py builds from, and the space and
# creation time of the channel checks.
SentMessage = namedtuple(
    "SentMessage",
    (
        "pk",
        "space_id",
        "created_at",
        "title",
        "body",
        "badge",
        "sound",
        "icon",
        "category",
        "collapse_key",
        "valid_until",
        "silent",
        "priority",
        "extras",
        "apns_data",
        "fcm_data",
        "deep_link",
    ),
)
# Messages the current thread has just stored, by id: see stored_here().
_stored = threading.local()
# What sending a claimed delivery reads, in the order of Claimed's first fields.
CLAIM_FIELDS = (
    "id",
    "message_id",
    "device_id",
    "platform",
    "attempts",
    "provider_id",
    "sent_at",
    "device__token",
    "device__environment",
    "device__active",
)
# Every field written back.
WRITTEN_FIELDS = [
    "status",
    "next_attempt_at",
    "lease_expires_at",
    "claim_token",
    "provider_status",
    "reason",
    "provider_id",
    "sent_at",
    "updated_at",
]


@dataclass(frozen=True, slots=True)
class Channel:
    """How one platform is configured and what its payload is built from."""

    credential_model: type
    build_payload: Callable[[Any, Any], Any]


CHANNELS = {
    Platform.IOS: Channel(
        ApnsCredential,
        lambda message, credential: apns_payload(
            message, bundle_id=credential.topic or credential.bundle_id
        ),
    ),
    Platform.ANDROID: Channel(
        FcmCredential,
        lambda message, credential: fcm_message(message, package_name=credential.package_name),
    ),
}


@dataclass(frozen=True, slots=True)
class Target:
    """The device of a claimed delivery, as far as sending reads it."""

    token: str
    environment: str
    active: bool


@dataclass(slots=True)
class Claimed:
    """A claimed delivery: plain fields rather than model instances, for chunks of thousands."""

    pk: uuid.UUID
    message_id: uuid.UUID
    device_id: int
    platform: str
    attempts: int
    provider_id: str
    sent_at: dt.datetime | None
    device: Target
    message: SentMessage | None = None
    status: str = DeliveryStatus.SENDING
    next_attempt_at: dt.datetime | None = None
    lease_expires_at: dt.datetime | None = None
    claim_token: uuid.UUID | None = None
    provider_status: int | None = None
    reason: str = ""
    updated_at: dt.datetime | None = None


@dataclass(slots=True)
class ChunkReport:
    """What one chunk did: outcomes counted, and which deliveries to try again when."""

    outcomes: Counter = field(default_factory=Counter)
    retry_ids: list[str] = field(default_factory=list)
    retry_at: dt.datetime | None = None


def claim(*, delivery_ids: Iterable, now: dt.datetime) -> tuple[uuid.UUID, list[Claimed]]:
    """Lease the due, unclaimed deliveries among the ids; two workers never get the same one."""
    token = uuid.uuid4()
    Delivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
        id__in=list(delivery_ids),
        status__in=CLAIMABLE,
    ).update(
        status=DeliveryStatus.SENDING,
        claim_token=token,
        lease_expires_at=now + dt.timedelta(seconds=settings.PUSHPORT_DELIVERY_LEASE_SECONDS),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    fetched = Delivery.objects.filter(claim_token=token, status=DeliveryStatus.SENDING).values_list(
        *CLAIM_FIELDS
    )
    claimed = [Claimed(*row[:7], device=Target(*row[7:])) for row in fetched]
    messages = _sent_messages({d.message_id for d in claimed})
    for delivery in claimed:
        delivery.message = messages[delivery.message_id]
    return token, claimed


@contextlib.contextmanager
def stored_here(messages: Iterable[Message]):
    """Within this block, claims in this thread take these just-stored messages as they are.

    Sending in process right after storing, the messages need not be read back; any other
    message (and everything in another thread or a worker) is read from the database.
    """
    previous = getattr(_stored, "messages", None)
    _stored.messages = {message.pk: message for message in messages}
    try:
        yield
    finally:
        _stored.messages = previous


def _sent_messages(ids: set) -> dict[Any, SentMessage]:
    """One copy of each message as a plain row, no model instances, by id."""
    stored = getattr(_stored, "messages", None) or {}
    messages = {
        pk: SentMessage._make(getattr(stored[pk], name) for name in SentMessage._fields)
        for pk in ids
        if pk in stored
    }
    missing = ids - messages.keys()
    if missing:
        fetched = Message.objects.filter(pk__in=missing).values_list(*SentMessage._fields)
        messages.update((row[0], SentMessage(*row)) for row in fetched)
    return messages


def retry_delay(*, attempts: int, retry_after: float | None) -> float:
    """Backoff with jitter after the nth attempt; at least the provider's Retry-After."""
    backoff = settings.PUSHPORT_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    # Equal jitter: spread a burst of failures without ever retrying immediately.
    delay = backoff / 2 + random.uniform(0, backoff / 2)  # noqa: S311
    return min(max(delay, retry_after or 0.0), settings.PUSHPORT_RETRY_MAX_SECONDS)


def deliver_chunk(*, delivery_ids: Iterable) -> ChunkReport:
    """Claim a chunk, send it with one provider call per platform and space, record the results."""
    now = timezone.now()
    token, claimed = claim(delivery_ids=delivery_ids, now=now)
    report = ChunkReport()
    if not claimed:
        return report
    results = _send(claimed)
    invalid: list[tuple[Claimed, Result]] = []
    # One time for the chunk's results: they are all recorded in this one statement.
    recorded_at = timezone.now()
    for delivery, result in results:
        _apply(delivery, result, report=report, now=recorded_at)
        if result.outcome == Outcome.INVALID_TOKEN:
            invalid.append((delivery, result))
    _write_back(claimed, token=token, invalid=invalid)
    message_ids = {delivery.message_id for delivery in claimed}
    refresh_statuses(message_ids=message_ids)
    _log(message_ids, report)
    return report


def _credentials(claimed: list[Claimed]) -> dict[tuple[str, Any], Any]:
    """The credential of every (platform, space) in the chunk, one query per platform."""
    spaces: dict[str, set] = defaultdict(set)
    for delivery in claimed:
        spaces[delivery.platform].add(delivery.message.space_id)
    found = {}
    for platform, space_ids in spaces.items():
        for credential in CHANNELS[platform].credential_model.objects.filter(
            space_id__in=space_ids
        ):
            found[(platform, credential.space_id)] = credential
    return found


def _failed(reason: str) -> Result:
    return Result(outcome=Outcome.REJECTED, reason=reason)


def _send(claimed: list[Claimed]) -> list[tuple[Claimed, Result]]:
    """Every claimed delivery with its result; providers see only what can be sent."""
    credentials = _credentials(claimed)
    payloads: dict[tuple[str, Any], Any] = {}
    groups: dict[tuple[str, Any], list[tuple[Claimed, PushItem]]] = defaultdict(list)
    results: list[tuple[Claimed, Result]] = []
    for delivery in claimed:
        message = delivery.message
        key = (delivery.platform, message.space_id)
        credential = credentials.get(key)
        if not delivery.device.active:
            # Another send found the token dead after this one was queued.
            results.append((delivery, _failed(DEVICE_INACTIVE)))
            continue
        if credential is None:
            results.append((delivery, _failed(NOT_CONFIGURED)))
            continue
        if (
            credential.health == Health.NEEDS_ATTENTION
            and credential.health_changed_at is not None
            and credential.health_changed_at >= message.created_at
        ):
            # The rest of a send the provider refused the credential for fails fast; a
            # later message tries again, and its success clears the flag.
            reason = f"credential needs attention: {credential.health_reason}"
            results.append((delivery, _failed(reason[:255])))
            continue
        payload_key = (delivery.platform, message.pk)
        if payload_key not in payloads:
            try:
                payloads[payload_key] = CHANNELS[delivery.platform].build_payload(
                    message, credential
                )
            except PayloadError as exc:
                payloads[payload_key] = exc
        payload = payloads[payload_key]
        if isinstance(payload, PayloadError):
            results.append((delivery, _failed(payload.code)))
            continue
        item = PushItem(
            delivery_id=str(delivery.pk),
            token=delivery.device.token,
            payload=payload,
            environment=delivery.device.environment,
        )
        groups[key].append((delivery, item))
    batches = list(groups.items())
    # One batch per platform and space, all in flight at once on the provider loop.
    answers = runner.run_all(
        [
            providers.get_provider(platform).send_async(
                credentials[(platform, space_id)], [item for _, item in group]
            )
            for (platform, space_id), group in batches
        ]
    )
    for ((platform, space_id), group), answer in zip(batches, answers, strict=True):
        credential = credentials[(platform, space_id)]
        group_results = _provider_results(platform, answer, len(group))
        results.extend(zip((d for d, _ in group), group_results, strict=True))
        _update_health(credential, group_results)
    return results


def _provider_results(platform: str, answer, size: int) -> list[Result]:
    """A provider's answer to one batch, or a retry for every item when it failed."""
    if isinstance(answer, BaseException):
        # A provider bug must not strand the chunk until its lease expires: retry it.
        logger.error("provider %s failed on a chunk of %d", platform, size, exc_info=answer)
        return [Result(outcome=Outcome.RETRY, reason="provider error")] * size
    if len(answer) != size:
        logger.error("provider %s answered %d of %d items", platform, len(answer), size)
        return [Result(outcome=Outcome.RETRY, reason="provider error")] * size
    return answer


def _update_health(credential, results: list[Result]) -> None:
    refused = next((r for r in results if r.outcome == Outcome.CREDENTIAL_ERROR), None)
    if refused is not None:
        credential.mark_needs_attention(refused.reason or f"HTTP {refused.status}")
    elif credential.health != Health.OK and any(r.outcome == Outcome.DELIVERED for r in results):
        credential.mark_ok()


def _apply(delivery: Claimed, result: Result, *, report: ChunkReport, now: dt.datetime) -> None:
    """Set the delivery's fields from one result (in memory; written back in bulk)."""
    delivery.provider_status = result.status
    delivery.reason = result.reason[:255]
    delivery.lease_expires_at = None
    delivery.claim_token = None
    delivery.updated_at = now
    outcome = result.outcome
    if outcome == Outcome.DELIVERED:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.provider_id = result.provider_id[:255]
        delivery.sent_at = now
        delivery.next_attempt_at = None
    elif outcome == Outcome.RETRY and delivery.attempts < settings.PUSHPORT_DELIVERY_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.RETRYING
        delay = retry_delay(attempts=delivery.attempts, retry_after=result.retry_after)
        delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
        report.retry_ids.append(str(delivery.pk))
        report.retry_at = max(report.retry_at or now, delivery.next_attempt_at)
    elif outcome == Outcome.INVALID_TOKEN:
        delivery.status = DeliveryStatus.INVALID_TOKEN
        delivery.next_attempt_at = None
    else:
        if outcome == Outcome.RETRY:
            outcome = "gave_up"
            delivery.reason = f"gave up after {delivery.attempts} attempts: {delivery.reason}"[:255]
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    if result.reason == NOT_CONFIGURED:
        outcome = "not_configured"
    report.outcomes[str(outcome)] += 1


def _write_back(
    claimed: list[Claimed], *, token: uuid.UUID, invalid: list[tuple[Claimed, Result]]
) -> None:
    """Store the results of the deliveries this worker still holds; deactivate dead tokens."""
    with transaction.atomic():
        # A lease reclaimed meanwhile belongs to another worker now: the token check skips it.
        rows.update(claimed, WRITTEN_FIELDS, where={"claim_token": token}, model=Delivery)
        # The provider's word on a token holds even if this lease was reclaimed meanwhile.
        _deactivate(invalid)


def _deactivate(invalid: list[tuple[Claimed, Result]]) -> None:
    """Deactivate the devices whose tokens the provider called invalid.

    A device registered again after the provider's invalid-since time keeps its new token.
    """
    now = timezone.now()
    groups: dict[tuple[str, dt.datetime | None], list[int]] = defaultdict(list)
    for delivery, result in invalid:
        groups[(result.reason or "invalid token", result.invalid_since)].append(delivery.device_id)
    for (reason, invalid_since), device_ids in groups.items():
        devices = Device.objects.filter(pk__in=device_ids, active=True)
        if invalid_since is not None:
            devices = devices.filter(registered_at__lte=invalid_since)
        devices.update(active=False, deactivated_at=now, deactivation_reason=reason[:100])


def _log(message_ids: set, report: ChunkReport) -> None:
    shown = sorted(str(m) for m in message_ids)
    listed = ",".join(shown[:10]) + (f",+{len(shown) - 10}" if len(shown) > 10 else "")
    outcomes = " ".join(f"{k}={v}" for k, v in sorted(report.outcomes.items()))
    logger.info("delivery chunk messages=%s %s", listed, outcomes)


def reclaim_expired_leases(*, now: dt.datetime | None = None) -> list[str]:
    """Put deliveries whose worker died mid-send back to retrying; returns their ids."""
    now = now or timezone.now()
    expired = Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_expires_at__lt=now)
    reclaimed: list[str] = []
    while batch := list(expired.values_list("id", flat=True)[:RECLAIM_BATCH]):
        expired.filter(id__in=batch).update(
            status=DeliveryStatus.RETRYING,
            lease_expires_at=None,
            claim_token=None,
            next_attempt_at=now,
            updated_at=now,
        )
        reclaimed.extend(str(pk) for pk in batch)
    if reclaimed:
        logger.warning("reclaimed %d deliveries with expired leases", len(reclaimed))
    return reclaimed


def overdue_retries(*, now: dt.datetime | None = None) -> list[str]:
    """Ids of retrying deliveries past their due time that nothing has picked up.

    Covers retries too far off to wait for in process, and a broker that lost a task;
    a grace period leaves on-time retries to the task that scheduled them.
    """
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.PUSHPORT_RETRY_PICKUP_GRACE_SECONDS)
    overdue = Delivery.objects.filter(
        status=DeliveryStatus.RETRYING, next_attempt_at__lte=now - grace
    ).filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
    return [str(pk) for pk in overdue.values_list("id", flat=True)]
