"""The Verify button of each credential on the Channels page."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.access import membership_for

from ..models import ApnsCredential, FcmCredential
from ..verification import Verdict, verify

logger = logging.getLogger(__name__)

VERIFIABLE = {"fcm": FcmCredential, "apns": ApnsCredential}


@login_required
@require_POST
def space_channel_verify(request, space_id, channel):
    """Ask the provider whether it accepts the space's credential; say what it answered."""
    membership = membership_for(request.user, space_id, change=True)
    model = VERIFIABLE.get(channel)
    credential = model and model.objects.filter(space=membership.space).first()
    if credential is None:
        raise Http404("No such credential")
    result = verify(credential)
    logger.info("space %s: %s verified by user %s", space_id, channel, request.user.pk)
    if result.verdict is Verdict.OK:
        messages.success(request, f"Verified: {result.words}.")
    elif result.verdict is Verdict.NEEDS_ATTENTION:
        messages.error(request, f"Refused: {result.words}.")
    else:
        messages.warning(request, f"Not verified: {result.words}.")
    return redirect(reverse("space-channels", kwargs={"space_id": space_id}) + f"#{channel}")
