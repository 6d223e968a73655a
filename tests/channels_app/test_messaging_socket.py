"""App Messaging's WebSocket: who gets which frame, and which tokens it refuses."""

import asyncio
import datetime as dt
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from channels_app.messaging import presence
from channels_app.messaging.socket import SESSION_EXPIRED_CLOSE_CODE
from portal.asgi import application
from sessions_app.models import Session
from tests.channels_app.messaging_flows import conv_url, create, send
from tests.factories import AppMessagingAuthFactory
from tests.sessions_app.flows import open_session

# The socket reads the database from other threads: the test data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


def connect(space_id, token):
    return WebsocketCommunicator(application, f"/apispaces/{space_id}/socket?token={token}")


def client_and_token(auth, profile_id):
    client, _ = open_session(auth, profile_id=profile_id)
    return client, client._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]


def test_a_participant_receives_the_sent_frame_and_a_stranger_nothing(auth):
    alice, _ = client_and_token(auth, "alice")
    _, bob_token = client_and_token(auth, "bob")
    _, eve_token = client_and_token(auth, "eve")
    create(alice, auth.space_id, participants=[{"id": "bob"}])

    async def scenario():
        bob = connect(auth.space_id, bob_token)
        eve = connect(auth.space_id, eve_token)
        assert (await bob.connect())[0] and (await eve.connect())[0]
        sent = await sync_to_async(send)(alice, auth.space_id, text="hi")
        frame = await bob.receive_json_from(timeout=2)
        assert frame["name"] == "conversationMessage.sent"
        assert frame["conversationEventId"] == 1 and frame["conversationId"] == "c1"
        assert frame["payload"]["messageId"] == sent.json()["id"]
        assert frame["payload"]["context"]["conversationId"] == "c1"
        assert frame["context"]["createdBy"] == "alice" and frame["publishedOn"]
        assert await eve.receive_nothing(timeout=0.3)
        await bob.send_json_to({"name": "echo", "payload": {}, "publishedOn": "x"})
        await bob.disconnect()
        await eve.disconnect()

    async_to_sync(scenario)()


def test_typing_reaches_the_others_with_the_conversation_id_in_the_payload(auth):
    alice, alice_token = client_and_token(auth, "alice")
    _, bob_token = client_and_token(auth, "bob")
    create(alice, auth.space_id, participants=[{"id": "bob"}])

    async def scenario():
        bob = connect(auth.space_id, bob_token)
        me = connect(auth.space_id, alice_token)
        assert (await bob.connect())[0] and (await me.connect())[0]
        url = conv_url(auth.space_id, "c1", "/typing")
        await sync_to_async(alice.post)(url, {}, format="json")
        frame = await bob.receive_json_from(timeout=2)
        assert frame["name"] == "conversation.participantTyping"
        assert frame["payload"] == {"conversationId": "c1", "profileId": "alice"}
        assert await me.receive_nothing(timeout=0.3)
        await bob.disconnect()
        await me.disconnect()

    async_to_sync(scenario)()


def test_a_socket_of_another_space_receives_nothing(auth, other_space):
    alice, _ = client_and_token(auth, "alice")
    _, bob_token = client_and_token(auth, "bob")
    _, other_bob_token = client_and_token(AppMessagingAuthFactory(space=other_space), "bob")
    create(alice, auth.space_id, participants=[{"id": "bob"}])

    async def scenario():
        other = connect(other_space.id, other_bob_token)
        assert (await other.connect())[0]
        await sync_to_async(send)(alice, auth.space_id)
        assert await other.receive_nothing(timeout=0.3)
        await other.disconnect()
        # Another space's token on this space's socket is refused.
        crossed = connect(other_space.id, bob_token)
        assert not (await crossed.connect())[0]

    async_to_sync(scenario)()


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_a_bad_token_is_refused(auth, token):
    async def scenario():
        socket = connect(auth.space_id, token)
        connected, _ = await socket.connect()
        assert not connected

    async_to_sync(scenario)()


def test_an_ended_session_is_refused_as_rest_refuses_it(auth):
    _, token = client_and_token(auth, "alice")
    Session.objects.update(is_active=False)

    async def scenario():
        assert not (await connect(auth.space_id, token).connect())[0]

    async_to_sync(scenario)()


def test_an_open_socket_marks_its_profile_online_until_closed(auth):
    _, token = client_and_token(auth, "alice")

    async def scenario():
        socket = connect(auth.space_id, token)
        assert (await socket.connect())[0]
        assert presence.online(space_id=auth.space_id, profile_ids=["alice", "bob"]) == {"alice"}
        await socket.disconnect()

    async_to_sync(scenario)()
    assert presence.online(space_id=auth.space_id, profile_ids=["alice"]) == set()


def test_the_socket_closes_when_its_session_expires_so_the_sdk_signs_in_again(auth):
    _, token = client_and_token(auth, "alice")
    Session.objects.update(expires_at=timezone.now() + dt.timedelta(seconds=0.5))

    async def scenario():
        socket = connect(auth.space_id, token)
        assert (await socket.connect())[0]
        assert await socket.receive_nothing(timeout=0.2)
        closed = await socket.receive_output(timeout=2)
        assert closed == {"type": "websocket.close", "code": SESSION_EXPIRED_CLOSE_CODE}
        await socket.disconnect()

    async_to_sync(scenario)()
    assert presence.online(space_id=auth.space_id, profile_ids=["alice"]) == set()


def test_the_socket_closes_when_its_session_is_ended_and_other_sessions_stay_open(auth):
    alice, token = client_and_token(auth, "alice")
    _, other_token = client_and_token(auth, "alice")
    session_id = Session.objects.order_by("created_at").first().pk  # alice's first, `token`'s

    async def scenario():
        socket = connect(auth.space_id, token)
        other = connect(auth.space_id, other_token)
        assert (await socket.connect())[0] and (await other.connect())[0]
        signed_out = await sync_to_async(alice.delete)(
            f"/apispaces/{auth.space_id}/sessions/{session_id}"
        )
        assert signed_out.status_code == 204
        closed = await socket.receive_output(timeout=2)
        assert closed == {"type": "websocket.close", "code": SESSION_EXPIRED_CLOSE_CODE}
        assert await other.receive_nothing(timeout=0.3)
        await socket.disconnect()
        await other.disconnect()

    async_to_sync(scenario)()


def test_frames_and_echoes_do_not_wait_for_the_thread_that_runs_database_calls(auth):
    # Views and database calls of the process share one thread; a busy request there must
    # not hold up the frames it publishes, nor the echoes that renew presence.
    from channels.layers import get_channel_layer

    from channels_app.messaging.events import EVENT_TYPE, group_for

    _, bob_token = client_and_token(auth, "bob")
    busy, release = threading.Event(), threading.Event()

    def long_request():
        busy.set()
        release.wait(10)

    async def scenario():
        bob = connect(auth.space_id, bob_token)
        assert (await bob.connect())[0]
        request = asyncio.ensure_future(sync_to_async(long_request)())
        await sync_to_async(busy.wait, thread_sensitive=False)(5)
        try:
            group = group_for(space_id=auth.space_id, profile_id="bob")
            frame = {"name": "conversationMessage.sent"}
            await get_channel_layer().group_send(group, {"type": EVENT_TYPE, "frame": frame})
            assert await bob.receive_json_from(timeout=2) == frame
            await bob.send_json_to({"name": "echo", "payload": {}, "publishedOn": "x"})
            assert await bob.receive_nothing(timeout=0.3)
        finally:
            release.set()
            await request
        await bob.disconnect()

    async_to_sync(scenario)()
