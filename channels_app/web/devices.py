"""The Devices pages: search and filter a space's devices, a device's deliveries, deactivation."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.access import membership_for
from sessions_app.models import Profile

from ..models import Delivery, Device, DeviceEnvironment, Platform
from . import keyset
from .page import filter_params, space_page

logger = logging.getLogger(__name__)

FILTERS = ("q", "platform", "environment", "state")
STATES = (("active", "Active"), ("inactive", "Deactivated"))


def search_devices(
    *, space, q: str = "", platform: str = "", environment: str = "", state: str = ""
):
    """A space's devices matching the filters: `q` is a profile id or the start of a token."""
    devices = Device.objects.filter(space=space).select_related("profile")
    if q:
        # The profile by its unique (space, profile_id) key first, so the OR stays on one table.
        profile_pks = Profile.objects.filter(space=space, profile_id=q).values("pk")
        devices = devices.filter(Q(profile__in=profile_pks) | Q(token__startswith=q))
    if platform in Platform.values:
        devices = devices.filter(platform=platform)
    if environment in DeviceEnvironment.values:
        devices = devices.filter(environment=environment)
    if state == "active":
        devices = devices.filter(active=True)
    elif state == "inactive":
        devices = devices.filter(active=False)
    return devices


def deactivate_by_hand(*, device: Device, user) -> bool:
    """Stop sending to a device because a member said so; False if it was already inactive.

    The app's next registration of the same token makes it active again, as after any
    deactivation.
    """
    reason = f"deactivated by {user.get_username()}"[:100]
    now = timezone.now()
    updated = Device.objects.filter(pk=device.pk, active=True).update(
        active=False, deactivated_at=now, deactivation_reason=reason
    )
    if updated:
        device.active, device.deactivated_at, device.deactivation_reason = False, now, reason
    return bool(updated)


@login_required
@require_GET
def device_list(request, space_id):
    """A space's devices, newest first, searchable and filterable, a page at a time."""
    membership = membership_for(request.user, space_id)
    filters = filter_params(request, FILTERS)
    page = keyset.paginate(search_devices(space=membership.space, **filters), params=request.GET)
    return space_page(
        request,
        membership,
        "channels_app/devices.html",
        "devices",
        page=page,
        filters=filters,
        platforms=Platform.choices,
        environments=DeviceEnvironment.choices,
        states=STATES,
    )


def _device(membership, device_id) -> Device:
    return get_object_or_404(
        Device.objects.select_related("profile", "session"), space=membership.space, pk=device_id
    )


@login_required
@require_GET
def device_detail(request, space_id, device_id):
    """One device, its deactivation if any, and its recent deliveries a page at a time."""
    membership = membership_for(request.user, space_id)
    device = _device(membership, device_id)
    deliveries = Delivery.objects.filter(device=device).select_related("message")
    page = keyset.paginate(deliveries, params=request.GET, size=25)
    return space_page(
        request, membership, "channels_app/device.html", "devices", device=device, page=page
    )


@login_required
@require_POST
def device_deactivate(request, space_id, device_id):
    """Deactivate a device by hand (owners and admins)."""
    membership = membership_for(request.user, space_id, change=True)
    device = _device(membership, device_id)
    if deactivate_by_hand(device=device, user=request.user):
        logger.info(
            "space %s: device %s (%s…) deactivated by user %s",
            space_id,
            device.pk,
            device.token[:8],
            request.user.pk,
        )
        messages.success(request, "Device deactivated: nothing more is sent to it.")
    else:
        messages.info(request, "This device was already deactivated.")
    return redirect("space-device", space_id=space_id, device_id=device.pk)
