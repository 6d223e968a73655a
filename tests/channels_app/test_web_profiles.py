"""The Profiles pages: search, keyset pages, a profile's devices, sessions and messages."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import Role
from sessions_app.models import Session
from tests.factories import (
    DeliveryFactory,
    DeviceFactory,
    MembershipFactory,
    MessageFactory,
    ProfileFactory,
)

pytestmark = pytest.mark.django_db


def client_for(space, role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(space=space, role=role).user)
    return client


def list_url(space, query="") -> str:
    return reverse("space-profiles", kwargs={"space_id": space.id}) + query


def profile_url(profile) -> str:
    return reverse("space-profile", kwargs={"space_id": profile.space_id, "profile_pk": profile.pk})


def test_a_viewer_sees_the_space_profiles_with_their_active_devices(space, other_space):
    alice = ProfileFactory(space=space, profile_id="alice")
    DeviceFactory(space=space, profile=alice)
    DeviceFactory(space=space, profile=alice, active=False)
    stranger = ProfileFactory(space=other_space, profile_id="mallory")
    response = client_for(space, Role.VIEWER).get(list_url(space))
    assert response.status_code == 200
    html = response.content.decode()
    assert profile_url(alice) in html and "mallory" not in html
    assert profile_url(stranger) not in html
    [row] = response.context["page"].rows
    assert row.active_devices == 1


def test_search_finds_profiles_by_the_start_of_their_id(space, owner_client):
    ProfileFactory(space=space, profile_id="alice")
    ProfileFactory(space=space, profile_id="bob")
    html = owner_client.get(list_url(space, "?q=ali")).content.decode()
    assert "alice" in html and "bob" not in html


def test_the_list_pages_by_keyset(space, owner_client, monkeypatch):
    monkeypatch.setattr("channels_app.web.keyset.PAGE_SIZE", 2)
    profiles = [ProfileFactory(space=space, profile_id=f"p{n}") for n in range(3)]
    first = owner_client.get(list_url(space))
    page = first.context["page"]
    assert [p.profile_id for p in page.rows] == ["p2", "p1"]
    assert page.has_next and f"after={page.next_cursor}" in first.content.decode()
    second = owner_client.get(list_url(space, f"?after={page.next_cursor}")).context["page"]
    assert [p.profile_id for p in second.rows] == ["p0"]
    assert not second.has_next and second.has_previous
    back = owner_client.get(list_url(space, f"?before={second.previous_cursor}")).context["page"]
    assert [p.pk for p in back.rows] == [profiles[2].pk, profiles[1].pk]


def test_the_profile_page_shows_its_devices_sessions_and_recent_messages(space, owner_client):
    profile = ProfileFactory(space=space, profile_id="alice")
    device = DeviceFactory(space=space, profile=profile)
    Session.objects.create(
        space=space,
        profile=profile,
        platform="ios",
        sdk_type="native",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    DeliveryFactory(message=MessageFactory(space=space, title="Welcome aboard"), device=device)
    response = owner_client.get(profile_url(profile))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("space-device", kwargs={"space_id": space.id, "device_id": device.pk}) in html
    assert "native" in html and "live" in html
    assert "Welcome aboard" in html
    assert 'id="test-push"' in html


def test_another_space_profile_answers_404(space, other_space, owner_client):
    assert owner_client.get(profile_url(ProfileFactory(space=other_space))).status_code == 404
