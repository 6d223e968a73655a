"""The Channels page sets the space's PowerAuth appId."""

import pytest
from django.urls import reverse

from channels_app.models import PowerAuthApp

pytestmark = pytest.mark.django_db


def page(space):
    return reverse("space-channels", kwargs={"space_id": space.id})


def test_an_owner_sets_and_changes_the_spaces_app_id(owner_client, space):
    owner_client.post(page(space), {"section": "powerauth", "powerauth-app_id": "12"})
    owner_client.post(page(space), {"section": "powerauth", "powerauth-app_id": "13"})
    assert PowerAuthApp.objects.get(space=space).app_id == 13
    assert "<code>13</code>" in owner_client.get(page(space)).content.decode()


def test_an_app_id_of_another_space_is_refused(owner_client, space, other_space):
    PowerAuthApp.objects.create(space=other_space, app_id=12)
    response = owner_client.post(page(space), {"section": "powerauth", "powerauth-app_id": "12"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not PowerAuthApp.objects.filter(space=space).exists()
