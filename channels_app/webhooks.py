"""Event webhooks: a space's HTTPS endpoints hear its delivery outcomes and finished campaigns.

Events are rows first (WebhookCall), written in one bulk insert by whoever learns of them: the
engine after it records a group of results, a campaign when it finishes. Workers (beat, or the
embedded scheduler without a broker) POST due calls one at a time under a lease, sign each body
with the webhook's secret, and retry failures with exponential backoff until
PUSHPORT_WEBHOOK_MAX_ATTEMPTS; a receiver that is down delays its events, never loses them,
and never slows the sends that produced them.

Signature (documented in the README): header `Pushport-Signature: t=<unix>,v1=<hex>` where hex
is HMAC-SHA256(secret, f"{t}.{body}"), as Stripe does; the timestamp lets a receiver refuse a
replayed call.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import ssl
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import httpx
from django.conf import settings
from django.utils import timezone

from channels_app import backoff
from channels_app.models import (
    Campaign,
    DeliveryStatus,
    Device,
    Webhook,
    WebhookCall,
    WebhookCallStatus,
    WebhookEvent,
)
from channels_app.outbox import LeasedOutbox
from portal.models import ApiSpace
from portal.outbound import OutboundHostRefused, check_webhook_url

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Pushport-Signature"
EVENT_HEADER = "Pushport-Event"
SECRET_PREFIX = "whsec_"
# A call made from the portal's "send a test event": not one of WebhookEvent, which are what a
# webhook subscribes to; every webhook hears its own test.
TEST_EVENT = "test"
# Receivers answer with anything; what is kept of an error answer is a short printable snippet.
SNIPPET_CHARS = 100
_EVENT_OF_STATUS = {
    DeliveryStatus.DELIVERED: WebhookEvent.DELIVERED,
    DeliveryStatus.FAILED: WebhookEvent.FAILED,
    DeliveryStatus.INVALID_TOKEN: WebhookEvent.INVALID_TOKEN,
}


# Registering.


def new_secret() -> str:
    """A fresh signing secret (256 random bits), shown to the user once."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def create_webhook(*, space: ApiSpace, url: str, events: Sequence[str]) -> tuple[Webhook, str]:
    """Register a webhook; returns it with its secret, which is never shown again.

    The URL must pass the outbound policy (OutboundHostRefused otherwise).
    """
    check_webhook_url(url)
    secret = new_secret()
    webhook = Webhook.objects.create(
        space=space, url=url.strip(), secret=secret, events=sorted(set(events))
    )
    return webhook, secret


def send_test_event(*, webhook: Webhook) -> WebhookCall:
    """Queue a `test` event to one webhook; the workers send it like any other."""
    call_id = uuid.uuid4()
    return WebhookCall.objects.create(
        id=call_id,
        webhook=webhook,
        event=TEST_EVENT,
        payload=_envelope(
            call_id, TEST_EVENT, webhook.space_id, {"message": "A test event from Pushport."}
        ),
    )


# Emitting.


def _envelope(call_id: uuid.UUID, event: str, space_id, data: dict) -> dict:
    # The call's id is the event's: a receiver that sees it twice (a retry after a lost answer)
    # knows it is the same event.
    return {
        "id": str(call_id),
        "type": event,
        "created": timezone.now().isoformat(),
        "apiSpaceId": str(space_id),
        "data": data,
    }


def _subscribers(space_ids: Iterable) -> dict:
    """{space_id: [(webhook_id, events)]} of the spaces' active webhooks: one query."""
    found: dict = defaultdict(list)
    rows = Webhook.objects.filter(space_id__in=set(space_ids), active=True).values_list(
        "id", "space_id", "events"
    )
    for webhook_id, space_id, events in rows:
        found[space_id].append((webhook_id, frozenset(events)))
    return found


def emit_for_deliveries(recorded: Sequence) -> int:
    """Queue the events of deliveries just recorded (delivered, failed, invalid_token).

    `recorded` are the engine's claimed deliveries (pk, message_id, device_id, platform, status,
    reason, provider_status, sent_at, updated_at, message.space_id). Costs one query when no
    webhook of their spaces listens; returns the number of calls queued.
    """
    try:
        return _emit_for_deliveries(recorded)
    except Exception:
        # The outcomes are already recorded: a failure here loses these events, never a send.
        logger.exception("could not queue the webhook events of %d deliveries", len(recorded))
        return 0


