"""Campaigns: one message for an audience of profile ids, tested on one profile, sent live once.

The live send stores one Message (`to` = {"campaign": id}) and one Delivery per distinct active
device of the audience, then leaves the sending to the delivery engine. It goes in three steps,
each safe to repeat, so a crash anywhere is resumed without sending a device twice:

1. start_live_send(): a conditional UPDATE moves the campaign from draft or scheduled to
   sending (two requests cannot both win) and stores its Message in the same transaction.
2. store_deliveries(): resolves the audience to devices in batches ordered by device id and
   inserts the missing (message, device) pairs; the unique constraint on that pair makes a
   resumed or concurrent run insert nothing twice. When every batch is stored it sets
   `started_at`, so a campaign that is sending with no `started_at` is one whose deliveries
   are not all stored yet: run_campaigns() stores the rest.
3. finish(): once no delivery of the message is unfinished, the campaign becomes sent.

Throttle: with `rate_per_minute`, delivery i is due at (message created) + i / rate minutes.
Its `next_attempt_at` keeps any worker's claim off it until then and its `sweep_after` keeps
the sweep from queuing it early, so any number of workers honour the rate without talking to
each other. Only the rows due now are queued; the sweep queues the others when due.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone

from . import rows, sending, tasks
from .models import (
    ApnsCredential,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Delivery,
    Device,
    FcmCredential,
    Message,
)
from .payloads import PayloadError, validate_message
from .serializers import MessageRequestSerializer
from .tracking import UNFINISHED, message_counts, refresh_statuses

logger = logging.getLogger(__name__)

# Rows per statement when adding an audience and when storing deliveries: big enough that a
# million ids take a few hundred statements, small enough that a batch is a few MB at most.
RECIPIENT_BATCH = 5000
DELIVERY_BATCH = 2000
PROFILE_ID_MAX = 255
UNSENT = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
# The message fields a campaign keeps: the send body without `to`.
MESSAGE_FIELDS = tuple(name for name in MessageRequestSerializer().fields if name != "to")
# Stands in for `to` while a campaign's message is validated; never stored.
_PLACEHOLDER_TO = {"profileId": "campaign"}


class CampaignError(Exception):
    """A campaign operation refused; `code` is stable, `status` the HTTP status to answer."""

    def __init__(self, code: str, message: str, *, status: int = 400, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details


# --- the message -------------------------------------------------------------------------


def clean_message(data) -> dict:
    """The campaign message of a send body without `to`, validated exactly as a send is.

    Returns the JSON to store: the serializer's fields only, as given (dates stay strings).
    Raises CampaignError (`validation_error`, or the payload's own code).
    """
    if not isinstance(data, dict):
        raise CampaignError("message_not_object", "message must be a JSON object.")
    if "to" in data:
        raise CampaignError(
            "message_has_to", "A campaign's message has no `to`: its audience says whom."
        )
    serializer = MessageRequestSerializer(data={**data, "to": _PLACEHOLDER_TO})
    if not serializer.is_valid():
        raise CampaignError(
            "validation_error", _first_error(serializer.errors), details=serializer.errors
        )
    return {key: data[key] for key in MESSAGE_FIELDS if key in data}


def _first_error(errors, path="message") -> str:
    if isinstance(errors, dict):
        key, value = next(iter(errors.items()))
        label = path if key == "non_field_errors" else f"{path}.{key}"
        return _first_error(value, label)
    if isinstance(errors, list) and errors and isinstance(errors[0], (dict, list)):
        index = next(i for i, e in enumerate(errors) if e)
        return _first_error(errors[index], f"{path}[{index}]")
    return f"{path}: {errors[0]}"


def build_message(campaign: Campaign, *, to: dict) -> Message:
    """An unsaved Message of the campaign's fields addressed to `to`; PayloadError if no
    provider of the space would take it."""
    serializer = MessageRequestSerializer(data={**campaign.message, "to": _PLACEHOLDER_TO})
    serializer.is_valid(raise_exception=True)
    message = MessageRequestSerializer.to_message(serializer.validated_data, space=campaign.space)
    message.to = to
    validate_message(
        message,
        bundle_id=ApnsCredential.objects.filter(space=campaign.space)
        .values_list("bundle_id", flat=True)
        .first()
        or "",
        package_name=FcmCredential.objects.filter(space=campaign.space)
        .values_list("package_name", flat=True)
        .first()
        or "",
    )
    return message


def _payload_checked(campaign: Campaign) -> None:
    """Refuse now, not at send time, a message the space's providers would refuse."""
    try:
        build_message(campaign, to=_PLACEHOLDER_TO)
    except PayloadError as exc:
        raise CampaignError(exc.code, exc.message) from exc


# --- create, edit, delete ----------------------------------------------------------------


def create_campaign(
    *, space, name: str, message: dict, rate_per_minute: int | None = None, send_at=None
) -> Campaign:
    """Store a draft campaign (scheduled when `send_at` is given)."""
    campaign = Campaign(
        space=space,
        name=name,
        message=clean_message(message),
        rate_per_minute=rate_per_minute,
        send_at=send_at,
        status=CampaignStatus.SCHEDULED if send_at else CampaignStatus.DRAFT,
    )
    _payload_checked(campaign)
    campaign.save()
    return campaign


def update_campaign(*, campaign: Campaign, **fields) -> Campaign:
    """Change name, message, rate_per_minute or send_at of an unsent campaign.

    The status follows send_at (scheduled with one, draft without). A campaign whose live send
    has started answers campaign_not_editable (409); the UPDATE is conditional, so a live send
    starting meanwhile is not overwritten.
    """
    allowed = {"name", "message", "rate_per_minute", "send_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    if "message" in fields:
        fields["message"] = clean_message(fields["message"])
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.status = CampaignStatus.SCHEDULED if campaign.send_at else CampaignStatus.DRAFT
    _payload_checked(campaign)
    changed = Campaign.objects.filter(pk=campaign.pk, status__in=UNSENT).update(
        **fields, status=campaign.status, updated_at=timezone.now()
    )
    if not changed:
        campaign.refresh_from_db()
        raise _not_editable()
    return campaign


def delete_campaign(*, campaign: Campaign) -> None:
    """Delete a campaign and its audience. A message it already sent stays in the history."""
    campaign.delete()


def _not_editable() -> CampaignError:
    return CampaignError(
        "campaign_not_editable",
        "This campaign's live send has started; it can no longer be changed.",
        status=409,
    )


def _require_unsent(campaign: Campaign) -> None:
    # Read from the database: the instance may predate a live send started elsewhere.
    if not Campaign.objects.filter(pk=campaign.pk, status__in=UNSENT).exists():
        raise _not_editable()


# --- the audience ------------------------------------------------------------------------


def clean_profile_id(value) -> str:
    """One profile id, stripped; CampaignError when it is not a non-empty short string."""
    if not isinstance(value, str):
        raise CampaignError("invalid_profile_id", f"A profile id must be a string, not {value!r}.")
    value = value.strip()
    if not value or len(value) > PROFILE_ID_MAX:
        raise CampaignError(
            "invalid_profile_id",
            f"A profile id has 1 to {PROFILE_ID_MAX} characters; got {value[:40]!r}.",
        )
    return value


def add_recipients(*, campaign: Campaign, profile_ids: Iterable) -> int:
    """Add profile ids to an unsent campaign's audience, streaming; returns how many were new.

    `profile_ids` may be any iterable (a CSV read line by line): it is consumed in batches of
    RECIPIENT_BATCH, each one INSERT that skips ids already there, so memory stays flat for a
    million ids. All or nothing: an invalid id rolls back the whole call.
    """
    _require_unsent(campaign)
    before = CampaignRecipient.objects.filter(campaign=campaign).count()

    def store(batch: list[dict]) -> None:
        rows.inserting_values(CampaignRecipient, batch, skip_conflicts=True).run()

    with transaction.atomic():
        batch: list[dict] = []
        for value in profile_ids:
            batch.append({"campaign_id": campaign.pk, "profile_id": clean_profile_id(value)})
            if len(batch) >= RECIPIENT_BATCH:
                store(batch)
                batch = []
        store(batch)
        # Read inside the transaction, so a live send cannot start on half an audience.
        if not Campaign.objects.filter(pk=campaign.pk, status__in=UNSENT).exists():
            raise _not_editable()
    return CampaignRecipient.objects.filter(campaign=campaign).count() - before


def remove_recipients(*, campaign: Campaign, profile_ids: Iterable) -> int:
    """Remove profile ids from an unsent campaign's audience; returns how many were there."""
    _require_unsent(campaign)
    wanted = list({clean_profile_id(value) for value in profile_ids})
    removed = 0
    for start in range(0, len(wanted), RECIPIENT_BATCH):
        count, _ = CampaignRecipient.objects.filter(
            campaign=campaign, profile_id__in=wanted[start : start + RECIPIENT_BATCH]
        ).delete()
        removed += count
    return removed


def recipients_page(*, campaign: Campaign, page: int, size: int) -> tuple[list[str], int]:
    """One page (numbered from 1) of the audience's profile ids in id order, and the total."""
    everyone = CampaignRecipient.objects.filter(campaign=campaign).order_by("profile_id")
    start = (page - 1) * size
    ids = list(everyone.values_list("profile_id", flat=True)[start : start + size])
    return ids, everyone.count()


# --- sending -----------------------------------------------------------------------------


def test_send(*, campaign: Campaign, profile_id: str) -> Message:
    """Send the campaign's message to one profile's devices now, as the send endpoint would.

    Allowed whatever the campaign's status; it is an ordinary message, not the live send.
    """
    profile_id = clean_profile_id(profile_id)
    try:
        message = build_message(campaign, to={"profileId": profile_id})
    except PayloadError as exc:
        raise CampaignError(exc.code, exc.message) from exc
    message, _ = sending.submit(message=message)
    return message


def start_live_send(*, campaign: Campaign) -> Campaign:
    """Start the live send: the campaign becomes sending with its Message, once.

    A second call (or a concurrent one) answers campaign_already_sent (409). The deliveries
    are stored by the store_campaign task queued on commit (in process without a broker).
    """
    try:
        message = build_message(campaign, to={"campaign": str(campaign.pk)})
    except PayloadError as exc:
        raise CampaignError(exc.code, exc.message) from exc
    # One message per campaign, whatever happens: the space's idempotency constraint holds it.
    message.idempotency_key = f"campaign:{campaign.pk}"
    with transaction.atomic():
        won = Campaign.objects.filter(pk=campaign.pk, status__in=UNSENT).update(
            status=CampaignStatus.SENDING, updated_at=timezone.now()
        )
        if not won:
            raise CampaignError(
                "campaign_already_sent",
                "This campaign's live send has already started; it is sent once.",
                status=409,
            )
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError as exc:
            raise CampaignError(
                "campaign_already_sent",
                "This campaign's live send has already started; it is sent once.",
                status=409,
            ) from exc
        Campaign.objects.filter(pk=campaign.pk).update(sent_message=message)
        campaign_id = str(campaign.pk)
        transaction.on_commit(lambda: _queue_store(campaign_id))
    campaign.refresh_from_db()
    return campaign


def _queue_store(campaign_id: str) -> None:
    from . import campaign_tasks  # the task module imports this one

    try:
        campaign_tasks.store_campaign.delay(campaign_id)
    except Exception:
        logger.exception(
            "could not queue campaign %s; the next campaign run stores it", campaign_id
        )


def _audience_devices(campaign: Campaign, *, after: int, limit: int) -> list[tuple[int, str]]:
    """The next `limit` distinct active devices of the audience with ids above `after`.

    One query: devices of the space whose profile's id is in the audience. An IN over the
    recipients, not a join, so a device linked to several of the audience's profiles (or a
    profile listed once per device) comes back once.
    """
    audience = CampaignRecipient.objects.filter(campaign=campaign).values("profile_id")
    return list(
        Device.objects.filter(
            space_id=campaign.space_id,
            active=True,
            profile__space_id=campaign.space_id,
            profile__profile_id__in=Subquery(audience),
            id__gt=after,
        )
        .order_by("id")
        .values_list("id", "platform")[:limit]
    )


def _due(base: dt.datetime, index: int, rate_per_minute: int | None) -> dt.datetime:
    if not rate_per_minute:
        return base
    return base + dt.timedelta(minutes=index / rate_per_minute)


def store_deliveries(*, campaign: Campaign) -> int:
    """Store the missing deliveries of a sending campaign, batch by batch; returns how many.

    Safe to run again after a crash, or twice at once: each batch inserts only pairs not yet
    stored (the unique (message, device) constraint settles a race). Each batch commits on its
    own and queues its due rows after the commit; the engine sends each stored row once.
    """
    campaign = Campaign.objects.select_related("sent_message").get(pk=campaign.pk)
    message = campaign.sent_message
    if campaign.status != CampaignStatus.SENDING or message is None:
        return 0
    base = message.created_at
    grace = dt.timedelta(seconds=settings.PUSHPORT_DISPATCH_GRACE_SECONDS)
    stored, index, after = 0, 0, 0
    while True:
        devices = _audience_devices(campaign, after=after, limit=DELIVERY_BATCH)
        if not devices:
            break
        after = devices[-1][0]
        stored += _store_batch(
            message,
            devices,
            first_index=index,
            base=base,
            grace=grace,
            rate=campaign.rate_per_minute,
        )
        index += len(devices)
    Campaign.objects.filter(pk=campaign.pk, started_at__isnull=True).update(
        started_at=timezone.now()
    )
    if not index:
        # Nobody to send to: settle the message and the campaign now.
        refresh_statuses(message_ids=[message.pk])
    finish(campaign=campaign)
    return stored


def _store_batch(message, devices, *, first_index: int, base, grace, rate) -> int:
    now = timezone.now()
    with transaction.atomic():
        existing = set(
            Delivery.objects.filter(
                message=message, device_id__in=[device_id for device_id, _ in devices]
            ).values_list("device_id", flat=True)
        )
        new, due_now = [], []
        for offset, (device_id, platform) in enumerate(devices):
            if device_id in existing:
                continue
            due = _due(base, first_index + offset, rate)
            row = Delivery(
                id=uuid.uuid4(),
                message=message,
                device_id=device_id,
                platform=platform,
                next_attempt_at=due if rate else None,
                # Due now: queued on commit, so the sweep waits a grace; later: the sweep
                # queues it when due.
                sweep_after=now + grace if due <= now else due,
            )
            new.append(row)
            if due <= now:
                due_now.append(str(row.id))
        Delivery.objects.bulk_create(new, ignore_conflicts=True)
        if due_now:
            transaction.on_commit(lambda: tasks.enqueue_or_leave(due_now))
    return len(new)


def finish(*, campaign: Campaign) -> bool:
    """Mark a sending campaign sent once all its deliveries are stored and none is unfinished.

    One indexed EXISTS on (message, status); the conditional UPDATE makes exactly one caller
    the one that finishes it, and that one announces it. Returns whether the campaign is sent.
    """
    if campaign.status == CampaignStatus.SENT:
        return True
    row = (
        Campaign.objects.filter(pk=campaign.pk)
        .values("status", "started_at", "sent_message_id")
        .first()
    )
    if row is None or row["status"] != CampaignStatus.SENDING or row["started_at"] is None:
        return row is not None and row["status"] == CampaignStatus.SENT
    if Delivery.objects.filter(message_id=row["sent_message_id"], status__in=UNFINISHED).exists():
        return False
    now = timezone.now()
    won = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT, sent_at=now, updated_at=now
    )
    campaign.refresh_from_db()
    if won:
        logger.info("campaign %s sent", campaign.pk)
        _announce_finished(campaign)
    return True


# Called with each campaign that has just become sent (webhooks subscribe here).
_finished_listeners: list = []


def on_campaign_finished(listener) -> None:
    """Call `listener(campaign)` whenever a campaign becomes sent (once per campaign)."""
    if listener not in _finished_listeners:
        _finished_listeners.append(listener)


def _announce_finished(campaign: Campaign) -> None:
    listeners = list(_finished_listeners)
    try:
        from . import webhooks
    except ImportError:
        webhooks = None
    emit = getattr(webhooks, "emit_campaign_finished", None)
    if emit is not None and emit not in listeners:
        listeners.append(emit)
    for listener in listeners:
        try:
            listener(campaign)
        except Exception:
            # The campaign is sent either way; a listener's failure must not undo that.
            logger.exception("campaign_finished listener failed for campaign %s", campaign.pk)


# --- progress and the periodic run -------------------------------------------------------


def progress(*, campaign: Campaign) -> dict:
    """{status, sent, failed, pending, total, audience, per-platform counts, sentAt}.

    Settles the campaign first when it has just finished, so a poll sees the final state.
    """
    finish(campaign=campaign)
    campaign.refresh_from_db()
    totals = {"sent": 0, "failed": 0, "pending": 0, "total": 0}
    by_platform: dict = {}
    if campaign.sent_message_id:
        by_platform = message_counts(campaign.sent_message)
        for counts in by_platform.values():
            for key in totals:
                totals[key] += counts[key]
    return {
        "status": campaign.status,
        "sent": campaign.sent,
        **totals,
        "stored": campaign.status == CampaignStatus.SENT or campaign.started_at is not None,
        "platforms": by_platform,
        "startedAt": campaign.started_at,
        "sentAt": campaign.sent_at,
    }


def start_due_campaigns(*, now: dt.datetime | None = None) -> list[str]:
    """Start every scheduled campaign whose send time has come; the ids started."""
    now = now or timezone.now()
    started = []
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, send_at__lte=now)
    for campaign in due.select_related("space").order_by("send_at")[:100]:
        try:
            start_live_send(campaign=campaign)
        except CampaignError as exc:
            if exc.code == "campaign_already_sent":
                continue  # another scheduler started it first
            # Its message no longer passes (e.g. a credential changed): back to draft, logged.
            logger.warning("scheduled campaign %s not started: %s", campaign.pk, exc.message)
            Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
                status=CampaignStatus.DRAFT
            )
            continue
        started.append(str(campaign.pk))
    return started


