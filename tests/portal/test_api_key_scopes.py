"""API key scopes: chosen in the portal, shown in the list, enforced on the Server API."""

import re

import pytest
from django.urls import reverse

from portal.apikeys import create_api_key
from portal.models import ApiKey, ApiKeyScope
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def keys_page(space):
    return reverse("space-api-keys", kwargs={"space_id": space.id})


def test_a_key_created_without_a_choice_may_send_and_manage_devices_but_not_administer(space):
    key, _ = create_api_key(space=space, name="default")
    assert key.scopes == ["send", "devices"]
    assert not key.allows(ApiKeyScope.ADMIN)


def test_an_unknown_scope_is_refused(space):
    with pytest.raises(ValueError, match="unknown API key scopes"):
        create_api_key(space=space, name="x", scopes=["send", "everything"])


def test_the_portal_offers_every_scope_with_admin_unticked(owner_client, space):
    page = owner_client.get(keys_page(space)).content.decode()
    boxes = {
        re.search(r'value="(\w+)"', tag).group(1): "checked" in tag
        for tag in re.findall(r'<input type="checkbox" name="scopes"[^>]*>', page)
    }
    assert boxes == {"send": True, "devices": True, "admin": False}


def test_the_creator_chooses_the_scopes_and_the_list_shows_them(owner_client, space):
    owner_client.post(keys_page(space), {"name": "ops", "scopes": ["admin"]})
    key = ApiKey.objects.get(space=space, name="ops")
    assert key.scopes == ["admin"]
    assert '<span class="badge">admin</span>' in owner_client.get(keys_page(space)).content.decode()


def test_ticking_nothing_gives_the_default_scopes(owner_client, space):
    owner_client.post(keys_page(space), {"name": "plain"})
    assert ApiKey.objects.get(space=space, name="plain").scopes == ["send", "devices"]


def test_a_key_without_send_cannot_send_messages(client, space):
    _, secret = create_api_key(space=space, name="devices only", scopes=["devices"])
    response = client.post(
        f"/apispaces/{space.id}/messages",
        {"to": {"profileId": "alice"}, "rules": ["nativePush"], "body": "hi"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_scope_missing"


def test_a_key_without_send_cannot_touch_campaigns(client, space):
    _, secret = create_api_key(space=space, name="admin only", scopes=["admin"])
    response = client.get(f"/apispaces/{space.id}/campaigns", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_scope_missing"


def test_a_key_without_devices_cannot_remove_a_device(client, space):
    profile = ProfileFactory(space=space)
    _, secret = create_api_key(space=space, name="sender", scopes=["send"])
    response = client.delete(
        f"/apispaces/{space.id}/profiles/{profile.profile_id}/devices/some-device",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_scope_missing"
