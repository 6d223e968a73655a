"""Portal pages of a space's campaigns: list, form, detail with audience, sends and progress.

Views check the caller's membership (viewers read, owners and admins change), call one
function of channels_app.campaigns and render; the business rules live there.
"""

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access import membership_for

from .. import campaigns
from ..models import Campaign, CampaignStatus, Priority
from .page import space_page

MENU = "campaigns"
# A million profile ids of up to ~60 characters. Django spools a file upload over
# FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file, and DATA_UPLOAD_MAX_MEMORY_SIZE does not
# apply to files, so this page sets its own limit, checked before the body is read.
UPLOAD_MAX_BYTES = 64 * 1024 * 1024
AUDIENCE_PAGE_SIZE = 100


def _campaign(membership, campaign_id) -> Campaign:
    campaign = Campaign.objects.filter(space=membership.space, pk=campaign_id).first()
    if campaign is None:
        raise Http404("No such campaign in this space.")
    return campaign


def _detail_url(campaign) -> str:
    return reverse(
        "space-campaign", kwargs={"space_id": campaign.space_id, "campaign_id": campaign.pk}
    )


class CampaignForm(forms.Form):
    """The campaign's name, the main fields of a send, throttle and schedule.

    Fields of the message the form does not show (metadata, data, deep links) are kept as
    they are; the whole message is validated by the send endpoint's serializer.
    """

    name = forms.CharField(max_length=255)
    title = forms.CharField(max_length=1000, required=False)
    body = forms.CharField(
        max_length=10000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    badge = forms.IntegerField(min_value=0, required=False)
    sound = forms.CharField(max_length=255, required=False)
    collapse_key = forms.CharField(
        max_length=255, required=False, help_text="A device shows one notification per key."
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.HIGH)
    silent = forms.BooleanField(required=False, help_text="A background update, no alert.")
    rate_per_minute = forms.IntegerField(
        min_value=1,
        required=False,
        help_text="At most this many devices a minute; empty: no limit.",
    )
    send_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Start the live send at this time (server time zone); empty: when you say.",
    )

    def __init__(self, *args, campaign=None, **kwargs):
        self.campaign = campaign
        if campaign is not None and "initial" not in kwargs:
            message = campaign.message
            push = message.get("channelOptions", {}).get("nativePush", {})
            kwargs["initial"] = {
                "name": campaign.name,
                "title": message.get("title", ""),
                "body": message.get("body", ""),
                "badge": push.get("badge"),
                "sound": push.get("sound", ""),
                "collapse_key": push.get("collapseKey", ""),
                "priority": push.get("priority", Priority.HIGH),
                "silent": push.get("data", {}).get("isSilent", False),
                "rate_per_minute": campaign.rate_per_minute,
                "send_at": campaign.send_at,
            }
        super().__init__(*args, **kwargs)

    def message(self) -> dict:
        """The campaign message of the form's fields over the campaign's current one."""
        data = self.cleaned_data
        message = dict(self.campaign.message) if self.campaign else {"rules": ["nativePush"]}
        message["title"], message["body"] = data["title"], data["body"]
        options = dict(message.get("channelOptions", {}))
        push = dict(options.get("nativePush", {}))
        for key, value in (
            ("badge", data["badge"]),
            ("sound", data["sound"]),
            ("collapseKey", data["collapse_key"]),
        ):
            if value in (None, ""):
                push.pop(key, None)
            else:
                push[key] = value
        push["priority"] = data["priority"]
        push["data"] = {**push.get("data", {}), "isSilent": data["silent"]}
        options["nativePush"] = push
        message["channelOptions"] = options
        return message

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                campaigns.clean_message(self.message())
            except campaigns.CampaignError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
        return data


