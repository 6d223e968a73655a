"""The /cpaas twins of the conversation routes: a back end with an API key acts as the space."""

import pytest
from rest_framework.test import APIClient

from channels_app.messaging.models import Participant
from portal.apikeys import create_api_key
from tests.channels_app.messaging_flows import conv_url, create, send, sessions
from tests.factories import AppMessagingAuthFactory
from tests.sessions_app.flows import basic

pytestmark = pytest.mark.django_db

NO_PRIVILEGES = dict.fromkeys(("canSend", "canAddParticipants", "canRemoveParticipants"), False)


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


@pytest.fixture
def server(space):
    """A back end's client: Basic credentials with a key of the space that has send."""
    key, secret = create_api_key(space=space, name="back end")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(space.id, secret))
    client.key = key
    return client


def cpaas(conversation_id="", suffix="") -> str:
    url = "/cpaas/conversations"
    if conversation_id:
        url += f"/{conversation_id}"
    return url + suffix


def test_a_back_end_creates_a_conversation_without_joining_it(server):
    body = {
        "id": "c1",
        "name": "Support",
        "isPublic": False,
        "roles": {"owner": NO_PRIVILEGES, "participant": NO_PRIVILEGES},
        "participants": [{"id": "alice", "role": "owner"}, {"id": "bob"}],
    }
    response = server.post(cpaas(), body, format="json")
    assert response.status_code == 201, response.content
    assert response["ETag"] == response.json()["_etag"]
    assert response.json()["_createdBy"] == f"access:{server.key.id}"
    roles = dict(Participant.objects.values_list("profile_id", "role"))
    assert roles == {"alice": "owner", "bob": "participant"}
    assert server.post(cpaas(), body, format="json").status_code == 409


def test_a_back_end_reads_lists_and_changes_a_private_conversation_it_is_not_in(auth, server):
    alice, bob = sessions(auth, "alice", "bob")
    create(alice, auth.space_id, "c1", participants=[{"id": "bob"}])
    create(bob, auth.space_id, "c2")
    listed = server.get(cpaas()).json()
    assert sorted(c["id"] for c in listed) == ["c1", "c2"]
    assert [c["id"] for c in server.get(cpaas() + "?profileId=alice").json()] == ["c1"]
    response = server.get(cpaas("c1"))
    assert response.status_code == 200
    etag = response["ETag"]
    update = {"name": "Renamed", "isPublic": False}
    response = server.put(cpaas("c1"), update, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["_updatedBy"] == f"access:{server.key.id}"
    assert server.put(cpaas("c1"), update, format="json", HTTP_IF_MATCH=etag).status_code == 412
    assert alice.get(conv_url(auth.space_id, "c1")).json()["name"] == "Renamed"
    assert server.delete(cpaas("c2")).status_code == 204
    assert bob.get(conv_url(auth.space_id, "c2")).status_code == 404


def test_a_back_end_manages_participants_whatever_the_roles_allow(auth, server):
    (alice,) = sessions(auth, "alice")
    roles = {"owner": NO_PRIVILEGES, "participant": NO_PRIVILEGES}
    create(alice, auth.space_id, "c1", roles=roles)
    response = server.post(cpaas("c1", "/participants"), [{"id": "bob"}], format="json")
    assert response.status_code == 201
    listed = server.get(cpaas("c1", "/participants")).json()
    assert listed == [{"id": "alice", "role": "owner"}, {"id": "bob", "role": "participant"}]
    assert server.delete(cpaas("c1", "/participants") + "?id=alice,bob").status_code == 204
    assert server.get(cpaas("c1", "/participants")).json() == []


def test_a_back_end_sends_from_the_profile_its_body_names(auth, server):
    alice, bob = sessions(auth, "alice", "bob")
    create(alice, auth.space_id, "c1", participants=[{"id": "bob"}])
    body = {
        "from": {"profileId": "agent", "name": "Support agent"},
        "parts": [{"data": "hello", "type": "text/plain", "size": 5}],
    }
    response = server.post(cpaas("c1", "/messages"), body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["eventId"] == 1
    page = bob.get(conv_url(auth.space_id, "c1", "/messages") + "?limit=10").json()
    (message,) = page["messages"]
    assert message["id"] == response.json()["id"]
    assert message["context"]["from"] == {"id": "agent", "name": "Support agent"}
    assert message["context"]["sentBy"] == f"access:{server.key.id}"


def test_without_a_from_the_message_is_from_the_back_end(auth, server):
    (alice,) = sessions(auth, "alice")
    create(alice, auth.space_id, "c1")
    server.post(cpaas("c1", "/messages"), {"parts": []}, format="json")
    page = server.get(cpaas("c1", "/messages") + "?limit=10").json()
    assert page["messages"][0]["context"]["from"] == {"id": f"access:{server.key.id}"}


def test_a_back_end_reads_events_posts_statuses_and_typing(auth, server):
    (alice,) = sessions(auth, "alice")
    create(alice, auth.space_id, "c1", participants=[{"id": "bob"}])
    message_id = send(alice, auth.space_id).json()["id"]
    update = [{"messageIds": [message_id], "status": "read", "timestamp": "2024-01-01T00:00:00Z"}]
    response = server.post(cpaas("c1", "/messages/statusupdates"), update, format="json")
    assert response.status_code == 200
    events = server.get(cpaas("c1", "/events") + "?from=1&limit=10").json()
    assert [e["name"] for e in events] == ["conversationMessage.sent", "conversationMessage.read"]
    assert server.post(cpaas("c1", "/typing"), {}, format="json").status_code == 204
    assert server.delete(cpaas("c1", "/typing")).status_code == 204


def test_another_spaces_key_reaches_nothing_of_this_space(auth, server, other_space):
    (alice,) = sessions(auth, "alice")
    create(alice, auth.space_id, "c1")
    theirs = create_api_key(space=other_space, name="theirs")[1]
    # Its key with this space's id is refused outright.
    response = APIClient().get(cpaas("c1"), HTTP_AUTHORIZATION=basic(auth.space_id, theirs))
    assert response.status_code == 401
    # With its own space's id, this space's conversation does not exist for it.
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=basic(other_space.id, theirs))
    response = other.get(cpaas("c1"))
    assert response.status_code == 404
    assert response.json()["code"] == "conversation_not_found"
    assert other.get(cpaas()).json() == []
    assert other.post(cpaas("c1", "/messages"), {"parts": []}, format="json").status_code == 404


def test_the_cpaas_routes_need_basic_credentials_and_the_send_scope(auth, space):
    assert APIClient().get(cpaas()).status_code == 401
    devices_only = create_api_key(space=space, name="devices", scopes=["devices"])[1]
    response = APIClient().get(cpaas(), HTTP_AUTHORIZATION=basic(space.id, devices_only))
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_scope_missing"
