"""Apps built on portal add menu entries and overview sections without portal importing them."""

import pytest
from django.urls import reverse

from portal import extensions

pytestmark = pytest.mark.django_db


def test_the_channels_pages_are_in_every_space_menu_in_order(space, owner_client):
    html = owner_client.get(reverse("space-overview", kwargs={"space_id": space.id})).content
    html = html.decode()
    positions = [
        html.index(f'href="{reverse(name, kwargs={"space_id": space.id})}"')
        for name in ("space-devices", "space-profiles", "space-messages")
    ]
    assert positions == sorted(positions)


def test_a_registered_overview_section_renders_with_its_context(space, owner_client, monkeypatch):
    monkeypatch.setattr(extensions, "_overview", dict(extensions._overview))
    seen = []

    def context(*, space, membership):
        seen.append((space, membership.role))
        return {"devices": []}

    extensions.add_overview_section(
        template="channels_app/_overview_activity.html", context=context
    )
    response = owner_client.get(reverse("space-overview", kwargs={"space_id": space.id}))
    assert response.status_code == 200
    assert seen == [(space, "owner")]


def test_registering_an_entry_twice_keeps_one(monkeypatch):
    monkeypatch.setattr(extensions, "_menu", {})
    for _ in range(2):
        extensions.add_menu_entry(label="Devices", url_name="space-devices", menu="devices")
    assert len(extensions.menu_links(space_id="00000000-0000-0000-0000-000000000000")) == 1
