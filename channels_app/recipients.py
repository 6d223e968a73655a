"""Whom messages go to: their recipients' profiles, looked up by the (space, profile_id) index.

A query that joins devices (or sessions) to profiles and filters on the profile id lets
SQLite walk every device of the space through its space index, a cost that grows with the
space however small the batch. Resolving the profile ids first, then the rows by profile,
costs what the batch holds.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from sessions_app.models import Profile

from .models import Device


def recipients(messages: Iterable) -> dict:
    """{space id: {profile id, ...}} of the messages' `to.profileId`."""
    wanted: dict = defaultdict(set)
    for message in messages:
        wanted[message.space_id].add(message.to.get("profileId"))
    return wanted


def profile_pks(space_id, profile_ids) -> dict[int, str]:
    """{profile pk: profile id} of those profile ids that exist in the space."""
    return dict(
        Profile.objects.filter(space_id=space_id, profile_id__in=list(profile_ids)).values_list(
            "pk", "profile_id"
        )
    )


def of_profiles(model, space_id, profile_ids, **conditions) -> tuple[dict[int, str], QuerySet]:
    """profile_pks() of these profile ids, and the model's rows (devices, sessions) of them."""
    pks = profile_pks(space_id, profile_ids)
    return pks, model.objects.filter(profile_id__in=list(pks), **conditions)


def rows_by_profile(model, space_id, profile_ids, *fields, **conditions) -> list[tuple]:
    """(profile id, *fields) of the model's rows (devices, sessions) of these profiles."""
    pks, found = of_profiles(model, space_id, profile_ids, **conditions)
    return [(pks[pk], *rest) for pk, *rest in found.values_list("profile_id", *fields)]


# What sending reads of a device (delivery.Claimed.stored()).
SENDING_FIELDS = ("id", "profile_id", "platform", "token", "environment")


def active_devices(messages: Iterable) -> dict[tuple, list[Device]]:
    """{(space id, profile id): [device, ...]} of the messages' recipients' active devices,
    with SENDING_FIELDS loaded; recipients without one are absent."""
    devices: dict = defaultdict(list)
    for space_id, wanted in recipients(messages).items():
        pks, found = of_profiles(Device, space_id, wanted, active=True)
        for device in found.only(*SENDING_FIELDS):
            devices[(space_id, pks[device.profile_id])].append(device)
    return devices
