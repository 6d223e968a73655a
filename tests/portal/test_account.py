"""Members change their own password; the role and the site administration link differ in name."""

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_member_changes_their_own_password(owner_client, owner):
    owner.set_password("old-password-1")
    owner.save()
    owner_client.force_login(owner)

    response = owner_client.post(
        reverse("password-change"),
        {
            "old_password": "old-password-1",
            "new_password1": "a-brand-new-passphrase",
            "new_password2": "a-brand-new-passphrase",
        },
        follow=True,
    )

    assert "Your password was changed." in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password("a-brand-new-passphrase")


def test_a_wrong_old_password_changes_nothing(owner_client, owner):
    owner.set_password("old-password-1")
    owner.save()
    owner_client.force_login(owner)

    response = owner_client.post(
        reverse("password-change"),
        {
            "old_password": "wrong",
            "new_password1": "x-y-z-1234567",
            "new_password2": "x-y-z-1234567",
        },
    )

    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password("old-password-1")


def test_the_password_page_needs_a_sign_in():
    response = Client().get(reverse("password-change"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_space_role_reads_manager_and_the_admin_link_site_administration(space):
    staff = UserFactory(is_staff=True)
    MembershipFactory(space=space, user=staff, role=Role.ADMIN)
    client = Client()
    client.force_login(staff)

    html = client.get(reverse("space-overview", kwargs={"space_id": space.id})).content.decode()

    assert '<span class="badge role">Manager</span>' in html
    assert ">Site administration</a>" in html
    assert ">Admin<" not in html
    assert 'href="/account/password/"' in html
