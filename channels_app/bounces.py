"""Bounces: a failed delivery of an injected (MCMT) message sends a DSN to its Return-Path.

The engine learns of the failure when it records a group of results; it must not wait on a
mail relay there, so it only writes a Bounce row (queue_for_deliveries, after the webhook
events). Workers (beat, or the embedded scheduler without a broker) send due rows one at a
time under a lease through the operator's relay (PUSHPORT_MCMT_BOUNCE_RELAY), and retry a
relay that is away or answers 4xx with backoff until PUSHPORT_MCMT_BOUNCE_MAX_ATTEMPTS; a
5xx answer fails the row at once. Without a relay configured nothing is queued: the failure
is recorded on the delivery and reaches the space's webhooks, as every failure does.
"""

import datetime as dt
import email.policy
import email.utils
import logging
import smtplib
import ssl
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from channels_app import backoff, dsn
from channels_app.models import Bounce, BounceStatus, DeliveryStatus, Message
from channels_app.outbox import LeasedOutbox
from channels_app.payloads import GIVEN_PAYLOAD_KEY

logger = logging.getLogger(__name__)

# Set by mcmt_inject on the messages it stores (metadata.source, metadata.returnPath).
INJECTED_SOURCE = "mcmt"
_BOUNCED = (DeliveryStatus.FAILED, DeliveryStatus.INVALID_TOKEN)
SMTP_TIMEOUT_SECONDS = 30.0
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0


def enabled() -> bool:
    """Whether an SMTP relay for bounces is configured."""
    return bool(settings.PUSHPORT_MCMT_BOUNCE_RELAY)


def return_address(value: str) -> str:
    """The bare address of a Return-Path header value; "" for none or the null path `<>`."""
    return email.utils.parseaddr(value or "")[1]


# Queueing.


def queue_for_deliveries(recorded: Sequence) -> int:
    """Queue a bounce for each failed delivery of an injected message with a Return-Path.

    `recorded` are the engine's claimed deliveries, as webhooks.emit_for_deliveries takes
    them. No query without a relay configured or when no delivery of the group is a failure
    of an injected message (told by the given payload, which the claim already read); one
    query and one insert otherwise. Returns the number queued.
    """
    if not enabled():
        return 0
    try:
        return _queue(recorded)
    except Exception:
        # The outcomes are already recorded: a failure here loses these bounces, never a send.
        logger.exception("could not queue the bounces of %d deliveries", len(recorded))
        return 0


def _queue(recorded: Sequence) -> int:
    failed = {
        d.pk: d.message_id
        for d in recorded
        if d.status in _BOUNCED
        and d.message is not None
        and GIVEN_PAYLOAD_KEY in (d.message.apns_data or {})
    }
    if not failed:
        return 0
    metadata = dict(
        Message.objects.filter(pk__in=set(failed.values())).values_list("pk", "metadata")
    )
    bounces = []
    for delivery_id, message_id in failed.items():
        found = metadata.get(message_id) or {}
        address = return_address(found.get("returnPath", ""))
        if found.get("source") == INJECTED_SOURCE and address:
            bounces.append(Bounce(delivery_id=delivery_id, return_path=address))
    # ignore_conflicts: a result recorded again after a reclaimed lease bounces once.
    Bounce.objects.bulk_create(bounces, ignore_conflicts=True)
    return len(bounces)


# Sending.


def lease_seconds() -> float:
    """How long one claimed bounce is held: the SMTP timeout with a margin."""
    return SMTP_TIMEOUT_SECONDS * 2 + 30.0


def retry_delay(attempts: int) -> float:
    """The wait before a bounce's next attempt (about 1 min, 2, 4... at most an hour)."""
    return backoff.delay(attempts, base=RETRY_BASE_SECONDS, most=RETRY_MAX_SECONDS)


OUTBOX = LeasedOutbox(
    model=Bounce,
    claimable=(BounceStatus.PENDING, BounceStatus.RETRYING),
    sending=BounceStatus.SENDING,
    failed=BounceStatus.FAILED,
    finished=(BounceStatus.SENT, BounceStatus.FAILED),
    max_attempts=lambda: settings.PUSHPORT_MCMT_BOUNCE_MAX_ATTEMPTS,
    lease_seconds=lease_seconds,
    kept_days=lambda: settings.PUSHPORT_MCMT_BOUNCES_KEPT_DAYS,
)


