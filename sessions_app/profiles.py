"""Reading and writing a profile's free-form data, guarded by its ETag."""

import json

from django.db import transaction
from rest_framework import status

from portal.errors import ApiError

from .models import Profile

MAX_PROFILE_BYTES = 64 * 1024


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


def clean_profile_data(*, profile: Profile, body) -> dict:
    """The client fields of a PUT or PATCH body: a JSON object, no `_` names, `id` its own."""
    if not isinstance(body, dict):
        raise ApiError("profile_not_object", "A profile must be a JSON object.")
    reserved = sorted(key for key in body if key.startswith("_"))
    if reserved:
        raise ApiError(
            "profile_field_reserved",
            "Field names starting with '_' are reserved for the server: " + ", ".join(reserved),
            details={"fields": reserved},
        )
    if "id" in body and body["id"] != profile.profile_id:
        raise ApiError("profile_id_mismatch", "The body's id is not this profile's id.")
    return {key: value for key, value in body.items() if key != "id"}


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
