"""Tenant scoping for portal pages: a member sees a space, only owners and admins change it."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import ApiSpace, Membership, Role


def spaces_for(user):
    """The spaces a user may see (all of them for a superuser)."""
    if user.is_superuser:
        return ApiSpace.objects.all()
    return ApiSpace.objects.filter(memberships__user=user)


def membership_for(user, space_id, *, change: bool = False, owner: bool = False) -> Membership:
    """The user's membership of a space: 404 if none, 403 if the role may not do this."""
    membership = (
        Membership.objects.select_related("space").filter(user=user, space_id=space_id).first()
    )
    if membership is None:
        if user.is_superuser and ApiSpace.objects.filter(pk=space_id).exists():
            return Membership(user=user, space=ApiSpace.objects.get(pk=space_id), role=Role.OWNER)
        raise Http404("No such API space")
    if owner and membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner of this space can do this.")
    if change and not membership.can_change:
        raise PermissionDenied("Viewers cannot change this space.")
    return membership
