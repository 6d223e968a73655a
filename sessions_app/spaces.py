"""Finding the space, and its App Messaging settings, that a Session API URL names."""

import uuid

from rest_framework import status

from portal.errors import ApiError
from portal.models import ApiSpace

from .models import AppMessagingAuth


def space_not_found() -> ApiError:
    return ApiError(
        "space_not_found", "No API space has this id.", status_code=status.HTTP_404_NOT_FOUND
    )


def as_uuid(value) -> uuid.UUID | None:
    """The UUID a client-supplied id spells, or None when it spells none."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def parse_space_id(space_id: str) -> uuid.UUID:
    """The UUID in a URL's apiSpaceId; 404 space_not_found when it is not one."""
    parsed = as_uuid(space_id)
    if parsed is None:
        raise space_not_found()
    return parsed


def auth_for_space(space_id: str) -> AppMessagingAuth:
    """The space's App Messaging settings: 404 for an unknown space, 403 when not configured."""
    parsed = parse_space_id(space_id)
    auth = AppMessagingAuth.objects.select_related("space").filter(space_id=parsed).first()
    if auth is not None:
        return auth
    if not ApiSpace.objects.filter(pk=parsed).exists():
        raise space_not_found()
    raise ApiError(
        "auth_not_configured",
        "App Messaging authentication is not configured for this space: set its issuer, "
        "audience and shared secret in the portal.",
        status_code=status.HTTP_403_FORBIDDEN,
    )
