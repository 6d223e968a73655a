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


def parse_space_id(space_id: str) -> uuid.UUID:
    """The UUID in a URL's apiSpaceId; 404 space_not_found when it is not one."""
    try:
        return uuid.UUID(str(space_id))
    except ValueError:
        raise space_not_found() from None


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
