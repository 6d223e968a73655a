"""Django admin: scoped to the staff member's spaces, and secrets never shown."""

import datetime as dt
import json

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Bounce, Delivery
from portal.apikeys import authenticate_api_key, create_api_key
from portal.models import ApiSpace, Membership, Role
from sessions_app.models import AuthChallenge, Session
from tests.factories import (
    ApnsCertificateCredentialFactory,
    ApnsTokenCredentialFactory,
    AppMessagingAuthFactory,
    DeviceActivationFactory,
    DeviceFactory,
    FcmCredentialFactory,
    MembershipFactory,
    MessageFactory,
    ProfileFactory,
    UserFactory,
)
from tests.portal.conftest import signed_in

APPS = ["portal", "sessions_app", "channels_app"]


def staff_member(space, role=Role.OWNER):
    """A staff user with every model permission of the three apps, member of `space`."""
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=APPS))
    MembershipFactory(space=space, user=user, role=role)
    return user


def one_of_each(space):
    """An object of every model, in `space`."""
    profile = ProfileFactory(space=space)
    device = DeviceFactory(space=space, profile=profile)
    message = MessageFactory(space=space)
    delivery = Delivery.objects.create(message=message, device=device, platform=device.platform)
    return [
        space,
        MembershipFactory(space=space, role=Role.VIEWER),
        create_api_key(space=space, name="k")[0],
        AppMessagingAuthFactory(space=space),
        profile,
        AuthChallenge.objects.create(
            space=space, nonce="n" * 32, expires_at=timezone.now() + dt.timedelta(minutes=5)
        ),
        Session.objects.create(
            space=space, profile=profile, expires_at=timezone.now() + dt.timedelta(days=1)
        ),
        FcmCredentialFactory(space=space),
        ApnsTokenCredentialFactory(space=space),
        device,
        DeviceActivationFactory(device=device),
        message,
        delivery,
        Bounce.objects.create(delivery=delivery, return_path="bounces@sender.example"),
    ]


def admin_url(obj, view="change"):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def key_line(pem: str) -> str:
    """A line of a PEM key's base64 body: key material an HTML page must never hold."""
    return pem.strip().splitlines()[2]


def changelist_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_changelist")


def test_every_model_of_the_three_apps_is_in_the_admin():
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            assert model in admin.site._registry, model


def test_a_staff_member_opens_their_own_spaces_objects(space):
    client = signed_in(staff_member(space))
    for obj in one_of_each(space):
        assert client.get(admin_url(obj)).status_code == 200, type(obj).__name__


def test_a_staff_member_gets_404_on_every_object_of_another_space(space, other_space):
    client = signed_in(staff_member(space))
    for obj in one_of_each(other_space):
        for view in ("change", "delete", "history"):
            assert client.get(admin_url(obj, view)).status_code == 404, (type(obj), view)


def test_admin_lists_hold_only_the_staff_members_spaces(space, other_space):
    client = signed_in(staff_member(space))
    ProfileFactory(space=space, profile_id="ours")
    ProfileFactory(space=other_space, profile_id="theirs")
    html = client.get(reverse("admin:sessions_app_profile_changelist")).content.decode()
    assert "ours" in html
    assert "theirs" not in html


def test_foreign_key_choices_hold_only_the_staff_members_spaces(space, other_space):
    client = signed_in(staff_member(space))
    form = client.get(reverse("admin:channels_app_device_add")).context["adminform"].form
    assert list(form.fields["space"].queryset) == [space]


def test_an_object_cannot_be_moved_into_another_space(space, other_space):
    client = signed_in(staff_member(space))
    profile = ProfileFactory(space=space)
    response = client.post(
        admin_url(profile), {"space": other_space.pk, "profile_id": "moved", "data": "{}"}
    )
    assert response.status_code == 200
    assert "space" in response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert profile.space == space


def test_a_viewer_on_staff_sees_but_cannot_change(space):
    client = signed_in(staff_member(space, role=Role.VIEWER))
    profile = ProfileFactory(space=space, profile_id="before")
    assert client.get(admin_url(profile)).status_code == 200
    response = client.post(admin_url(profile), {"space": space.pk, "profile_id": "after"})
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.profile_id == "before"


