"""Portal pages: who sees which space, who may change it, and what each page does."""

import re

import pytest
from django.urls import reverse

from portal.apikeys import authenticate_api_key, create_api_key
from portal.models import ApiKey, ApiSpace, Membership, Role
from tests.factories import (
    AppMessagingAuthFactory,
    DeviceFactory,
    MembershipFactory,
    MessageFactory,
    ProfileFactory,
    UserFactory,
)
from tests.portal.conftest import signed_in

MENU_PAGES = ["space-overview", "space-channels", "space-api-keys", "space-members"]
SPACE_PAGES = [*MENU_PAGES, "space-delete"]


def url(name, space, **kwargs):
    return reverse(name, kwargs={"space_id": space.id, **kwargs})


def change_requests(space):
    """Every POST that changes a space, as (url, data)."""
    member = MembershipFactory(space=space, role=Role.VIEWER)
    key, _ = create_api_key(space=space, name="existing")
    return [
        (url("space-rename", space), {"name": "Renamed"}),
        (url("space-delete", space), {"name": space.name}),
        (url("space-members", space), {"identifier": UserFactory().username, "role": "viewer"}),
        (url("space-member-role", space, member_id=member.pk), {"role": "admin"}),
        (url("space-member-remove", space, member_id=member.pk), {}),
        (url("space-api-keys", space), {"name": "new key"}),
        (url("space-api-key-revoke", space, key_id=key.id), {}),
    ]


def snapshot(space):
    """What a change request could alter, to show that a refused one altered nothing."""
    return (
        list(ApiSpace.objects.filter(pk=space.pk).values_list("name", flat=True)),
        sorted(Membership.objects.filter(space=space).values_list("user_id", "role")),
        sorted(ApiKey.objects.filter(space=space).values_list("prefix", "revoked_at")),
    )


# Reading


@pytest.mark.parametrize("name", SPACE_PAGES)
def test_every_space_page_answers_200_for_its_owner(owner_client, space, name):
    assert owner_client.get(url(name, space)).status_code == 200


def test_the_space_menu_links_every_page_and_marks_the_current_one(owner_client, space):
    html = owner_client.get(url("space-members", space)).content.decode()
    for name in MENU_PAGES:
        assert f'href="{url(name, space)}"' in html
    assert f'<a href="{url("space-members", space)}" class="active"' in html


def test_the_space_list_shows_only_the_users_spaces_with_their_role(
    owner_client, space, other_space
):
    html = owner_client.get(reverse("space-list")).content.decode()
    assert space.name in html
    assert '<span class="badge role">Owner</span>' in html
    assert other_space.name not in html


def test_pages_need_a_signed_in_user(client, space):
    response = client.get(url("space-overview", space))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_person_signs_in_and_out(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("space-list")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("space-list")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, owner):
    response = client.post(reverse("login"), {"username": owner.username, "password": "nope"})
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_the_overview_shows_the_space_id_counts_and_configured_channels(owner_client, space):
    AppMessagingAuthFactory(space=space)
    profile = ProfileFactory(space=space)
    DeviceFactory(space=space, profile=profile)
    DeviceFactory(space=space, profile=profile, active=False)
    MessageFactory(space=space)
    response = owner_client.get(url("space-overview", space))
    summary = response.context["summary"]
    assert str(space.id) in response.content.decode()
    assert (summary["profiles"], summary["active_devices"], summary["messages"]) == (1, 1, 1)
    configured = {c["label"]: c["configured"] for c in summary["channels"]}
    assert configured == {
        "App Messaging authentication": True,
        "Android (FCM)": False,
        "Apple (APNs)": False,
    }


# Tenant isolation


@pytest.mark.parametrize("name", SPACE_PAGES)
def test_a_member_of_another_space_gets_404_on_every_page(stranger_client, space, name):
    assert stranger_client.get(url(name, space)).status_code == 404


def test_a_member_of_another_space_gets_404_on_every_change(stranger_client, space):
    for target, data in change_requests(space):
        before = snapshot(space)
        assert stranger_client.post(target, data).status_code == 404, target
        assert snapshot(space) == before


