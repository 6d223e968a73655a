"""The Messages pages: outcome counts per message, a message's deliveries filtered and paged."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from channels_app.models import DeliveryStatus
from channels_app.web.messages import outcome_counts
from portal.models import Role
from tests.factories import DeliveryFactory, DeviceFactory, MembershipFactory, MessageFactory

pytestmark = pytest.mark.django_db


def client_for(space, role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(space=space, role=role).user)
    return client


def list_url(space, query="") -> str:
    return reverse("space-messages", kwargs={"space_id": space.id}) + query


def message_url(message, query="") -> str:
    kwargs = {"space_id": message.space_id, "message_id": message.pk}
    return reverse("space-message", kwargs=kwargs) + query


def deliver(message, status, reason="", n=1):
    return [DeliveryFactory(message=message, status=status, reason=reason) for _ in range(n)]


def test_outcome_counts_group_the_page_messages_in_one_query(space):
    first, second = MessageFactory(space=space), MessageFactory(space=space)
    deliver(first, DeliveryStatus.DELIVERED, n=2)
    deliver(first, DeliveryStatus.INVALID_TOKEN, "Unregistered")
    deliver(second, DeliveryStatus.FAILED, "MessageTooBig")
    deliver(second, DeliveryStatus.RETRYING, "503")
    with CaptureQueriesContext(connection) as queries:
        counts = outcome_counts([first.pk, second.pk])
    assert len(queries) == 1
    assert counts[first.pk] == {
        "delivered": 2,
        "failed": 0,
        "invalid_token": 1,
        "pending": 0,
        "total": 3,
    }
    assert counts[second.pk] == {
        "delivered": 0,
        "failed": 1,
        "invalid_token": 0,
        "pending": 1,
        "total": 2,
    }


def test_a_viewer_sees_recent_messages_with_their_counts(space, other_space):
    mine = MessageFactory(space=space, title="Spring sale")
    deliver(mine, DeliveryStatus.DELIVERED, n=3)
    theirs = MessageFactory(space=other_space, title="Not yours")
    response = client_for(space, Role.VIEWER).get(list_url(space))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spring sale" in html and "Not yours" not in html
    assert message_url(theirs) not in html
    [row] = response.context["page"].rows
    assert row.outcomes["delivered"] == 3


def test_the_message_list_pages_by_keyset(space, owner_client, monkeypatch):
    monkeypatch.setattr("channels_app.web.messages.PAGE_SIZE", 2)
    messages = [MessageFactory(space=space, title=f"m{n}") for n in range(3)]
    page = owner_client.get(list_url(space)).context["page"]
    assert [m.title for m in page.rows] == ["m2", "m1"]
    older = owner_client.get(list_url(space, f"?after={page.next_cursor}")).context["page"]
    assert [m.pk for m in older.rows] == [messages[0].pk]


def test_the_message_page_filters_deliveries_by_status_and_reason(space, owner_client):
    message = MessageFactory(space=space)
    delivered = deliver(message, DeliveryStatus.DELIVERED)
    too_big = deliver(message, DeliveryStatus.FAILED, "MessageTooBig")
    quota = deliver(message, DeliveryStatus.FAILED, "QUOTA_EXCEEDED", n=2)

    def shown(query=""):
        response = owner_client.get(message_url(message, query))
        assert response.status_code == 200
        return {d.pk for d in response.context["page"].rows}

    assert shown() == {d.pk for d in delivered + too_big + quota}
    assert shown("?status=failed") == {d.pk for d in too_big + quota}
    assert shown("?status=failed&reason=MessageTooBig") == {too_big[0].pk}
    response = owner_client.get(message_url(message))
    assert response.context["reasons"] == [("QUOTA_EXCEEDED", 2), ("MessageTooBig", 1)]
    assert '<option value="QUOTA_EXCEEDED">' in response.content.decode()
    assert response.context["counts"]["ios"]["failed"] == 3


def test_the_message_deliveries_page_by_keyset_to_the_last_page(space, owner_client, monkeypatch):
    monkeypatch.setattr("channels_app.web.keyset.PAGE_SIZE", 2)
    message = MessageFactory(space=space)
    devices = [DeviceFactory(space=space) for _ in range(5)]
    for device in devices:
        DeliveryFactory(message=message, device=device)
    first = owner_client.get(message_url(message))
    page = first.context["page"]
    assert [d.device_id for d in page.rows] == [devices[4].pk, devices[3].pk]
    assert 'rel="next"' in first.content.decode()
    second = owner_client.get(message_url(message, f"?after={page.next_cursor}")).context["page"]
    assert [d.device_id for d in second.rows] == [devices[2].pk, devices[1].pk]
    last = owner_client.get(message_url(message, "?last=1")).context["page"]
    assert [d.device_id for d in last.rows] == [devices[1].pk, devices[0].pk]
    assert not last.has_next and last.has_previous


def test_another_space_message_answers_404(space, other_space, owner_client):
    assert owner_client.get(message_url(MessageFactory(space=other_space))).status_code == 404


def test_the_message_pages_show_the_channel_and_the_conversation(space, owner_client):
    chat = MessageFactory(
        space=space,
        rules=["appMessaging", "nativePush"],
        channel="appMessaging",
        status="read",
        channel_details={"conversationId": "Acme_alice"},
    )
    refused = MessageFactory(
        space=space,
        rules=["appMessaging"],
        channel="",
        status="failed",
        channel_details={"failureReason": "no channel accepted it (appMessaging: never)"},
    )

    listed = owner_client.get(list_url(space)).content.decode()
    assert "<th>Channel</th>" in listed and "App Messaging" in listed
    page = owner_client.get(message_url(chat)).content.decode()
    assert "App Messaging" in page and "Acme_alice" in page and "Read" in page
    page = owner_client.get(message_url(refused)).content.decode()
    assert "None accepted it" in page and "appMessaging: never" in page
