"""The Profiles pages: search a space's profiles; a profile's devices, sessions and messages."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from portal.access import membership_for
from sessions_app.models import Profile

from ..models import Delivery, Device
from . import keyset
from .page import filter_params, space_page

RECENT = 20


def search_profiles(*, space, q: str = ""):
    """A space's profiles whose profile id starts with `q` (all of them without one)."""
    profiles = Profile.objects.filter(space=space)
    return profiles.filter(profile_id__startswith=q) if q else profiles


def device_counts(profiles) -> dict:
    """{profile pk: number of active devices} for these profiles only: one grouped query."""
    rows = (
        Device.objects.filter(profile__in=[p.pk for p in profiles], active=True)
        .values_list("profile_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def recent_deliveries(*, profile: Profile, limit: int = RECENT) -> list[Delivery]:
    """The latest deliveries to the profile's devices, with their messages: what it was sent."""
    # Through the profile's devices, each read newest first on the (device, -created_at) index.
    devices = Device.objects.filter(profile=profile).values("pk")
    return list(
        Delivery.objects.filter(device__in=devices)
        .select_related("message", "device")
        .order_by("-created_at", "-id")[:limit]
    )


@login_required
@require_GET
def profile_list(request, space_id):
    """A space's profiles, newest first, searchable by profile id, a page at a time."""
    membership = membership_for(request.user, space_id)
    filters = filter_params(request, ("q",))
    page = keyset.paginate(search_profiles(space=membership.space, **filters), params=request.GET)
    counts = device_counts(page.rows)
    for profile in page.rows:
        profile.active_devices = counts.get(profile.pk, 0)
    return space_page(
        request, membership, "channels_app/profiles.html", "profiles", page=page, filters=filters
    )


@login_required
@require_GET
def profile_detail(request, space_id, profile_pk):
    """One profile: its data, devices, sessions and the messages recently sent to it."""
    membership = membership_for(request.user, space_id)
    profile = get_object_or_404(Profile, space=membership.space, pk=profile_pk)
    return space_page(
        request,
        membership,
        "channels_app/profile.html",
        "profiles",
        profile=profile,
        devices=list(profile.devices.order_by("-active", "-created_at")[:100]),
        sessions=list(profile.sessions.order_by("-created_at")[:RECENT]),
        deliveries=recent_deliveries(profile=profile),
    )
