"""The Webhooks page: register (secret shown once), list calls, test, disable, delete; scoped."""

import pytest
from django.test import Client
from django.urls import reverse

from channels_app import webhooks
from channels_app.models import Webhook, WebhookCall, WebhookCallStatus, WebhookEvent
from portal.models import Role
from tests.factories import MembershipFactory, WebhookFactory

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.216.34/hooks/pushport"


def page(space) -> str:
    return reverse("space-webhooks", kwargs={"space_id": space.id})


def action(name, webhook) -> str:
    return reverse(name, kwargs={"space_id": webhook.space_id, "webhook_id": webhook.id})


def client_for(space, role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(space=space, role=role).user)
    return client


def register(client, space, url=PUBLIC_URL, events=("delivered", "invalid_token")):
    return client.post(page(space), {"url": url, "events": list(events)})


def test_a_registered_webhook_shows_its_secret_once_and_never_again(owner_client, space):
    response = register(owner_client, space)

    webhook = Webhook.objects.get(space=space)
    assert response.status_code == 302
    assert response["Location"] == action("space-webhook-created", webhook)
    assert webhook.url == PUBLIC_URL
    assert webhook.events == ["delivered", "invalid_token"]

    first = owner_client.get(response["Location"])
    assert "no-store" in first["Cache-Control"]
    assert webhook.secret in first.content.decode()

    again = owner_client.get(response["Location"])
    assert webhook.secret not in again.content.decode()
    assert 'id="secret-already-shown"' in again.content.decode()
    listing = owner_client.get(page(space)).content.decode()
    assert webhook.secret not in listing
    assert PUBLIC_URL in listing


def test_the_secret_is_not_logged_when_a_webhook_is_registered(owner_client, space, caplog):
    register(owner_client, space)

    assert Webhook.objects.get().secret not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://93.184.216.34/hook",
    ],
)
def test_a_private_or_plain_http_url_is_refused_with_a_named_error(owner_client, space, url):
    response = register(owner_client, space, url=url)

    assert response.status_code == 200
    assert "PUSHPORT_WEBHOOK_ALLOWED_HOSTS" in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_host_the_operator_allows_may_be_registered_over_http(owner_client, space, settings):
    settings.PUSHPORT_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    response = register(owner_client, space, url="http://127.0.0.1:9000/hook")

    assert response.status_code == 302
    assert Webhook.objects.get().url == "http://127.0.0.1:9000/hook"


def test_at_least_one_event_is_needed(owner_client, space):
    response = register(owner_client, space, events=())

    assert response.status_code == 200
    assert not Webhook.objects.exists()


def test_the_list_shows_each_webhooks_last_calls(owner_client, space):
    webhook = WebhookFactory(space=space)
    call = webhooks.send_test_event(webhook=webhook)
    WebhookCall.objects.filter(pk=call.pk).update(
        status=WebhookCallStatus.RETRYING,
        attempts=2,
        response_status=503,
        last_error="HTTP 503: try later",
    )

    html = owner_client.get(page(space)).content.decode()

    assert "Retrying" in html
    assert "503" in html
    assert "HTTP 503: try later" in html
    assert webhook.secret not in html


def test_send_a_test_event_queues_one_call(owner_client, space):
    webhook = WebhookFactory(space=space)

    response = owner_client.post(action("space-webhook-test", webhook))

    assert response.status_code == 302
    (call,) = webhook.calls.all()
    assert call.event == webhooks.TEST_EVENT
    assert call.status == WebhookCallStatus.PENDING


def test_a_webhook_can_be_disabled_enabled_and_deleted(owner_client, space):
    webhook = WebhookFactory(space=space)

    owner_client.post(action("space-webhook-active", webhook))
    webhook.refresh_from_db()
    assert not webhook.active
    owner_client.post(action("space-webhook-active", webhook))
    webhook.refresh_from_db()
    assert webhook.active
    owner_client.post(action("space-webhook-delete", webhook))
    assert not Webhook.objects.exists()


def test_a_space_has_a_bounded_number_of_webhooks(owner_client, space):
    WebhookFactory.create_batch(10, space=space)

    response = register(owner_client, space)

    assert response.status_code == 200
    assert Webhook.objects.count() == 10


@pytest.mark.parametrize(
    "name", ["space-webhook-active", "space-webhook-delete", "space-webhook-test"]
)
def test_another_spaces_webhook_is_not_found(owner_client, other_space, name):
    theirs = WebhookFactory(space=other_space)

    assert owner_client.post(action(name, theirs)).status_code == 404
    assert owner_client.get(action("space-webhook-created", theirs)).status_code == 404
    assert Webhook.objects.filter(pk=theirs.pk, active=True).exists()


def test_another_spaces_page_is_not_found(owner_client, other_space):
    assert owner_client.get(page(other_space)).status_code == 404


def test_a_viewer_sees_the_page_but_cannot_change_it(space):
    viewer = client_for(space, Role.VIEWER)
    webhook = WebhookFactory(space=space)

    html = viewer.get(page(space)).content.decode()
    assert webhook.url in html
    assert "Register a webhook" not in html
    assert register(viewer, space).status_code == 403
    for name in ["space-webhook-active", "space-webhook-delete", "space-webhook-test"]:
        assert viewer.post(action(name, webhook)).status_code == 403
    webhook.refresh_from_db()
    assert webhook.active and not webhook.calls.exists()


def test_the_space_menu_links_the_webhooks_page(owner_client, space):
    html = owner_client.get(page(space)).content.decode()

    assert f'<a href="{page(space)}" class="active"' in html
    assert all(e.label in html for e in WebhookEvent)