class PasteForm(forms.Form):
    profile_ids = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One profile id a line (commas work too).",
        label="Profile ids",
    )

    def ids(self) -> list[str]:
        text = self.cleaned_data["profile_ids"].replace(",", "\n")
        return [line.strip() for line in text.splitlines() if line.strip()]


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="Profile ids in the first column; a header row is skipped."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"This file is {upload.size:,} bytes; upload at most {UPLOAD_MAX_BYTES:,}."
            )
        return upload


class TestSendForm(forms.Form):
    profile_id = forms.CharField(max_length=255, label="Profile id")


@never_cache
@login_required
@require_GET
def campaign_list(request, space_id):
    """The space's campaigns, newest first; ?sent=1 shows the sent ones only."""
    membership = membership_for(request.user, space_id)
    found = Campaign.objects.filter(space=membership.space).order_by("-created_at")
    only_sent = request.GET.get("sent") == "1"
    if only_sent:
        found = found.filter(status=CampaignStatus.SENT)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return space_page(
        request, membership, "channels_app/campaigns.html", MENU, page=page, only_sent=only_sent
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request, space_id):
    """A new campaign from the form; it starts as a draft (scheduled with a send time)."""
    membership = membership_for(request.user, space_id, change=True)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaigns.create_campaign(
                space=membership.space,
                name=form.cleaned_data["name"],
                message=form.message(),
                rate_per_minute=form.cleaned_data["rate_per_minute"],
                send_at=form.cleaned_data["send_at"],
            )
        except campaigns.CampaignError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Campaign created. Add its audience next.")
            return redirect(_detail_url(campaign))
    return space_page(
        request, membership, "channels_app/campaign_form.html", MENU, form=form, campaign=None
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, space_id, campaign_id):
    """Change an unsent campaign."""
    membership = membership_for(request.user, space_id, change=True)
    campaign = _campaign(membership, campaign_id)
    form = CampaignForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            campaigns.update_campaign(
                campaign=campaign,
                name=form.cleaned_data["name"],
                message=form.message(),
                rate_per_minute=form.cleaned_data["rate_per_minute"],
                send_at=form.cleaned_data["send_at"],
            )
        except campaigns.CampaignError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Campaign saved.")
            return redirect(_detail_url(campaign))
    return space_page(
        request, membership, "channels_app/campaign_form.html", MENU, form=form, campaign=campaign
    )