def test_an_owner_cannot_reach_another_spaces_key_or_member_through_their_own_space(
    owner_client, space, other_space
):
    key, _ = create_api_key(space=other_space, name="theirs")
    member = MembershipFactory(space=other_space, role=Role.VIEWER)
    assert owner_client.post(url("space-api-key-revoke", space, key_id=key.id)).status_code == 404
    assert (
        owner_client.post(url("space-member-remove", space, member_id=member.pk)).status_code == 404
    )
    key.refresh_from_db()
    assert key.is_active
    assert Membership.objects.filter(pk=member.pk).exists()


def test_a_superuser_sees_every_space(space):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    assert signed_in(superuser).get(url("space-overview", space)).status_code == 200


# Roles


def test_a_viewer_sees_every_page_without_change_buttons(viewer_client, space):
    for name in MENU_PAGES:
        response = viewer_client.get(url(name, space))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Revoke" not in html and "Add member" not in html and "Create key" not in html


def test_a_viewer_gets_403_on_every_change(viewer_client, space):
    for target, data in change_requests(space):
        before = snapshot(space)
        assert viewer_client.post(target, data).status_code == 403, target
        assert snapshot(space) == before


def test_an_admin_manages_api_keys_but_not_members_or_the_space(admin_member_client, space):
    for target, data in change_requests(space):
        status = admin_member_client.post(target, data).status_code
        if "/api-keys/" in target:
            assert status in (200, 302), target
        else:
            assert status == 403, target


def test_a_viewer_cannot_open_the_delete_page(viewer_client, space):
    assert viewer_client.get(url("space-delete", space)).status_code == 403


# Spaces


def test_creating_a_space_makes_its_creator_the_owner(client, user):
    client.force_login(user)
    response = client.post(reverse("space-list"), {"name": "Shop app"})
    space = ApiSpace.objects.get(name="Shop app")
    assert response["Location"] == url("space-overview", space)
    assert Membership.objects.get(space=space).user == user
    assert Membership.objects.get(space=space).role == Role.OWNER