def _emit_for_deliveries(recorded: Sequence) -> int:
    final = [d for d in recorded if d.status in _EVENT_OF_STATUS]
    if not final:
        return 0
    subscribers = _subscribers(d.message.space_id for d in final)
    if not subscribers:
        return 0
    wanted = [
        (delivery, webhook_id, _EVENT_OF_STATUS[delivery.status])
        for delivery in final
        for webhook_id, events in subscribers.get(delivery.message.space_id, ())
        if _EVENT_OF_STATUS[delivery.status] in events
    ]
    if not wanted:
        return 0
    # Receivers prune their own databases by profile: one query names the devices' profiles.
    profiles = dict(
        Device.objects.filter(pk__in={d.device_id for d, _, _ in wanted}).values_list(
            "pk", "profile__profile_id"
        )
    )
    calls = []
    for delivery, webhook_id, event in wanted:
        call_id = uuid.uuid4()
        data = {
            "deliveryId": str(delivery.pk),
            "messageId": str(delivery.message_id),
            "deviceId": delivery.device_id,
            "profileId": profiles.get(delivery.device_id),
            "platform": str(delivery.platform),
            # The receiver's own device token: what it needs to prune or reroute.
            "token": getattr(delivery, "token", None),
            "status": str(delivery.status),
            "reason": delivery.reason,
            "providerStatus": delivery.provider_status,
            "sentAt": _iso(delivery.sent_at),
            "at": _iso(delivery.updated_at),
        }
        calls.append(
            WebhookCall(
                id=call_id,
                webhook_id=webhook_id,
                event=event,
                payload=_envelope(call_id, event, delivery.message.space_id, data),
            )
        )
    WebhookCall.objects.bulk_create(calls)
    return len(calls)


def emit_campaign_finished(campaign: Campaign) -> int:
    """Queue a `campaign_finished` event to the campaign's space; the number of calls queued."""
    subscribers = _subscribers([campaign.space_id]).get(campaign.space_id, ())
    calls = []
    for webhook_id, events in subscribers:
        if WebhookEvent.CAMPAIGN_FINISHED not in events:
            continue
        call_id = uuid.uuid4()
        data = {
            "campaignId": str(campaign.pk),
            "name": campaign.name,
            "status": campaign.status,
            "messageId": str(campaign.sent_message_id) if campaign.sent_message_id else None,
            "startedAt": _iso(campaign.started_at),
            "sentAt": _iso(campaign.sent_at),
        }
        calls.append(
            WebhookCall(
                id=call_id,
                webhook_id=webhook_id,
                event=WebhookEvent.CAMPAIGN_FINISHED,
                payload=_envelope(call_id, WebhookEvent.CAMPAIGN_FINISHED, campaign.space_id, data),
            )
        )
    WebhookCall.objects.bulk_create(calls)
    return len(calls)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# Signing.


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The Pushport-Signature header value of a body sent at `timestamp` (unix seconds)."""
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


# Delivering.


def lease_seconds() -> float:
    """How long one claimed call is held: its timeout with a margin for the write-back."""
    return settings.PUSHPORT_WEBHOOK_TIMEOUT_SECONDS + 30.0


def retry_delay(attempts: int) -> float:
    """The wait before a call's next attempt."""
    return backoff.delay(
        attempts,
        base=settings.PUSHPORT_WEBHOOK_RETRY_BASE_SECONDS,
        most=settings.PUSHPORT_WEBHOOK_RETRY_MAX_SECONDS,
    )


OUTBOX = LeasedOutbox(
    model=WebhookCall,
    claimable=(WebhookCallStatus.PENDING, WebhookCallStatus.RETRYING),
    sending=WebhookCallStatus.SENDING,
    failed=WebhookCallStatus.FAILED,
    finished=(WebhookCallStatus.DELIVERED, WebhookCallStatus.FAILED),
    max_attempts=lambda: settings.PUSHPORT_WEBHOOK_MAX_ATTEMPTS,
    lease_seconds=lease_seconds,
    kept_days=lambda: settings.PUSHPORT_WEBHOOK_CALLS_KEPT_DAYS,
)


def prune(now: dt.datetime | None = None) -> int:
    """Delete the finished calls older than PUSHPORT_WEBHOOK_CALLS_KEPT_DAYS; how many."""
    return OUTBOX.prune(now)


