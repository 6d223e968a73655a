"""Test pushes from the portal: each device's outcome in words, only within the caller's space."""

import pytest
from django.test import Client
from django.urls import reverse

from channels_app.models import Message
from portal.models import Role
from tests.factories import DeviceFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def page_url(space) -> str:
    return reverse("space-test-push", kwargs={"space_id": space.id})


@pytest.fixture
def send(owner_client, space, django_capture_on_commit_callbacks):
    """POST the form and follow to the outcome page; without a broker the send runs here."""

    def run(**fields):
        data = {"title": "Hi", "body": "Test", **fields}
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(page_url(space), data)
        assert response.status_code == 302, response.content
        return owner_client.get(response["Location"])

    return run


def test_the_form_comes_prefilled(owner_client, space):
    html = owner_client.get(page_url(space) + "?profile=alice").content.decode()

    assert 'value="alice"' in html
    assert "Test push from Pushport" in html
    assert 'id="send-test-push"' in html


def test_a_profile_gets_a_push_on_each_device_and_reads_delivered(
    send, configured, iphone, pixel, apns_fake
):
    page = send(profile_id="alice")

    html = page.content.decode()
    assert html.count("delivered to the provider") == 2
    assert 'id="test-push-queued"' not in html
    assert Message.objects.get().metadata == {"testPush": True}


def test_one_device_gets_the_push_and_the_profiles_other_devices_do_not(
    send, configured, iphone, pixel
):
    page = send(device=iphone.pk)

    html = page.content.decode()
    assert html.count("delivered to the provider") == 1
    assert "iOS" in html and "Android" not in html.split("<tbody>")[1]


def test_an_invalid_token_reads_as_invalid_and_why(send, configured, iphone, apns_fake):
    apns_fake.fail(iphone.token, 400, "BadDeviceToken")

    html = send(device=iphone.pk).content.decode()

    assert "invalid token (the device was deactivated)" in html
    assert "not a valid token of this app" in html


def test_a_refused_credential_reads_as_failed_and_why(send, space, iphone, apns_fake):
    from tests.factories import ApnsTokenCredentialFactory

    ApnsTokenCredentialFactory(space=space, response_timeout=5.0)  # a key Apple does not know

    html = send(device=iphone.pk).content.decode()

    assert "Apple refused the key" in html


def test_a_profile_without_devices_says_nothing_was_sent(send, configured):
    html = send(profile_id="nobody").content.decode()

    assert "No active device" in html


def test_with_a_broker_the_outcome_page_says_queued(owner_client, space, configured, iphone):
    # No on-commit callbacks run: as if the chunk were waiting in a broker's queue.
    response = owner_client.post(
        page_url(space), {"title": "Hi", "body": "x", "profile_id": "alice"}
    )

    html = owner_client.get(response["Location"]).content.decode()
    assert 'id="test-push-queued"' in html
    assert "waiting to be sent" in html


def test_another_spaces_device_answers_404_or_a_form_error(owner_client, space, other_space):
    foreign = DeviceFactory(space=other_space)

    assert owner_client.get(page_url(space) + f"?device={foreign.pk}").status_code == 404
    response = owner_client.post(page_url(space), {"title": "t", "body": "b", "device": foreign.pk})
    assert response.status_code == 200
    assert "This space has no such device." in response.content.decode()
    assert not Message.objects.exists()


def test_another_spaces_test_push_answers_404(send, configured, iphone, other_space):
    page = send(device=iphone.pk)
    message = Message.objects.get()
    outsider = MembershipFactory(space=other_space, role=Role.OWNER).user
    client = Client()
    client.force_login(outsider)
    url = reverse(
        "space-test-push-result", kwargs={"space_id": message.space_id, "message_id": message.pk}
    )

    assert page.status_code == 200
    assert client.get(url).status_code == 404


def test_viewers_see_no_form_and_cannot_post(space):
    viewer = MembershipFactory(space=space, role=Role.VIEWER).user
    client = Client()
    client.force_login(viewer)

    assert "Viewers cannot send pushes" in client.get(page_url(space)).content.decode()
    assert client.post(page_url(space), {"title": "t", "body": "b"}).status_code == 403


def test_device_and_profile_pages_link_to_a_prefilled_test_push(owner_client, space, iphone):
    device_page = owner_client.get(
        reverse("space-device", kwargs={"space_id": space.id, "device_id": iphone.pk})
    ).content.decode()
    profile_page = owner_client.get(
        reverse("space-profile", kwargs={"space_id": space.id, "profile_pk": iphone.profile.pk})
    ).content.decode()

    assert f'{page_url(space)}?device={iphone.pk}"' in device_page
    assert f'{page_url(space)}?profile=alice"' in profile_page
    prefilled = owner_client.get(f"{page_url(space)}?device={iphone.pk}").content.decode()
    assert f'name="device" value="{iphone.pk}"' in prefilled
    assert "to one device" in prefilled.lower()