def _detail(request, membership, campaign, **forms_given):
    page = Paginator(
        campaign.recipients.order_by("profile_id").values_list("profile_id", flat=True),
        AUDIENCE_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    progress = campaigns.progress(campaign=campaign)
    return space_page(
        request,
        membership,
        "channels_app/campaign_detail.html",
        MENU,
        campaign=campaign,
        progress=progress,
        done=progress["sent"] + progress["failed"],
        editable=campaign.status in campaigns.UNSENT,
        audience=page,
        paste_form=forms_given.get("paste_form") or PasteForm(),
        upload_form=forms_given.get("upload_form") or UploadForm(),
        test_form=forms_given.get("test_form") or TestSendForm(),
        upload_max=UPLOAD_MAX_BYTES,
    )


@never_cache
@login_required
@require_GET
def campaign_detail(request, space_id, campaign_id):
    """A campaign: its message, audience (paginated), sends and progress."""
    membership = membership_for(request.user, space_id)
    return _detail(request, membership, _campaign(membership, campaign_id))


@never_cache
@login_required
@require_GET
def campaign_progress(request, space_id, campaign_id):
    """The progress counts as JSON, for the detail page to poll."""
    membership = membership_for(request.user, space_id)
    progress = campaigns.progress(campaign=_campaign(membership, campaign_id))
    body = {key: progress[key] for key in ("status", "sent", "failed", "pending", "total")}
    body["sentAt"] = progress["sentAt"].isoformat() if progress["sentAt"] else None
    return JsonResponse(body)


def _changing(request, space_id, campaign_id):
    membership = membership_for(request.user, space_id, change=True)
    return membership, _campaign(membership, campaign_id)


@login_required
@require_POST
def campaign_add_pasted(request, space_id, campaign_id):
    """Add the pasted profile ids to the audience."""
    membership, campaign = _changing(request, space_id, campaign_id)
    form = PasteForm(request.POST)
    if form.is_valid():
        try:
            added = campaigns.add_recipients(campaign=campaign, profile_ids=form.ids())
        except campaigns.CampaignError as exc:
            form.add_error("profile_ids", exc.message)
        else:
            messages.success(request, f"{added:,} profile ids added.")
            return redirect(_detail_url(campaign))
    return _detail(request, membership, campaign, paste_form=form)


@login_required
@require_POST
def campaign_upload(request, space_id, campaign_id):
    """Add the profile ids of an uploaded CSV, read line by line, never whole in memory."""
    membership = membership_for(request.user, space_id, change=True)
    campaign = _campaign(membership, campaign_id)
    # Refuse an oversized body before Django reads (and spools) it.
    if int(request.META.get("CONTENT_LENGTH") or 0) > UPLOAD_MAX_BYTES + 64 * 1024:
        form = UploadForm()
        form.add_error(None, f"Upload at most {UPLOAD_MAX_BYTES:,} bytes.")
        return _detail(request, membership, campaign, upload_form=form)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        text = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
        try:
            added = campaigns.add_recipients(
                campaign=campaign, profile_ids=campaigns.iter_csv_ids(csv.reader(text))
            )
        except campaigns.CampaignError as exc:
            form.add_error("file", f"Nothing was added: {exc.message}")
        except UnicodeDecodeError:
            form.add_error("file", "Nothing was added: this file is not UTF-8 text.")
        except csv.Error as exc:
            form.add_error("file", f"Nothing was added: this is not a CSV file ({exc}).")
        else:
            messages.success(request, f"{added:,} profile ids added from {upload.name}.")
            return redirect(_detail_url(campaign))
        finally:
            text.detach()
    return _detail(request, membership, campaign, upload_form=form)


@login_required
@require_POST
def campaign_remove(request, space_id, campaign_id):
    """Remove one profile id from the audience."""
    _, campaign = _changing(request, space_id, campaign_id)
    try:
        removed = campaigns.remove_recipients(
            campaign=campaign, profile_ids=[request.POST.get("profile_id", "")]
        )
    except campaigns.CampaignError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Profile id removed." if removed else "That id was not there.")
    return redirect(_detail_url(campaign))


@login_required
@require_POST
def campaign_test_send(request, space_id, campaign_id):
    """Send the campaign's message to one profile now."""
    membership, campaign = _changing(request, space_id, campaign_id)
    form = TestSendForm(request.POST)
    if form.is_valid():
        try:
            message = campaigns.test_send(
                campaign=campaign, profile_id=form.cleaned_data["profile_id"]
            )
        except campaigns.CampaignError as exc:
            form.add_error("profile_id", exc.message)
        else:
            message.refresh_from_db()
            messages.success(
                request,
                f"Test sent to {form.cleaned_data['profile_id']}: message {message.pk} "
                f"({message.get_status_display().lower()}).",
            )
            return redirect(_detail_url(campaign))
    return _detail(request, membership, campaign, test_form=form)


@login_required
@require_POST
def campaign_send(request, space_id, campaign_id):
    """Start the live send (once)."""
    _, campaign = _changing(request, space_id, campaign_id)
    try:
        campaigns.start_live_send(campaign=campaign)
    except campaigns.CampaignError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Live send started.")
    return redirect(_detail_url(campaign))


@login_required
@require_POST
def campaign_delete(request, space_id, campaign_id):
    """Delete the campaign and its audience."""
    membership, campaign = _changing(request, space_id, campaign_id)
    campaigns.delete_campaign(campaign=campaign)
    messages.success(request, f"Campaign {campaign.name} deleted.")
    return redirect("space-campaigns", space_id=membership.space.pk)
