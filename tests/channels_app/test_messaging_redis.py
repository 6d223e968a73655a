"""App Messaging across processes: two daphne processes share socket events through Redis."""

import json

import httpx
import pytest
from websockets.sync.client import connect

from tests.asgi_servers import AsgiServer
from tests.channels_app.messaging_flows import conv_url, create
from tests.channels_app.processes import SQLITE
from tests.factories import AppMessagingAuthFactory
from tests.services import redis_url
from tests.sessions_app.flows import open_session

# On SQLite the test database lives in this process's memory; see shared_database.
pytestmark = [pytest.mark.services] + ([] if SQLITE else [pytest.mark.django_db(transaction=True)])


def channel_layer_url() -> str:
    """The machine's Redis, on a database number of these tests' own."""
    return redis_url().rsplit("/", 1)[0] + "/13"


def test_a_message_sent_through_one_process_reaches_a_socket_on_another(asgi_server):
    layer = channel_layer_url()
    first: AsgiServer = asgi_server(PUSHPORT_CHANNEL_LAYER_URL=layer)
    second: AsgiServer = asgi_server(PUSHPORT_CHANNEL_LAYER_URL=layer)
    auth = AppMessagingAuthFactory()
    alice, alice_session = open_session(auth, profile_id="alice")
    bob, _ = open_session(auth, profile_id="bob")
    assert create(alice, auth.space_id, participants=[{"id": "bob"}]).status_code == 201
    bob_token = bob._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    space = auth.space_id

    with connect(f"{second.ws_url}/apispaces/{space}/socket?token={bob_token}") as socket:
        sent = httpx.post(
            first.url + conv_url(space, "c1", "/messages"),
            json={"parts": [{"data": "across", "size": 6, "type": "text/plain"}]},
            headers={"Authorization": alice._credentials["HTTP_AUTHORIZATION"]},
            timeout=10,
        )
        assert sent.status_code == 200, sent.text
        frame = json.loads(socket.recv(timeout=5))

    assert frame["name"] == "conversationMessage.sent"
    assert frame["payload"]["messageId"] == sent.json()["id"]
    assert frame["payload"]["parts"][0]["data"] == "across"
    assert frame["context"]["createdBy"] == alice_session["profileId"]
