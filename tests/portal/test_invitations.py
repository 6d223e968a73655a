"""Inviting by e-mail: a new address gets a one-time set-password link, a known one membership."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def members_url(space) -> str:
    return reverse("space-members", kwargs={"space_id": space.id})


def invite(client, space, address, role="viewer"):
    return client.post(members_url(space), {"identifier": address, "role": role}, follow=True)


def link_in(message) -> str:
    return re.search(r"http://testserver(/invitation/\S+/)", message.body).group(1)


def test_an_unknown_address_gets_an_account_without_a_password_and_an_email(owner_client, space):
    response = invite(owner_client, space, "new.person@example.com", role="admin")

    assert "invited by e-mail to set a password" in response.content.decode()
    user = get_user_model().objects.get(email="new.person@example.com")
    assert not user.has_usable_password()
    assert Membership.objects.get(space=space, user=user).role == Role.ADMIN
    (message,) = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert space.name in message.subject
    assert "as Manager" in message.body


def test_the_link_sets_the_password_once_and_the_person_signs_in(owner_client, space):
    invite(owner_client, space, "new.person@example.com")
    link = link_in(mail.outbox[0])
    visitor = Client()

    form_page = visitor.get(link, follow=True)
    assert "Choose your password" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    done = visitor.post(
        set_password_url,
        {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"},
        follow=True,
    )

    assert "Password set" in done.content.decode()
    user = get_user_model().objects.get(email="new.person@example.com")
    assert user.check_password("a-long-new-passphrase")
    again = Client().get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_a_known_address_just_becomes_a_member_without_an_email(owner_client, space):
    known = UserFactory(email="known@example.com")

    response = invite(owner_client, space, "known@example.com")

    assert f"{known.username} added as Viewer" in response.content.decode()
    assert Membership.objects.filter(space=space, user=known).exists()
    assert mail.outbox == []


def test_a_tampered_link_does_not_work(owner_client, space):
    invite(owner_client, space, "new.person@example.com")
    link = link_in(mail.outbox[0])

    response = Client().get(link[:-3] + "xx/", follow=True)

    assert "This link no longer works" in response.content.decode()


def test_managers_and_viewers_cannot_invite(space):
    for role in (Role.ADMIN, Role.VIEWER):
        member = MembershipFactory(space=space, role=role).user
        client = Client()
        client.force_login(member)
        assert invite(client, space, "x@example.com").status_code == 403
    assert mail.outbox == []


def test_another_spaces_owner_cannot_invite_here(space, other_space):
    stranger = MembershipFactory(space=other_space, role=Role.OWNER).user
    client = Client()
    client.force_login(stranger)

    assert invite(client, space, "x@example.com").status_code == 404