def test_the_last_owner_cannot_be_demoted_or_deleted_in_the_admin(space):
    owner = staff_member(space)
    client = signed_in(owner)
    membership = Membership.objects.get(user=owner, space=space)
    response = client.post(admin_url(membership), {"role": "viewer"})
    assert response.status_code == 200
    assert "at least one owner" in str(response.context["adminform"].form.errors)
    assert client.post(admin_url(membership, "delete"), {"post": "yes"}).status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_secrets_are_added_only_through_the_portal(space):
    client = signed_in(staff_member(space))
    response = client.get(reverse("admin:sessions_app_appmessagingauth_add"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("factory", "secret_of"),
    [
        (AppMessagingAuthFactory, lambda c: [c.shared_secret]),
        (
            FcmCredentialFactory,
            lambda c: [key_line(json.loads(c.service_account_json)["private_key"])],
        ),
        (ApnsTokenCredentialFactory, lambda c: [key_line(c.key_p8)]),
        (
            ApnsCertificateCredentialFactory,
            lambda c: [c.certificate_password, c.certificate_p12[100:160]],
        ),
    ],
)
def test_the_admin_never_shows_a_secret(space, factory, secret_of):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    credential = factory(space=space)
    client = signed_in(superuser)
    for page in (admin_url(credential), changelist_url(credential)):
        html = client.get(page).content.decode()
        for secret in secret_of(credential):
            assert secret not in html
    assert ">set<" in client.get(admin_url(credential)).content.decode()


def test_the_key_list_never_shows_a_hash(space):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    key, _ = create_api_key(space=space, name="k")
    client = signed_in(superuser)
    for page in (admin_url(key), changelist_url(key)):
        assert key.secret_hash not in client.get(page).content.decode()


def test_every_admin_list_searches_without_error(space):
    client = signed_in(staff_member(space))
    one_of_each(space)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in APPS or not model_admin.search_fields:
            continue
        for term in ("abc", "8c92b79d", "not a uuid-'\""):
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert client.get(url, {"q": term}).status_code == 200, (model, term)


def test_a_staff_member_who_creates_a_space_in_the_admin_owns_it(space):
    user = staff_member(space)
    signed_in(user).post(reverse("admin:portal_apispace_add"), {"name": "From the admin"})
    created = ApiSpace.objects.get(name="From the admin")
    assert Membership.objects.get(space=created, user=user).role == Role.OWNER


def test_the_revoke_action_revokes_only_keys_of_the_staff_members_spaces(space, other_space):
    ours, ours_secret = create_api_key(space=space, name="ours")
    theirs, theirs_secret = create_api_key(space=other_space, name="theirs")
    signed_in(staff_member(space)).post(
        reverse("admin:portal_apikey_changelist"),
        {"action": "revoke", "_selected_action": [ours.pk, theirs.pk]},
    )
    assert authenticate_api_key(ours_secret) is None
    assert authenticate_api_key(theirs_secret) == theirs


@pytest.mark.parametrize("depth", [80, 5000])
def test_json_nested_too_deeply_is_a_form_error_in_the_admin(space, depth):
    client = signed_in(staff_member(space))
    profile = ProfileFactory(space=space, profile_id="deep")
    data = "[" * depth + "]" * depth

    response = client.post(admin_url(profile), {"profile_id": "deep", "data": data})

    assert response.status_code == 200
    assert "data" in response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert profile.data == {}


def test_a_session_made_inactive_in_the_admin_is_ended(space):
    from tests.sessions_app.flows import open_session

    open_session(AppMessagingAuthFactory(space=space), profile_id="alice")
    session = Session.objects.get()
    client = signed_in(staff_member(space))
    form = client.get(admin_url(session)).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.pop("is_active")  # an unchecked box is not sent
    expires_at = timezone.localtime(data.pop("expires_at"))  # the admin splits date and time
    data |= {"expires_at_0": expires_at.date(), "expires_at_1": expires_at.time()}

    response = client.post(admin_url(session), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    session.refresh_from_db()
    assert not session.is_active and session.ended_at is not None