def send_due(*, limit: int = 50, budget_seconds: float = 30.0) -> Counter:
    """Send due bounces one at a time, at most `limit` or for about `budget_seconds`.

    Each is leased before it is sent, so two workers never send it at once. Returns the
    outcomes by kind (sent, retrying, failed). Nothing happens without a relay.
    """
    if not enabled():
        return Counter()
    OUTBOX.give_up_expired(
        timezone.now(), reason="gave up: the last attempt's worker stopped (lease expired)"
    )
    outcomes = OUTBOX.drain(
        limit=limit,
        budget_seconds=budget_seconds,
        send=lambda pk, lease: send(
            Bounce.objects.select_related("delivery__message", "delivery__device").get(pk=pk),
            lease=lease,
        ),
    )
    if outcomes:
        logger.info("bounces %s", " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    return outcomes


def prune(now: dt.datetime | None = None) -> int:
    """Delete the sent and failed bounces older than PUSHPORT_MCMT_BOUNCES_KEPT_DAYS; how
    many. The delivery keeps its failure; the DSN's row only did its job."""
    return OUTBOX.prune(now)


def report_of(bounce: Bounce):
    """The DSN of a bounce (its delivery, message and device read)."""
    delivery = bounce.delivery
    sender = settings.PUSHPORT_MCMT_BOUNCE_FROM
    return dsn.build(
        failed=dsn.FailedPush(
            delivery_id=str(delivery.pk),
            message_id=str(delivery.message_id),
            token=delivery.device.token,
            status=delivery.status,
            reason=delivery.reason,
            provider_status=delivery.provider_status,
            failed_at=delivery.updated_at,
            injected_at=delivery.message.created_at,
        ),
        return_path=bounce.return_path,
        sender=sender,
        reporting_host=sender.rpartition("@")[2] or "localhost",
    )


def send(bounce: Bounce, *, lease: dt.datetime) -> str:
    """Send one bounce claimed with `lease` and record its outcome; returns its new status."""
    final = False
    try:
        # CRLF line ends: a relay reads bare LFs as one line, too long to take.
        _relay(bounce.return_path, report_of(bounce).as_bytes(policy=email.policy.SMTP))
        error = ""
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        error, final = f"refused: {code} {_text(text)}", code >= 500
    except smtplib.SMTPResponseException as exc:
        error, final = f"{exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code >= 500
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return _record(bounce, lease=lease, error=error, final=final)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _relay(recipient: str, body: bytes) -> None:
    """Hand one DSN to the relay: null envelope sender, as RFC 3464 wants of a bounce (so a
    bounce of it is never sent back)."""
    host, _, port = settings.PUSHPORT_MCMT_BOUNCE_RELAY.rpartition(":")
    if not host:
        host, port = port, "25"
    mode = settings.PUSHPORT_MCMT_BOUNCE_TLS
    context = ssl.create_default_context()
    if mode == "tls":
        client = smtplib.SMTP_SSL(host, int(port), timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(host, int(port), timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if mode == "starttls":
            client.starttls(context=context)
        if settings.PUSHPORT_MCMT_BOUNCE_USER:
            client.login(settings.PUSHPORT_MCMT_BOUNCE_USER, settings.PUSHPORT_MCMT_BOUNCE_PASSWORD)
        client.sendmail("", [recipient], body)


def _record(bounce: Bounce, *, lease: dt.datetime, error: str, final: bool) -> str:
    now = timezone.now()
    fields = {"lease_expires_at": None, "last_error": error[:255]}
    if not error:
        fields.update(status=BounceStatus.SENT, sent_at=now)
    elif final or bounce.attempts >= settings.PUSHPORT_MCMT_BOUNCE_MAX_ATTEMPTS:
        fields.update(status=BounceStatus.FAILED)
    else:
        fields.update(
            status=BounceStatus.RETRYING,
            next_attempt_at=now + dt.timedelta(seconds=retry_delay(bounce.attempts)),
        )
    # Written only while this worker still holds the bounce (its lease not taken over).
    Bounce.objects.filter(pk=bounce.pk, status=BounceStatus.SENDING, lease_expires_at=lease).update(
        **fields
    )
    if error:
        # The domain only: the local part of an address is the sender's business.
        logger.warning(
            "bounce %s to …@%s: %s (attempt %d)",
            bounce.pk,
            bounce.return_path.rpartition("@")[2],
            fields["last_error"],
            bounce.attempts,
        )
    return str(fields["status"])