def test_a_space_needs_a_name(client, user):
    client.force_login(user)
    response = client.post(reverse("space-list"), {"name": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not ApiSpace.objects.exists()


def test_an_owner_renames_a_space(owner_client, space):
    response = owner_client.post(url("space-rename", space), {"name": "New name"})
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.name == "New name"


def test_deleting_a_space_asks_for_its_exact_name(owner_client, space):
    response = owner_client.post(url("space-delete", space), {"name": space.name.upper()})
    assert response.status_code == 200
    assert "That is not the name of this space" in response.content.decode()
    assert ApiSpace.objects.filter(pk=space.pk).exists()


def test_an_owner_deletes_a_space_with_everything_in_it(owner_client, space):
    create_api_key(space=space, name="k")
    DeviceFactory(space=space)
    response = owner_client.post(url("space-delete", space), {"name": space.name})
    assert response["Location"] == reverse("space-list")
    assert not ApiSpace.objects.filter(pk=space.pk).exists()
    assert not ApiKey.objects.filter(space_id=space.pk).exists()


# Members


def test_an_owner_adds_a_member_by_email_with_a_role(owner_client, space):
    newcomer = UserFactory()
    owner_client.post(url("space-members", space), {"identifier": newcomer.email, "role": "admin"})
    assert Membership.objects.get(space=space, user=newcomer).role == Role.ADMIN


def test_adding_an_unknown_username_says_so_and_suggests_an_invitation(owner_client, space):
    response = owner_client.post(
        url("space-members", space), {"identifier": "nobody", "role": "viewer"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "No active user has the username or email" in html
    assert "Invite the person by e-mail address" in html


def test_adding_someone_twice_says_they_are_a_member(owner_client, owner, space):
    response = owner_client.post(
        url("space-members", space), {"identifier": owner.username, "role": "viewer"}
    )
    assert "already a member" in response.content.decode()
    assert Membership.objects.get(space=space, user=owner).role == Role.OWNER


def test_an_owner_changes_a_role_and_removes_a_member(owner_client, space, viewer):
    membership = Membership.objects.get(space=space, user=viewer)
    owner_client.post(url("space-member-role", space, member_id=membership.pk), {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    owner_client.post(url("space-member-remove", space, member_id=membership.pk))
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_can_be_neither_demoted_nor_removed(owner_client, owner, space):
    membership = Membership.objects.get(space=space, user=owner)
    response = owner_client.post(
        url("space-member-role", space, member_id=membership.pk), {"role": "viewer"}, follow=True
    )
    assert "at least one owner" in response.content.decode()
    response = owner_client.post(
        url("space-member-remove", space, member_id=membership.pk), follow=True
    )
    assert "at least one owner" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_an_owner_may_leave_once_another_owner_exists(owner_client, owner, space):
    MembershipFactory(space=space, role=Role.OWNER)
    membership = Membership.objects.get(space=space, user=owner)
    response = owner_client.post(url("space-member-remove", space, member_id=membership.pk))
    assert response["Location"] == reverse("space-list")
    assert owner_client.get(url("space-overview", space)).status_code == 404


# API keys


def shown_secret(response) -> str | None:
    found = re.search(r'id="api-key-secret">([^<]+)<', response.content.decode())
    return found and found.group(1)


def test_a_new_keys_secret_is_shown_once_and_only_its_hash_is_stored(owner_client, space):
    response = owner_client.post(url("space-api-keys", space), {"name": "billing"})
    key = ApiKey.objects.get(space=space, name="billing")
    assert response.status_code == 302
    assert response["Location"] == url("space-api-key-created", space, key_id=key.id)

    shown = owner_client.get(response["Location"])

    secret = shown_secret(shown)
    assert "no-store" in shown["Cache-Control"]
    assert authenticate_api_key(secret) == key
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    assert not any(secret.split(".", 1)[1] in str(value) for value in row.values())
    assert secret not in owner_client.get(url("space-api-keys", space)).content.decode()


def test_a_reload_of_the_new_key_page_neither_shows_the_secret_nor_creates_a_key(
    owner_client, space
):
    created = owner_client.post(url("space-api-keys", space), {"name": "billing"})["Location"]
    secret = shown_secret(owner_client.get(created))

    reload = owner_client.get(created)

    assert reload.status_code == 200
    assert "no-store" in reload["Cache-Control"]
    assert shown_secret(reload) is None
    assert secret not in reload.content.decode()
    assert "already been shown" in reload.content.decode()
    assert ApiKey.objects.filter(space=space).count() == 1
    assert authenticate_api_key(secret) is not None


def test_the_new_key_page_refuses_a_post(owner_client, space):
    created = owner_client.post(url("space-api-keys", space), {"name": "billing"})["Location"]
    assert owner_client.post(created).status_code == 405
    assert ApiKey.objects.filter(space=space).count() == 1


def test_another_spaces_new_key_page_answers_404(owner_client, space, other_space):
    key, _ = create_api_key(space=other_space, name="theirs")
    assert owner_client.get(url("space-api-key-created", space, key_id=key.id)).status_code == 404
    assert (
        owner_client.get(url("space-api-key-created", other_space, key_id=key.id)).status_code
        == 404
    )


def test_the_key_list_shows_prefix_dates_and_status(owner_client, space):
    key, _ = create_api_key(space=space, name="ci")
    html = owner_client.get(url("space-api-keys", space)).content.decode()
    assert key.prefix in html and "never" in html and "active" in html


def test_a_revoked_key_no_longer_authenticates(owner_client, space):
    key, secret = create_api_key(space=space, name="old")
    response = owner_client.post(url("space-api-key-revoke", space, key_id=key.id))
    assert response.status_code == 302
    assert authenticate_api_key(secret) is None
    assert "revoked" in owner_client.get(url("space-api-keys", space)).content.decode()


def test_a_key_needs_a_name(owner_client, space):
    response = owner_client.post(url("space-api-keys", space), {"name": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not ApiKey.objects.filter(space=space).exists()


def test_a_refused_change_explains_the_roles(viewer_client, space):
    response = viewer_client.post(url("space-api-keys", space), {"name": "k"})
    assert response.status_code == 403
    assert "Viewers cannot change this space." in response.content.decode()


def test_another_spaces_page_says_not_found_without_naming_it(stranger_client, space, settings):
    settings.DEBUG = False
    response = stranger_client.get(url("space-overview", space))
    assert response.status_code == 404
    assert space.name not in response.content.decode()
    assert "not a member of" in response.content.decode()
