"""Sending one chunk: claim it, hand each platform and space's share to its provider, and
record every result as it arrives.

This is the only code that calls providers; recording.py is the only code that deactivates
devices.
"""

import functools
import logging
import queue
from collections import Counter, defaultdict
from typing import Any

from django.utils import timezone

from channels_app import metrics, providers
from channels_app.models import Health
from channels_app.payloads import PayloadError
from channels_app.providers import runner
from channels_app.providers.base import Outcome, PushItem, Result

from .claim import Claimed, claim
from .recording import NOT_CONFIGURED, Recorder

logger = logging.getLogger(__name__)

DEVICE_INACTIVE = "device deactivated"
# Items the provider never saw (GOAWAY, refused streams) go again at once, this many times
# within the chunk; what is still unsent after that waits for the sweeper, attempt refunded.
UNSENT_ROUNDS = 3
# How long the chunk's thread waits for a result before it looks at its timers again.
_POLL_SECONDS = 0.05
_DONE = object()


def deliver_chunk(*, delivery_ids, stored: list[Claimed] | None = None) -> Counter:
    """Claim a chunk, send it, record the results; returns the outcomes counted.

    `stored`: the chunk's rows as the caller just stored them (see claim()).
    """
    token, claimed = claim(delivery_ids=delivery_ids, now=timezone.now(), stored=stored)
    if not claimed:
        return Counter()
    recorder = Recorder(token)
    todo = claimed
    for _ in range(UNSENT_ROUNDS):
        todo = _send(todo, recorder)
        if not todo:
            break
    for delivery in todo:
        recorder.add(delivery, Result(Outcome.UNSENT, reason="not sent: connection refused"))
    recorder.flush()
    for platform, outcomes in recorder.by_platform.items():
        metrics.record_outcomes(platform, outcomes)
    _log({delivery.message_id for delivery in claimed}, recorder.outcomes)
    return recorder.outcomes


def _credentials(claimed: list[Claimed]) -> dict[tuple[str, Any], Any]:
    """The credential of every (platform, space) in the chunk, one query per platform."""
    spaces: dict[str, set] = defaultdict(set)
    for delivery in claimed:
        spaces[delivery.platform].add(delivery.message.space_id)
    found = {}
    for platform, space_ids in spaces.items():
        model = providers.get_provider(platform).credential_model
        for credential in model.objects.filter(space_id__in=space_ids):
            found[(platform, credential.space_id)] = credential
    return found


def _refusal(delivery: Claimed, credential) -> str:
    """Why this delivery cannot go to its provider at all, or ""."""
    if not delivery.active:
        # Another send found the token dead after this one was queued.
        return DEVICE_INACTIVE
    if credential is None:
        return NOT_CONFIGURED
    if (
        credential.health == Health.NEEDS_ATTENTION
        and credential.health_changed_at is not None
        and credential.health_changed_at >= delivery.message.created_at
    ):
        # The rest of a send the provider refused the credential for fails fast; a later
        # message tries again, and its success clears the flag.
        return f"credential needs attention: {credential.health_reason}"[:255]
    return ""


def _send(claimed: list[Claimed], recorder: Recorder) -> list[Claimed]:
    """Send what can be sent, record every result; returns the deliveries that went unsent."""
    credentials = _credentials(claimed)
    payloads: dict[tuple[str, Any], Any] = {}
    groups: dict[tuple[str, Any], list[Claimed]] = defaultdict(list)
    items: dict[tuple[str, Any], list[PushItem]] = defaultdict(list)
    for delivery in claimed:
        key = (delivery.platform, delivery.message.space_id)
        credential = credentials.get(key)
        reason = _refusal(delivery, credential)
        if not reason:
            payload_key = (delivery.platform, delivery.message_id)
            if payload_key not in payloads:
                try:
                    payloads[payload_key] = providers.get_provider(delivery.platform).build_payload(
                        delivery.message, credential
                    )
                except PayloadError as exc:
                    payloads[payload_key] = exc
            payload = payloads[payload_key]
            if isinstance(payload, PayloadError):
                reason = payload.code
        if reason:
            recorder.add(delivery, Result(outcome=Outcome.REJECTED, reason=reason))
            continue
        groups[key].append(delivery)
        items[key].append(
            PushItem(
                delivery_id=str(delivery.pk),
                token=delivery.token,
                payload=payload,
                environment=delivery.environment,
            )
        )
    if not groups:
        return []
    return _run_providers(groups, items, credentials, recorder)


def _run_providers(groups, items, credentials, recorder: Recorder) -> list[Claimed]:
    """Every group's provider call at once on the provider loop, results recorded as they land."""
    keys = list(groups)
    answers: queue.SimpleQueue = queue.SimpleQueue()
    results: dict[tuple, list] = {key: [None] * len(groups[key]) for key in keys}
    unsent: list[Claimed] = []
    # Results heard in this turn of the provider loop, handed over together at its end: each
    # hand-over wakes this thread, which then takes the GIL from the loop, and one per result
    # was a thread switch per answer. Only the loop's thread touches the list.
    heard: list = []
    loop = runner.loop()

    def hand_over() -> None:
        answers.put(heard.copy())
        heard.clear()

    def hear(key, index: int, result: Result) -> None:
        if not heard:
            loop.call_soon(hand_over)
        heard.append((key, index, result))

    def finish() -> None:  # after every result, on the loop's thread
        if heard:
            hand_over()
        answers.put(_DONE)

    future = runner.start_all(
        [
            providers.get_provider(key[0]).send_async(
                credentials[key], items[key], on_result=functools.partial(hear, key)
            )
            for key in keys
        ]
    )
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(finish))
    finished = False
    while not finished:
        try:
            answer = answers.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            answer = None
        # One time for the results heard together: their rows then share prepared values.
        now = timezone.now()
        while answer is not None:
            if answer is _DONE:
                finished = True
            else:
                for key, index, result in answer:
                    results[key][index] = result
                    delivery = groups[key][index]
                    if result.outcome == Outcome.UNSENT:
                        unsent.append(delivery)
                    else:
                        recorder.add(delivery, result, now)
            try:
                answer = answers.get_nowait()
            except queue.Empty:
                answer = None
        recorder.tick()
    for key, outcome in zip(keys, future.result(), strict=True):
        if isinstance(outcome, BaseException):
            # A provider bug must not strand the chunk until its lease expires: retry it.
            logger.error(
                "provider %s failed on a chunk of %d", key[0], len(groups[key]), exc_info=outcome
            )
            failed = Result(outcome=Outcome.RETRY, reason="provider error")
            for index, delivery in enumerate(groups[key]):
                if results[key][index] is None:
                    results[key][index] = failed
                    recorder.add(delivery, failed)
        _update_health(credentials[key], results[key])
    return unsent


def _update_health(credential, results: list[Result]) -> None:
    refused = next((r for r in results if r.outcome == Outcome.CREDENTIAL_ERROR), None)
    if refused is not None:
        credential.mark_needs_attention(refused.reason or f"HTTP {refused.status}")
    elif credential.health != Health.OK and any(r.outcome == Outcome.DELIVERED for r in results):
        credential.mark_ok()


def _log(message_ids: set, outcomes: Counter) -> None:
    shown = sorted(str(m) for m in message_ids)
    listed = ",".join(shown[:10]) + (f",+{len(shown) - 10}" if len(shown) > 10 else "")
    counted = " ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
    logger.info("delivery chunk messages=%s %s", listed, counted)
