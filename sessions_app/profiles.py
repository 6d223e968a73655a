"""Reading and writing a profile's free-form data, guarded by its ETag."""

import json

from django.db import transaction
from django.utils.dateparse import parse_datetime
from rest_framework import status

from portal.errors import ApiError

from .models import Profile

MAX_PROFILE_BYTES = 64 * 1024
# The fields ProfileSerializer adds to every profile it shows, and the model field of each.
SERVER_FIELDS = {
    "_createdOn": "created_at",
    "_updatedOn": "updated_at",
    "_lastActivityOn": "last_seen_at",
}


def quoted_etag(profile: Profile) -> str:
    """The ETag header value of a profile."""
    return f'"{profile.etag}"'


def if_match_allows(header: str | None, etag: str) -> bool:
    """Whether an If-Match header lets a write to a resource with this (unquoted) ETag go on.

    Absent header: yes. `*`: yes. Otherwise one of the listed tags must match strongly; weak
    tags (W/"...") never do, as RFC 9110 requires for If-Match.
    """
    if header is None:
        return True
    for candidate in (part.strip() for part in header.split(",")):
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            continue
        # Some clients drop the quotes; the opaque value is the same tag.
        if candidate.strip('"') == etag:
            return True
    return False


def _echoed(profile: Profile, name: str, value) -> bool:
    """Whether `value` of a server-owned field is one Pushport itself showed for the profile.

    `_createdOn` never changes, so it must be the current value. `_updatedOn` and
    `_lastActivityOn` move on their own between a read and the write that follows it, so any
    value up to the current one is a copy read earlier; a later one cannot have come from us.
    """
    current = getattr(profile, SERVER_FIELDS[name])
    if value is None or current is None:
        return value is None and current is None
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return False
    # Pushport shows aware times; a naive one was not copied from it (and cannot be compared).
    if moment is None or moment.tzinfo is None:
        return False
    return moment == current if name == "_createdOn" else moment <= current


def clean_profile_data(*, profile: Profile, body) -> dict:
    """The client fields of a PUT or PATCH body: a JSON object, no `_` names, `id` its own.

    The SDK's getMyProfile/updateMyProfile round trip sends back the server's own fields
    (`_createdOn`, ...): those are dropped when they are what Pushport showed, and refused
    only when they try to change something, as is any other `_` name.
    """
    if not isinstance(body, dict):
        raise ApiError("profile_not_object", "A profile must be a JSON object.")
    echoed = {key for key in body if key in SERVER_FIELDS and _echoed(profile, key, body[key])}
    reserved = sorted(key for key in body if key.startswith("_") and key not in echoed)
    if reserved:
        raise ApiError(
            "profile_field_reserved",
            "Field names starting with '_' are the server's; send them back as read or leave "
            "them out: " + ", ".join(reserved),
            details={"fields": reserved},
        )
    if "id" in body and body["id"] != profile.profile_id:
        raise ApiError("profile_id_mismatch", "The body's id is not this profile's id.")
    return {key: value for key, value in body.items() if key != "id" and key not in echoed}


def _check_size(data: dict) -> None:
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_PROFILE_BYTES:
        raise ApiError(
            "profile_too_large",
            f"A profile holds at most {MAX_PROFILE_BYTES // 1024} KiB of JSON.",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )


def write_profile(
    *,
    profile: Profile,
    body,
    if_match: str | None,
    merge: bool,
    deletes: tuple[str, ...] = (),
) -> Profile:
    """Replace (PUT) or merge into (PATCH) a profile's data; 412 when If-Match is stale.

    `deletes` names top-level fields a PATCH removes.
    """
    fields = clean_profile_data(profile=profile, body=body)
    with transaction.atomic():
        current = Profile.objects.select_for_update().get(pk=profile.pk)
        if not if_match_allows(if_match, current.etag):
            raise ApiError(
                "etag_mismatch",
                "The profile changed since it was read (If-Match does not match its ETag); "
                "read it again and retry.",
                status_code=status.HTTP_412_PRECONDITION_FAILED,
            )
        if merge:
            data = {key: value for key, value in current.data.items() if key not in deletes}
            data.update(fields)
        else:
            data = fields
        _check_size(data)
        current.data = data
        current.save(update_fields=["data", "updated_at"])
    return current
