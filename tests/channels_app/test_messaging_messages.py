"""Sending messages, the history paging contract, status updates and the events log."""

import pytest

from channels_app.messaging.models import ConversationEvent
from tests.channels_app.messaging_flows import conv_url, create, send, sessions
from tests.factories import AppMessagingAuthFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


@pytest.fixture
def pair(auth):
    alice, bob = sessions(auth, "alice", "bob")
    create(alice, auth.space_id, participants=[{"id": "bob"}])
    return alice, bob


def history(client, space_id, query):
    response = client.get(conv_url(space_id, "c1", "/messages") + query)
    assert response.status_code == 200, response.content
    return response.json()


def test_sending_answers_the_message_id_and_its_event_id_counted_from_1(auth, pair):
    alice, _ = pair
    first = send(alice, auth.space_id, metadata={"k": "v"}, alert={"text": "Hi", "platforms": {}})
    assert first.status_code == 200
    assert first.json()["eventId"] == 1 and len(first.json()["id"]) == 36
    assert send(alice, auth.space_id).json()["eventId"] == 2


def test_a_stranger_cannot_send_and_a_role_without_cansend_gets_403(auth, pair):
    alice, _ = pair
    (eve,) = sessions(auth, "eve")
    assert send(eve, auth.space_id).status_code == 403
    muted = {"canSend": False, "canAddParticipants": True, "canRemoveParticipants": True}
    create(alice, auth.space_id, "c2", roles={"participant": muted}, participants=[{"id": "bob"}])
    (bob,) = sessions(auth, "bob")
    response = send(bob, auth.space_id, "c2")
    assert response.status_code == 403
    assert response.json()["code"] == "conversation_privilege_missing"


def test_a_message_of_another_space_is_not_found(auth, pair, other_space):
    other = AppMessagingAuthFactory(space=other_space)
    (alice_elsewhere,) = sessions(other, "alice")
    assert send(alice_elsewhere, other_space.id).status_code == 404
    assert history(pair[0], auth.space_id, "?limit=5")["messages"] == []


def test_an_empty_conversation_has_an_empty_first_page(auth, pair):
    page = history(pair[1], auth.space_id, "?limit=10")
    assert page == {"earliestEventId": 0, "latestEventId": 0, "messages": [], "orphanedEvents": []}


def test_history_pages_backwards_as_the_sdk_asks_and_terminates(auth, pair):
    alice, bob = pair
    for n in range(5):
        send(alice, auth.space_id, text=f"m{n}")
    page = history(bob, auth.space_id, "?limit=2")
    assert [m["parts"][0]["data"] for m in page["messages"]] == ["m3", "m4"]
    assert (page["earliestEventId"], page["latestEventId"]) == (4, 5)
    assert page["orphanedEvents"] == [] and page["messages"][0]["statusUpdates"] == {}
    assert page["messages"][0]["context"]["from"]["id"] == "alice"
    seen = [m["parts"][0]["data"] for m in page["messages"]]
    token = page["earliestEventId"] - 1
    while token > 0:  # the SDK's own stop rule
        page = history(bob, auth.space_id, f"?limit=2&from={token}")
        seen = [m["parts"][0]["data"] for m in page["messages"]] + seen
        token = page["earliestEventId"] - 1
    assert seen == ["m0", "m1", "m2", "m3", "m4"]


def test_a_page_that_ends_on_the_first_message_stops_the_paging(auth, pair):
    alice, bob = pair
    send(alice, auth.space_id)
    send(alice, auth.space_id)
    page = history(bob, auth.space_id, "?limit=2")
    assert page["earliestEventId"] == 1 and len(page["messages"]) == 2


def test_status_updates_move_forward_only_and_are_numbered_events(auth, pair):
    alice, bob = pair
    mid = send(alice, auth.space_id).json()["id"]
    url = conv_url(auth.space_id, "c1", "/messages/statusupdates")
    at = "2016-10-19T11:52:29.704Z"
    for status in ("delivered", "read", "delivered", "read"):
        body = [{"messageIds": [mid, "not-a-message"], "status": status, "timestamp": at}]
        assert bob.post(url, body, format="json").status_code == 200
    # Statuses on one's own message are ignored.
    own = [{"messageIds": [mid], "status": "read", "timestamp": at}]
    assert alice.post(url, own, format="json").status_code == 200
    names = list(ConversationEvent.objects.order_by("event_id").values_list("event_id", "name"))
    assert names == [
        (1, "conversationMessage.sent"),
        (2, "conversationMessage.delivered"),
        (3, "conversationMessage.read"),
    ]
    page = history(alice, auth.space_id, "?limit=10")
    assert page["messages"][0]["statusUpdates"] == {"bob": {"status": "read", "on": at}}
    assert page["latestEventId"] == 3 and page["earliestEventId"] == 1


def test_a_status_update_body_that_is_not_a_list_answers_400(auth, pair):
    url = conv_url(auth.space_id, "c1", "/messages/statusupdates")
    assert pair[1].post(url, {"status": "read"}, format="json").status_code == 400


def test_the_events_log_returns_socket_shaped_frames_from_an_id(auth, pair):
    alice, bob = pair
    mid = send(alice, auth.space_id).json()["id"]
    send(alice, auth.space_id)
    url = conv_url(auth.space_id, "c1", "/events")
    frames = bob.get(url + "?from=2&limit=10").json()
    assert [f["conversationEventId"] for f in frames] == [2]
    frames = bob.get(url + "?from=1&limit=1").json()
    assert frames[0]["name"] == "conversationMessage.sent"
    assert frames[0]["payload"]["messageId"] == mid
    assert frames[0]["payload"]["context"]["conversationId"] == "c1"
    assert frames[0]["context"]["createdBy"] == "alice"
    (eve,) = sessions(auth, "eve")
    assert eve.get(url + "?from=1&limit=1").status_code == 403
    assert bob.get(url + "?from=undefined&limit=1").json()["code"] == "query_invalid"
