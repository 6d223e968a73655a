"""Who calls the conversation surface: an SDK session, which speaks as its profile, or a back
end on the /cpaas routes, which speaks as the space itself."""

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class BackEnd:
    """A server calling with an API key (with the send scope) of the space.

    It acts as the space, the administrator of every conversation in it: it is no
    participant and needs no role's privilege, and it is never added as a participant.
    Frames name it as `access:<API key id>`, the principal form Comapi's own frames use for
    API access. A message it sends is from the profile its body names (`from.profileId`).
    """

    space_id: uuid.UUID
    key_id: uuid.UUID

    @property
    def principal(self) -> str:
        """createdBy, sentBy and _updatedBy of what this back end does."""
        return f"access:{self.key_id}"
