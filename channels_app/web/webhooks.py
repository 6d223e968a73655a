"""The Webhooks page of a space: register endpoints, see their last calls, test, disable, delete.

A new webhook's signing secret is shown once, like an API key's: the POST keeps it for one view
of the page it redirects to (portal.shown_once), sent with Cache-Control: no-store.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal import shown_once
from portal.access import membership_for
from portal.outbound import OutboundHostRefused, check_webhook_url

from .. import webhooks
from ..models import Webhook, WebhookEvent
from .page import space_page

# Each event is one row per webhook: a bound keeps one send from fanning out without end.
MAX_WEBHOOKS_PER_SPACE = 10
# The calls listed under each webhook.
RECENT_CALLS = 5


class WebhookForm(forms.Form):
    """A webhook URL the outbound policy accepts, and the events it wants."""

    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="An https:// endpoint of yours; Pushport POSTs each event to it as JSON.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint hears.",
    )

    def __init__(self, *args, space, **kwargs):
        super().__init__(*args, **kwargs)
        self.space = space

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_webhook_url(url)
        except OutboundHostRefused as exc:
            raise ValidationError(str(exc), code=exc.code) from exc
        return url

    def clean(self):
        if self.space.webhooks.count() >= MAX_WEBHOOKS_PER_SPACE:
            raise ValidationError(
                f"A space has at most {MAX_WEBHOOKS_PER_SPACE} webhooks; delete one first.",
                code="too_many_webhooks",
            )
        return super().clean()


def _purpose(webhook: Webhook) -> str:
    return f"webhook:{webhook.pk}"


def _page(request, membership, form=None):
    labels = dict(WebhookEvent.choices)
    hooks = list(membership.space.webhooks.order_by("created_at"))
    for hook in hooks:
        hook.event_labels = [labels.get(event, event) for event in hook.events]
        hook.recent_calls = list(hook.calls.order_by("-created_at")[:RECENT_CALLS])
    return space_page(
        request,
        membership,
        "channels_app/webhooks.html",
        "webhooks",
        webhooks=hooks,
        form=form or WebhookForm(space=membership.space),
    )


@login_required
@require_http_methods(["GET", "POST"])
def space_webhooks(request, space_id):
    """The space's webhooks and their last calls; registering one shows its secret once."""
    if request.method == "GET":
        return _page(request, membership_for(request.user, space_id))
    membership = membership_for(request.user, space_id, change=True)
    form = WebhookForm(request.POST, space=membership.space)
    if not form.is_valid():
        return _page(request, membership, form=form)
    try:
        webhook, secret = webhooks.create_webhook(
            space=membership.space,
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
        )
    except OutboundHostRefused as exc:
        # The host's DNS answer changed between the form's check and now.
        form.add_error("url", str(exc))
        return _page(request, membership, form=form)
    # Redirected, not rendered: a reload of the next page cannot register it again.
    shown_once.keep(request, purpose=_purpose(webhook), secret=secret)
    return redirect("space-webhook-created", space_id=space_id, webhook_id=webhook.pk)


@never_cache
@login_required
@require_http_methods(["GET"])
def space_webhook_created(request, space_id, webhook_id):
    """A new webhook's secret, on the first view after its creation only."""
    membership = membership_for(request.user, space_id, change=True)
    webhook = get_object_or_404(Webhook, space=membership.space, pk=webhook_id)
    return space_page(
        request,
        membership,
        "channels_app/webhook_created.html",
        "webhooks",
        webhook=webhook,
        secret=shown_once.take(request, purpose=_purpose(webhook)),
    )


def _changeable(request, space_id, webhook_id) -> Webhook:
    membership = membership_for(request.user, space_id, change=True)
    return get_object_or_404(Webhook, space=membership.space, pk=webhook_id)


@login_required
@require_POST
def space_webhook_active(request, space_id, webhook_id):
    """Disable an active webhook or enable a disabled one."""
    webhook = _changeable(request, space_id, webhook_id)
    webhook.active = not webhook.active
    webhook.save(update_fields=["active", "updated_at"])
    state = "enabled" if webhook.active else "disabled: it hears no new events"
    messages.success(request, f"Webhook {webhook.url} {state}.")
    return redirect("space-webhooks", space_id=space_id)


@login_required
@require_POST
def space_webhook_delete(request, space_id, webhook_id):
    """Delete a webhook and the record of its calls."""
    webhook = _changeable(request, space_id, webhook_id)
    webhook.delete()
    messages.success(request, f"Webhook {webhook.url} deleted.")
    return redirect("space-webhooks", space_id=space_id)


@login_required
@require_POST
def space_webhook_test(request, space_id, webhook_id):
    """Queue a `test` event to the webhook; its outcome shows in the list once sent."""
    webhook = _changeable(request, space_id, webhook_id)
    webhooks.send_test_event(webhook=webhook)
    messages.success(
        request, "Test event queued; it is sent within seconds. Reload to see its answer."
    )
    return redirect("space-webhooks", space_id=space_id)
