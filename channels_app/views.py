"""The Channels page of a space: App Messaging authentication, FCM and APNs credentials."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal import shown_once
from portal.access import membership_for
from sessions_app.forms import AppMessagingAuthForm

from .credential_health import certificate_expiry
from .forms import ApnsCertificateForm, ApnsTokenForm, FcmCredentialForm, PowerAuthAppForm
from .models import ApnsCredential, FcmCredential, PowerAuthApp
from .onboarding import expiry_words

logger = logging.getLogger(__name__)

SECTIONS = {
    "auth": (AppMessagingAuthForm, "App Messaging authentication saved."),
    "fcm": (FcmCredentialForm, "Android (FCM) credential saved."),
    "apns_token": (ApnsTokenForm, "APNs token key saved."),
    "apns_certificate": (ApnsCertificateForm, "APNs certificate saved."),
    "powerauth": (PowerAuthAppForm, "PowerAuth appId saved."),
}
REMOVABLE = {
    "fcm": (FcmCredential, "Android (FCM) credential removed."),
    "apns": (ApnsCredential, "APNs configuration removed."),
}


def _page(request, membership, forms=None, *, generated_secret=""):
    space = membership.space
    forms = {
        name: form_class(space=space, prefix=name) for name, (form_class, _) in SECTIONS.items()
    } | (forms or {})
    apns = ApnsCredential.objects.filter(space=space).first()
    days = settings.PUSHPORT_CREDENTIAL_WARNING_DAYS
    return render(
        request,
        "channels_app/channels.html",
        {
            "space": space,
            "membership": membership,
            "menu": "channels",
            "forms": forms,
            "auth": forms["auth"].instance if forms["auth"].instance.pk else None,
            "fcm": FcmCredential.objects.filter(space=space).first(),
            "apns": apns,
            "powerauth": PowerAuthApp.objects.filter(space=space).first(),
            "apns_expiry": apns and certificate_expiry(apns, days=days),
            "apns_expiry_words": apns and apns.not_after and expiry_words(apns.not_after),
            "warning_days": days,
            "generated_secret": generated_secret,
        },
    )


def _generated_secret_purpose(space_id) -> str:
    return f"app-messaging-secret:{space_id}"


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def space_channels(request, space_id):
    """Show every channel of the space; a POST saves the one section it names.

    A generated shared secret is shown on the first view after the save's redirect only.
    """
    membership = membership_for(request.user, space_id, change=request.method == "POST")
    if request.method == "GET":
        generated = shown_once.take(request, purpose=_generated_secret_purpose(space_id))
        return _page(request, membership, generated_secret=generated or "")
    section = request.POST.get("section")
    if section not in SECTIONS:
        return HttpResponseBadRequest("Unknown section of the Channels page.")
    form_class, saved = SECTIONS[section]
    options = {"generate_secret": "generate_secret" in request.POST} if section == "auth" else {}
    form = form_class(
        request.POST, request.FILES, space=membership.space, prefix=section, **options
    )
    if not form.is_valid():
        return _page(request, membership, {section: form})
    form.save()
    logger.info("space %s: %s saved by user %s", space_id, section, request.user.pk)
    messages.success(request, saved)
    generated = getattr(form, "generated_secret", "")
    if generated:
        # Redirected like every save, so a reload cannot generate another secret; the next
        # view shows this one once.
        shown_once.keep(request, purpose=_generated_secret_purpose(space_id), secret=generated)
    return redirect(f"{request.path}#{section}")


@login_required
@require_POST
def space_channel_remove(request, space_id, channel):
    """Delete a space's FCM credential or APNs configuration."""
    membership = membership_for(request.user, space_id, change=True)
    if channel not in REMOVABLE:
        raise Http404("No such channel")
    model, removed = REMOVABLE[channel]
    model.objects.filter(space=membership.space).delete()
    logger.info("space %s: %s removed by user %s", space_id, channel, request.user.pk)
    messages.success(request, removed)
    return redirect("space-channels", space_id=space_id)
