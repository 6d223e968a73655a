"""The Verify button: the provider's answer in words on the Channels page, scoped to the space."""

import pytest
from django.test import Client
from django.urls import reverse

from channels_app.models import Health
from portal.models import Role
from tests.factories import ApnsTokenCredentialFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def verify_url(space, channel: str) -> str:
    return reverse("space-channel-verify", kwargs={"space_id": space.id, "channel": channel})


def test_new_credentials_show_unverified_and_a_verify_button(owner_client, space, configured):
    page = owner_client.get(reverse("space-channels", kwargs={"space_id": space.id}))

    html = page.content.decode()
    assert html.count('class="badge unverified"') == 2
    assert 'id="verify-fcm"' in html and 'id="verify-apns"' in html
    assert 'id="test-push-link"' in html


def test_verifying_good_credentials_says_ok_and_shows_when(owner_client, space, configured):
    apns, fcm = configured

    for channel in ("apns", "fcm"):
        response = owner_client.post(verify_url(space, channel), follow=True)
        assert "Verified:" in response.content.decode()

    apns.refresh_from_db()
    fcm.refresh_from_db()
    assert apns.health == fcm.health == Health.OK
    html = owner_client.get(reverse("space-channels", kwargs={"space_id": space.id})).content
    assert b"the dummy token was refused as expected" in html
    assert b"FCM accepted the service account" in html


def test_verifying_a_wrong_key_says_which_error(owner_client, space, apns_fake):
    ApnsTokenCredentialFactory(space=space, response_timeout=5.0)

    response = owner_client.post(verify_url(space, "apns"), follow=True)

    html = response.content.decode()
    assert "Refused:" in html and "InvalidProviderToken" in html
    assert 'class="badge needs-attention"' in html


def test_viewers_cannot_verify(space, apns_credential):
    viewer = MembershipFactory(space=space, role=Role.VIEWER).user
    client = Client()
    client.force_login(viewer)

    assert client.post(verify_url(space, "apns")).status_code == 403


def test_another_spaces_credential_answers_404(owner_client, other_space, apns_fake):
    ApnsTokenCredentialFactory(space=other_space)

    assert owner_client.post(verify_url(other_space, "apns")).status_code == 404


def test_verifying_a_channel_without_a_credential_answers_404(owner_client, space):
    assert owner_client.post(verify_url(space, "apns")).status_code == 404
    assert owner_client.post(verify_url(space, "nonsense")).status_code == 404
