"""The Devices pages: search, filters, keyset pages, a device's deliveries, deactivation."""

import pytest
from django.test import Client
from django.urls import reverse

from channels_app.models import DeviceEnvironment, Platform
from portal.models import Role
from tests.factories import DeliveryFactory, DeviceFactory, MembershipFactory, MessageFactory

pytestmark = pytest.mark.django_db


def client_for(space, role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(space=space, role=role).user)
    return client


def list_url(space, **params) -> str:
    url = reverse("space-devices", kwargs={"space_id": space.id})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def device_url(device, name="space-device") -> str:
    return reverse(name, kwargs={"space_id": device.space_id, "device_id": device.pk})


def test_a_viewer_sees_the_space_devices_and_not_another_space_devices(space, other_space):
    mine = DeviceFactory(space=space)
    theirs = DeviceFactory(space=other_space)
    response = client_for(space, Role.VIEWER).get(list_url(space))
    assert response.status_code == 200
    html = response.content.decode()
    assert device_url(mine) in html
    assert device_url(theirs) not in html


def test_the_menu_links_the_devices_profiles_and_messages_pages(space, owner_client):
    html = owner_client.get(list_url(space)).content.decode()
    for name in ("space-devices", "space-profiles", "space-messages"):
        assert reverse(name, kwargs={"space_id": space.id}) in html
    assert 'class="active" aria-current="page">Devices<' in html


def test_search_finds_a_device_by_token_prefix_or_profile_id(space, owner_client):
    wanted = DeviceFactory(space=space, token="abcdef" + "0" * 58)
    other = DeviceFactory(space=space, token="123456" + "0" * 58)
    html = owner_client.get(list_url(space, q="abcdef")).content.decode()
    assert device_url(wanted) in html and device_url(other) not in html
    html = owner_client.get(list_url(space, q=other.profile.profile_id)).content.decode()
    assert device_url(other) in html and device_url(wanted) not in html


def test_filters_narrow_by_platform_environment_and_state(space, owner_client):
    ios = DeviceFactory(space=space, platform=Platform.IOS)
    sandbox = DeviceFactory(
        space=space, platform=Platform.IOS, environment=DeviceEnvironment.DEVELOPMENT
    )
    android = DeviceFactory(space=space, platform=Platform.ANDROID)
    gone = DeviceFactory(space=space, platform=Platform.ANDROID, active=False)

    def shown(**params):
        html = owner_client.get(list_url(space, **params)).content.decode()
        return {d for d in (ios, sandbox, android, gone) if device_url(d) in html}

    assert shown(platform="android") == {android, gone}
    assert shown(environment="development") == {sandbox}
    assert shown(state="inactive") == {gone}
    assert shown(platform="android", state="active") == {android}


def test_the_list_pages_by_keyset_newest_first(space, owner_client, monkeypatch):
    monkeypatch.setattr("channels_app.web.keyset.PAGE_SIZE", 2)
    monkeypatch.setattr(
        "channels_app.web.keyset.paginate.__defaults__", (("created_at", "id"), None, 2)
    )
    devices = [DeviceFactory(space=space) for _ in range(5)]
    first = owner_client.get(list_url(space))
    html = first.content.decode()
    assert device_url(devices[4]) in html and device_url(devices[3]) in html
    assert device_url(devices[2]) not in html
    next_link = first.context["page"].next_cursor
    assert f"after={next_link}" in html
    second = owner_client.get(list_url(space, after=next_link)).content.decode()
    assert device_url(devices[2]) in second and device_url(devices[1]) in second
    assert device_url(devices[4]) not in second
    last = owner_client.get(list_url(space, last=1)).content.decode()
    assert device_url(devices[0]) in last and device_url(devices[1]) in last


def test_a_broken_cursor_answers_400(space, owner_client):
    assert owner_client.get(list_url(space, after="not-a-cursor")).status_code == 400


def test_the_device_page_shows_its_recent_deliveries_and_the_test_push_place(space, owner_client):
    delivery = DeliveryFactory(message=MessageFactory(space=space, title="Big sale"))
    response = owner_client.get(device_url(delivery.device))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Big sale" in html
    assert 'id="test-push"' in html


def test_another_space_device_answers_404(space, other_space, owner_client):
    theirs = DeviceFactory(space=other_space)
    assert owner_client.get(device_url(theirs)).status_code == 404
    assert owner_client.post(device_url(theirs, "space-device-deactivate")).status_code == 404


def test_an_admin_deactivates_a_device_by_hand(space):
    device = DeviceFactory(space=space)
    client = client_for(space, Role.ADMIN)
    response = client.post(device_url(device, "space-device-deactivate"))
    assert response.status_code == 302
    device.refresh_from_db()
    assert not device.active
    assert device.deactivated_at is not None
    username = response.wsgi_request.user.get_username()
    assert device.deactivation_reason == f"deactivated by {username}"
    html = client.get(device_url(device)).content.decode()
    assert f"deactivated by {username}" in html


def test_a_viewer_cannot_deactivate_a_device(space):
    device = DeviceFactory(space=space)
    viewer = client_for(space, Role.VIEWER)
    assert viewer.post(device_url(device, "space-device-deactivate")).status_code == 403
    device.refresh_from_db()
    assert device.active
    assert "Deactivate</button>" not in viewer.get(device_url(device)).content.decode()