def run_campaigns(*, now: dt.datetime | None = None) -> dict:
    """The periodic pass: start due campaigns, resume interrupted stores, settle finished ones.

    A campaign sending with no `started_at` whose message is older than the dispatch grace
    lost its store task (or its process): its deliveries are stored again, missing ones only.
    """
    now = now or timezone.now()
    started = start_due_campaigns(now=now)
    grace = dt.timedelta(seconds=settings.PUSHPORT_DISPATCH_GRACE_SECONDS)
    resumed = 0
    stranded = Campaign.objects.filter(
        status=CampaignStatus.SENDING,
        started_at__isnull=True,
        sent_message__created_at__lt=now - grace,
    )
    for campaign in stranded[:10]:
        logger.info("resuming the live send of campaign %s", campaign.pk)
        store_deliveries(campaign=campaign)
        resumed += 1
    finished = 0
    for campaign in Campaign.objects.filter(
        status=CampaignStatus.SENDING, started_at__isnull=False
    ):
        finished += finish(campaign=campaign)
    return {"started": len(started), "resumed": resumed, "finished": finished}


def iter_csv_ids(lines: Iterable[list[str]]) -> Iterator[str]:
    """Profile ids from csv.reader rows: the first column; blank rows and a header are skipped.

    A first row whose first cell is `profile_id` or `profileId` is taken as a header.
    """
    for number, row in enumerate(lines):
        if not row or not row[0].strip():
            continue
        value = row[0].strip()
        if number == 0 and value.lower() in ("profile_id", "profileid", "id"):
            continue
        yield value
