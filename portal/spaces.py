"""API spaces and their members: creating, renaming, deleting, and who holds which role."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When

from .access import spaces_for
from .models import ApiSpace, Membership, Role

# Reverse accessors of each channel's configuration, read without importing the apps that
# define them (imports point from those apps to portal, never back).
CHANNELS = {
    "app_messaging_auth": "App Messaging authentication",
    "fcm_credential": "Android (FCM)",
    "apns_credential": "Apple (APNs)",
}


def spaces_with_roles(*, user):
    """The user's spaces by name, each with `my_role` (None where a superuser is no member)."""
    role = Membership.objects.filter(space=OuterRef("pk"), user=user).values("role")[:1]
    return spaces_for(user).annotate(my_role=Subquery(role)).order_by("name")


def create_space(*, user, name: str) -> ApiSpace:
    """Create a space; its creator becomes its owner."""
    with transaction.atomic():
        space = ApiSpace.objects.create(name=name)
        Membership.objects.create(user=user, space=space, role=Role.OWNER)
    return space


def rename_space(*, space: ApiSpace, name: str) -> None:
    """Give a space a new name."""
    space.name = name
    space.save(update_fields=["name"])


def delete_space(*, space: ApiSpace) -> None:
    """Delete a space with everything in it (devices, messages, credentials, keys)."""
    space.delete()


def space_summary(*, space: ApiSpace) -> dict:
    """Counts and configured channels shown on a space's overview."""
    channels = []
    for accessor, label in CHANNELS.items():
        try:
            getattr(space, accessor)
        except ObjectDoesNotExist:
            configured = False
        else:
            configured = True
        channels.append({"label": label, "configured": configured})
    return {
        "profiles": space.profiles.count(),
        "active_devices": space.devices.filter(active=True).count(),
        "messages": space.messages.count(),
        "api_keys": space.api_keys.filter(revoked_at__isnull=True).count(),
        "channels": channels,
    }


def find_user(identifier: str):
    """The user with this username, or this email when exactly one user has it; else None."""
    identifier = identifier.strip()
    User = get_user_model()
    by_name = User.objects.filter(username=identifier, is_active=True).first()
    if by_name is not None:
        return by_name
    by_email = list(User.objects.filter(email__iexact=identifier, is_active=True)[:2])
    return by_email[0] if len(by_email) == 1 else None


def add_member(*, space: ApiSpace, identifier: str, role: str) -> Membership:
    """Add the user named by username or email to a space with a role."""
    user = find_user(identifier)
    if user is None:
        raise ValidationError(
            f"No active user has the username or email “{identifier}”. "
            "Invite the person by e-mail address instead: they get a link to set a password."
        )
    try:
        # The unique constraint, not a prior lookup, decides: two owners may add at once.
        with transaction.atomic():
            return Membership.objects.create(space=space, user=user, role=role)
    except IntegrityError:
        raise ValidationError(f"{user.get_username()} is already a member of this space.") from None


def is_last_owner(*, membership: Membership) -> bool:
    """Whether this member is the space's only owner."""
    owners = Membership.objects.filter(space_id=membership.space_id, role=Role.OWNER)
    return list(owners.values_list("pk", flat=True)[:2]) == [membership.pk]


def _ensure_another_owner(membership: Membership) -> None:
    """Refuse to take away the space's last owner (as stored); the caller holds a transaction."""
    # Locking the space's owner rows (in one order) until the transaction ends means two
    # owners demoting each other at once cannot both succeed.
    list(
        Membership.objects.select_for_update()
        .filter(space_id=membership.space_id, role=Role.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if is_last_owner(membership=membership):
        raise ValidationError(
            "A space needs at least one owner: make another member an owner first."
        )


def change_role(*, membership: Membership, role: str) -> None:
    """Give a member another role, never leaving the space without an owner."""
    with transaction.atomic():
        if role != Role.OWNER:
            _ensure_another_owner(membership)
        membership.role = role
        membership.save(update_fields=["role"])


def remove_member(*, membership: Membership) -> None:
    """Remove a member, never leaving the space without an owner."""
    with transaction.atomic():
        _ensure_another_owner(membership)
        membership.delete()


def memberships_of(*, space: ApiSpace):
    """A space's members, owners first."""
    rank = Case(
        When(role=Role.OWNER, then=Value(0)),
        When(role=Role.ADMIN, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(space=space)
        .select_related("user")
        .order_by(rank, "user__username")
    )
