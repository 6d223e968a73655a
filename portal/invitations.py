"""Inviting people to a space by e-mail: a new address gets an account and a one-time link.

The link carries Django's password-reset token for the new account, so it works once: setting
the password changes the hash the token is made of. Until then the account has no usable
password and cannot sign in.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import ApiSpace, Membership
from .spaces import add_member, find_user

logger = logging.getLogger(__name__)


def invitation_path(user) -> str:
    """The path of the one-time set-password link of a user."""
    return reverse(
        "invitation-accept",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


def _is_email(identifier: str) -> bool:
    try:
        validate_email(identifier)
    except ValidationError:
        return False
    return True


def invite_member(
    *, space: ApiSpace, identifier: str, role: str, invited_by, base_url: str
) -> tuple[Membership, bool]:
    """Add a person to a space by username or e-mail; returns the membership and whether an
    invitation was e-mailed.

    A known user (by username, or the one user with that e-mail) simply becomes a member. An
    unknown e-mail address gets a new account without a password and an e-mail with the link
    that sets it; `base_url` is this server's address as the inviter reached it.
    """
    identifier = identifier.strip()
    if find_user(identifier) is not None or not _is_email(identifier):
        return add_member(space=space, identifier=identifier, role=role), False
    User = get_user_model()
    if User.objects.filter(email__iexact=identifier).exists():
        # Several accounts, or an inactive one: a person must sort that out, not a new account.
        raise ValidationError(
            f"“{identifier}” belongs to more than one account or to a deactivated one; "
            "add the member by username."
        )
    if User.objects.filter(username__iexact=identifier).exists():
        raise ValidationError(f"An account named “{identifier}” exists but is deactivated.")
    with transaction.atomic():
        user = User(username=identifier[:150], email=identifier)
        user.set_unusable_password()
        user.save()
        membership = add_member(space=space, identifier=identifier, role=role)
    link = base_url.rstrip("/") + invitation_path(user)
    inviter = invited_by.get_username()
    send_mail(
        subject=f"You are invited to {space.name} on Pushport",
        message=(
            f"{inviter} invited you to the API space “{space.name}” on Pushport as "
            f"{membership.get_role_display()}.\n\n"
            f"Choose your password here (the link works once):\n{link}\n\n"
            f"Then sign in with the user name {user.get_username()}.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[identifier],
    )
    logger.info("space %s: user %s invited by user %s", space.pk, user.pk, invited_by.pk)
    return membership, True