def deliver_due(*, limit: int = 100, budget_seconds: float = 30.0) -> Counter:
    """POST due calls one at a time, at most `limit` of them or for about `budget_seconds`.

    Each call is leased before it is sent, so two workers never send it at once, and a worker
    that dies mid-call leaves it to be taken again when its lease expires. Returns the
    outcomes by kind (delivered, retrying, failed).
    """
    OUTBOX.give_up_expired(
        timezone.now(), reason="gave up: the last attempt's worker stopped (lease expired)"
    )
    outcomes = OUTBOX.drain(
        limit=limit,
        budget_seconds=budget_seconds,
        send=lambda pk, lease: deliver(
            WebhookCall.objects.select_related("webhook").get(pk=pk), lease=lease
        ),
    )
    if outcomes:
        logger.info("webhook calls %s", " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    return outcomes


def deliver(call: WebhookCall, *, lease: dt.datetime) -> str:
    """Send one call claimed with `lease` and record its outcome; returns its new status."""
    webhook = call.webhook
    try:
        status, error = _post(webhook, call)
    except OutboundHostRefused as exc:
        # The operator's rule is not something a retry changes: the call fails now.
        status, error, final = None, f"refused: {exc}", True
    else:
        final = False
    return _record(call, lease=lease, status=status, error=error, final=final)


def _post(webhook: Webhook, call: WebhookCall) -> tuple[int | None, str]:
    """(HTTP status, error text or "") of one POST to an address the policy checked."""
    target = check_webhook_url(webhook.url)
    default_port = {"https": 443, "http": 80}[target.scheme]
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    body = json.dumps(call.payload, separators=(",", ":")).encode()
    headers = {
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": "Pushport-Webhooks/1",
        EVENT_HEADER: call.event,
        SIGNATURE_HEADER: sign(secret=webhook.secret, body=body, timestamp=int(time.time())),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    # trust_env off: a proxy from the environment would resolve the name again.
    with httpx.Client(
        timeout=settings.PUSHPORT_WEBHOOK_TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
        verify=_trusted_cas(),
    ) as client:
        error = ""
        for address in target.addresses:
            # Connect to a checked address, never to a second DNS answer; the name still goes
            # in Host and in TLS (SNI and the certificate check).
            url = httpx.URL(webhook.url).copy_with(host=address)
            request = client.build_request(
                "POST", url, content=body, headers=headers, extensions=extensions
            )
            try:
                return _answer(client.send(request, stream=True))
            except httpx.ConnectError as exc:
                # The next address of the host may answer (IPv6 first, a server on IPv4 only).
                error = f"ConnectError: {_sanitize(str(exc).encode())}"
            except httpx.HTTPError as exc:
                return None, f"{type(exc).__name__}: {_sanitize(str(exc).encode())}"
        return None, error


def _trusted_cas() -> ssl.SSLContext | bool:
    bundle = settings.PUSHPORT_WEBHOOK_CA_BUNDLE
    return ssl.create_default_context(cafile=bundle) if bundle else True


def _answer(response: httpx.Response) -> tuple[int, str]:
    try:
        if 200 <= response.status_code < 300:
            return response.status_code, ""
        # Only the first bytes of an error answer are read and kept.
        first = next(response.iter_bytes(), b"")[:SNIPPET_CHARS]
        return response.status_code, f"HTTP {response.status_code}: {_sanitize(first)}"
    finally:
        response.close()


def _sanitize(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text)[:SNIPPET_CHARS].strip()


def _record(
    call: WebhookCall, *, lease: dt.datetime, status: int | None, error: str, final: bool
) -> str:
    now = timezone.now()
    call.response_status = status
    call.last_error = error[:255]
    call.lease_expires_at = None
    if not error:
        call.status = WebhookCallStatus.DELIVERED
        call.delivered_at = now
    elif final or call.attempts >= settings.PUSHPORT_WEBHOOK_MAX_ATTEMPTS:
        call.status = WebhookCallStatus.FAILED
    else:
        call.status = WebhookCallStatus.RETRYING
        call.next_attempt_at = now + dt.timedelta(seconds=retry_delay(call.attempts))
    # Written only while this worker still holds the call (its lease not taken over).
    WebhookCall.objects.filter(
        pk=call.pk, status=WebhookCallStatus.SENDING, lease_expires_at=lease
    ).update(
        status=call.status,
        response_status=call.response_status,
        last_error=call.last_error,
        lease_expires_at=None,
        delivered_at=call.delivered_at,
        next_attempt_at=call.next_attempt_at,
    )
    if error:
        # The host only: a URL's path or query may carry the receiver's own token.
        logger.warning(
            "webhook call %s to %s: %s (attempt %d)",
            call.pk,
            httpx.URL(call.webhook.url).host,
            call.last_error,
            call.attempts,
        )
    return str(call.status)
