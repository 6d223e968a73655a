"""The SDK's conversation and participant routes."""

import pytest

from channels_app.messaging.models import Conversation, Participant
from tests.channels_app.messaging_flows import conv_url, create, sessions
from tests.factories import AppMessagingAuthFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


def test_creating_a_conversation_answers_201_with_an_etag_and_makes_the_creator_owner(auth):
    (alice,) = sessions(auth, "alice")
    response = create(alice, auth.space_id, participants=[{"id": "bob"}])
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "c1" and body["name"] == "Support" and body["isPublic"] is False
    assert body["roles"]["participant"]["canSend"] is True
    assert response["ETag"].startswith('"') and response["ETag"] == body["_etag"]
    roles = dict(Participant.objects.values_list("profile_id", "role"))
    assert roles == {"alice": "owner", "bob": "participant"}


def test_a_duplicate_conversation_id_answers_409(auth):
    (alice,) = sessions(auth, "alice")
    create(alice, auth.space_id)
    response = create(alice, auth.space_id)
    assert response.status_code == 409
    assert response.json()["code"] == "conversation_exists"


def test_a_participant_reads_the_conversation_and_a_stranger_gets_403_not_401(auth):
    alice, bob, eve = sessions(auth, "alice", "bob", "eve")
    create(alice, auth.space_id, participants=[{"id": "bob"}])
    assert bob.get(conv_url(auth.space_id, "c1")).status_code == 200
    response = eve.get(conv_url(auth.space_id, "c1"))
    assert response.status_code == 403
    assert response.json()["code"] == "conversation_participant_required"


def test_anyone_in_the_space_reads_a_public_conversation(auth):
    alice, eve = sessions(auth, "alice", "eve")
    create(alice, auth.space_id, isPublic=True)
    assert eve.get(conv_url(auth.space_id, "c1")).status_code == 200
    listed = eve.get(conv_url(auth.space_id) + "?scope=public").json()
    assert [c["id"] for c in listed] == ["c1"]
    assert eve.get(conv_url(auth.space_id)).json() == []


def test_another_spaces_conversation_answers_404(auth, other_space):
    other = AppMessagingAuthFactory(space=other_space)
    (alice,) = sessions(auth, "alice")
    (mallory,) = sessions(other, "alice")
    create(alice, auth.space_id)
    response = mallory.get(conv_url(other_space.id, "c1"))
    assert response.status_code == 404
    assert response.json()["code"] == "conversation_not_found"
    assert mallory.delete(conv_url(other_space.id, "c1")).status_code == 404


def test_the_list_holds_the_callers_conversations_with_their_latest_event(auth):
    alice, bob = sessions(auth, "alice", "bob")
    create(alice, auth.space_id, "c1", participants=[{"id": "bob"}])
    create(alice, auth.space_id, "c2")
    for query in ("", "?scope=participant&", "?scope=1&", "?profileId=bob"):
        listed = bob.get(conv_url(auth.space_id) + query).json()
        assert [c["id"] for c in listed] == ["c1"], query
    assert "latestSentEventId" not in listed[0]
    assert listed[0]["participantCount"] == 2 and listed[0]["_etag"]
    alice.post(conv_url(auth.space_id, "c1", "/messages"), {"parts": []}, format="json")
    listed = bob.get(conv_url(auth.space_id)).json()
    assert listed[0]["latestSentEventId"] == 1


def test_an_update_with_the_current_etag_succeeds_and_a_stale_one_answers_412(auth):
    (alice,) = sessions(auth, "alice")
    etag = create(alice, auth.space_id).json()["_etag"]
    body = {"name": "Renamed", "isPublic": True, "roles": {}}
    response = alice.put(conv_url(auth.space_id, "c1"), body, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed" and response.json()["isPublic"] is True
    assert response["ETag"] != etag
    stale = alice.put(conv_url(auth.space_id, "c1"), body, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["code"] == "conversation_etag_mismatch"
    unconditional = alice.put(conv_url(auth.space_id, "c1"), {"name": "X"}, format="json")
    assert unconditional.status_code == 200 and unconditional.json()["description"] == ""


def test_only_an_owner_updates_or_deletes(auth):
    alice, bob = sessions(auth, "alice", "bob")
    create(alice, auth.space_id, participants=[{"id": "bob"}])
    assert bob.put(conv_url(auth.space_id, "c1"), {"name": "x"}, format="json").status_code == 403
    assert bob.delete(conv_url(auth.space_id, "c1")).status_code == 403
    assert alice.delete(conv_url(auth.space_id, "c1")).status_code == 204
    assert not Conversation.objects.exists()
    assert alice.get(conv_url(auth.space_id, "c1")).status_code == 404


def test_participants_are_listed_added_and_removed_by_repeated_or_comma_ids(auth):
    alice, eve = sessions(auth, "alice", "eve")
    create(alice, auth.space_id)
    url = conv_url(auth.space_id, "c1", "/participants")
    added = alice.post(url, [{"id": "bob"}, {"id": "carol", "role": "member"}], format="json")
    assert added.status_code == 201
    assert alice.get(url).json() == [
        {"id": "alice", "role": "owner"},
        {"id": "bob", "role": "participant"},
        {"id": "carol", "role": "participant"},
    ]
    assert eve.get(url).status_code == 403
    assert alice.delete(url + "?id=bob&id=carol").status_code == 204
    alice.post(url, [{"id": "bob"}, {"id": "c+d@x.com"}], format="json")
    assert alice.delete(url + "?id=bob,c+d@x.com").status_code == 204
    assert alice.get(url).json() == [{"id": "alice", "role": "owner"}]


def test_a_role_without_the_privilege_cannot_add_or_remove_but_may_leave(auth):
    alice, bob = sessions(auth, "alice", "bob")
    limited = {"canSend": True, "canAddParticipants": False, "canRemoveParticipants": False}
    create(alice, auth.space_id, roles={"participant": limited}, participants=[{"id": "bob"}])
    url = conv_url(auth.space_id, "c1", "/participants")
    response = bob.post(url, [{"id": "carol"}], format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "conversation_privilege_missing"
    assert bob.delete(url + "?id=alice").status_code == 403
    assert bob.delete(url + "?id=bob").status_code == 204


def test_typing_answers_204_for_participants_and_403_for_strangers(auth):
    alice, eve = sessions(auth, "alice", "eve")
    create(alice, auth.space_id)
    url = conv_url(auth.space_id, "c1", "/typing")
    assert alice.post(url, {}, format="json").status_code == 204
    assert alice.delete(url).status_code == 204
    assert eve.post(url, {}, format="json").status_code == 403
