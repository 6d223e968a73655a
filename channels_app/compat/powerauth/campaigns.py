"""PowerAuth campaigns are Pushport campaigns: the same rows, the portal's Campaigns page.

A PowerAuth message becomes the campaign's One API message (extras go to both providers'
data); ids are the campaign's UUID as a string. Pages of users are numbered from 0 here,
from 1 in channels_app.campaigns.
"""

import uuid

from ... import campaigns
from ...models import Campaign, CampaignStatus
from .envelope import PowerAuthError, obj
from .messages import body_fields

DEFAULT_NAME = "PowerAuth campaign"


def to_campaign_message(message) -> dict:
    """A PowerAuth message object as a campaign's message (the send body without `to`)."""
    fields = body_fields(message, name="message")
    push = {
        key: value
        for key, value in {
            "badge": fields["badge"],
            "sound": fields["sound"],
            "icon": fields["icon"],
            "category": fields["category"],
            "collapseKey": fields["collapse_key"],
        }.items()
        if value not in (None, "")
    }
    if fields["extras"]:
        push["data"] = {"apns": fields["extras"], "fcm": fields["extras"]}
    result = {"rules": ["nativePush"], "title": fields["title"], "body": fields["body"]}
    if fields["valid_until"] is not None:
        # As given (checked above), so the detail answers what the caller sent.
        result["expiresOn"] = message["validUntil"]
    if push:
        result["channelOptions"] = {"nativePush": push}
    return result


def to_powerauth_message(message: dict) -> dict:
    """A campaign's message in PowerAuth's words (what the portal added beyond is left out)."""
    push = message.get("channelOptions", {}).get("nativePush", {})
    data = push.get("data", {})
    answer = {
        "title": message.get("title", ""),
        "body": message.get("body", ""),
        "badge": push.get("badge"),
        "sound": push.get("sound"),
        "icon": push.get("icon"),
        "category": push.get("category"),
        "collapseKey": push.get("collapseKey"),
        "validUntil": message.get("expiresOn"),
        "extras": data.get("apns") or data.get("fcm") or {},
    }
    return {key: value for key, value in answer.items() if value is not None}


def describe(campaign: Campaign, *, app_id: int) -> dict:
    """A campaign as PowerAuth's detail and list show it."""
    return {
        "id": str(campaign.pk),
        "appId": app_id,
        "sent": campaign.status == CampaignStatus.SENT,
        "message": to_powerauth_message(campaign.message),
    }


def _failed(exc: campaigns.CampaignError) -> PowerAuthError:
    return PowerAuthError(exc.message)


def find(space, campaign_id: str) -> Campaign:
    """The space's campaign with this id; the documented error otherwise."""
    try:
        return Campaign.objects.get(space=space, pk=uuid.UUID(str(campaign_id)))
    except (ValueError, Campaign.DoesNotExist) as exc:
        raise PowerAuthError("Campaign with entered ID does not exist.") from exc


def create(*, space, message) -> Campaign:
    """A draft campaign of this PowerAuth message, named by its title."""
    body = to_campaign_message(obj(message, name="message"))
    try:
        return campaigns.create_campaign(
            space=space, name=(body["title"] or DEFAULT_NAME)[:255], message=body
        )
    except campaigns.CampaignError as exc:
        raise _failed(exc) from exc


def listing(space, *, include_unsent: bool) -> list[Campaign]:
    """The space's campaigns, newest first; only the sent ones unless `include_unsent`."""
    found = Campaign.objects.filter(space=space).order_by("-created_at")
    if not include_unsent:
        found = found.filter(status=CampaignStatus.SENT)
    return list(found)


def user_ids(value) -> list:
    """The requestObject of the user routes: a list of user ids."""
    if not isinstance(value, list):
        raise PowerAuthError("requestObject must be a list of user ids.")
    return value


def add_users(*, campaign: Campaign, users: list) -> int:
    """Add user ids to the campaign's audience."""
    try:
        return campaigns.add_recipients(campaign=campaign, profile_ids=users)
    except campaigns.CampaignError as exc:
        raise _failed(exc) from exc


def remove_users(*, campaign: Campaign, users: list) -> int:
    """Remove user ids from the campaign's audience."""
    try:
        return campaigns.remove_recipients(campaign=campaign, profile_ids=users)
    except campaigns.CampaignError as exc:
        raise _failed(exc) from exc


def users_page(*, campaign: Campaign, page: int, size: int) -> list[str]:
    """Page `page` (from 0) of `size` user ids, in id order."""
    ids, _ = campaigns.recipients_page(campaign=campaign, page=page + 1, size=size)
    return ids


def send_test(*, campaign: Campaign, user_id: str) -> None:
    """Send the campaign's message to one user's devices now."""
    try:
        campaigns.test_send(campaign=campaign, profile_id=user_id)
    except campaigns.CampaignError as exc:
        raise _failed(exc) from exc


def send_live(*, campaign: Campaign) -> None:
    """Start the live send: each device of the audience once."""
    try:
        campaigns.start_live_send(campaign=campaign)
    except campaigns.CampaignError as exc:
        raise _failed(exc) from exc
