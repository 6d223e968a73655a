"""The Messages pages: recent messages with their outcomes; a message's deliveries."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from portal.access import membership_for

from ..models import Delivery, DeliveryStatus, Message
from ..tracking import message_counts
from . import keyset
from .page import filter_params, space_page

OUTCOME_COLUMNS = ("delivered", "failed", "invalid_token", "pending")
# Messages per page of the list: each brings its deliveries into the grouped count (a page
# of 25 messages to 10,000 devices each counts 250,000 index entries).
PAGE_SIZE = 25


def outcome_counts(message_ids) -> dict:
    """{message id: {delivered, failed, invalid_token, pending, total}} for these messages only.

    One grouped query on the (message, status) index: a page's messages, never the space's.
    """
    counts = {pk: dict.fromkeys((*OUTCOME_COLUMNS, "total"), 0) for pk in message_ids}
    rows = (
        Delivery.objects.filter(message__in=list(message_ids))
        .values_list("message_id", "status")
        # COUNT(*), not COUNT(id): the (message, status) index alone answers it.
        .annotate(n=Count("*"))
        .order_by()
    )
    for message_id, status, n in rows:
        bucket = counts[message_id]
        bucket[status if status in OUTCOME_COLUMNS else "pending"] += n
        bucket["total"] += n
    return counts


def reasons_of(message: Message) -> list[tuple[str, int]]:
    """The distinct reasons recorded on the message's deliveries, most frequent first."""
    rows = (
        Delivery.objects.filter(message=message)
        .exclude(reason="")
        .values_list("reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def deliveries_of(message: Message, *, status: str = "", reason: str = ""):
    """The message's deliveries, filtered by status and by reason."""
    deliveries = Delivery.objects.filter(message=message).select_related("device")
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    if reason:
        deliveries = deliveries.filter(reason=reason)
    return deliveries


@login_required
@require_GET
def message_list(request, space_id):
    """A space's messages, newest first, each with its deliveries by outcome."""
    membership = membership_for(request.user, space_id)
    page = keyset.paginate(
        Message.objects.filter(space=membership.space).defer(
            "to",
            "rules",
            "extras",
            "apns_data",
            "fcm_data",
            "deep_link",
            "metadata",
            "channel_details",
            "app_messaging",
        ),
        params=request.GET,
        size=PAGE_SIZE,
    )
    counts = outcome_counts([message.pk for message in page.rows])
    for message in page.rows:
        message.outcomes = counts[message.pk]
    return space_page(request, membership, "channels_app/messages.html", "messages", page=page)


@login_required
@require_GET
def message_detail(request, space_id, message_id):
    """One message: its counts by platform and its deliveries, filtered, a page at a time."""
    membership = membership_for(request.user, space_id)
    message = get_object_or_404(Message, space=membership.space, pk=message_id)
    filters = filter_params(request, ("status", "reason"))
    # Ordered by device: (message, device) is unique and indexed, so any page, the last one
    # too, is a short index range; a message's deliveries share one creation time anyway.
    page = keyset.paginate(
        deliveries_of(message, **filters), fields=("device_id",), params=request.GET
    )
    return space_page(
        request,
        membership,
        "channels_app/message.html",
        "messages",
        message=message,
        counts=message_counts(message),
        reasons=reasons_of(message),
        statuses=DeliveryStatus.choices,
        filters=filters,
        page=page,
    )
