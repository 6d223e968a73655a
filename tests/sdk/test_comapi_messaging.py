"""End to end: App Messaging with the real Comapi JS Foundation SDK, several users under Node,
against a daphne process serving the ASGI application (REST and the WebSocket)."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from channels_app.messaging.models import ConversationMessageStatus
from channels_app.messaging.socket import SESSION_EXPIRED_CLOSE_CODE
from portal.apikeys import create_api_key
from sessions_app.models import AnonymousTokenAccess, Session
from tests.channels_app.processes import SQLITE
from tests.factories import AppMessagingAuthFactory
from tests.services import node_binary

# On SQLite the test database lives in this process's memory; see shared_database.
pytestmark = [pytest.mark.services] + ([] if SQLITE else [pytest.mark.django_db(transaction=True)])

APP_ORIGIN = "http://app.example.test"


def run_scenario(sdk_dir: Path, scenario: str, *, server, auth) -> dict:
    """Run messaging.js's scenario; its JSON output, failing with it when the scenario did."""
    _, api_key = create_api_key(space=auth.space, name="app backend")
    result = subprocess.run(
        [node_binary(), "messaging.js"],
        cwd=sdk_dir,
        env={
            **os.environ,
            "PUSHPORT_URL": server.url,
            "PUSHPORT_WS_URL": server.ws_url,
            "PUSHPORT_SPACE_ID": str(auth.space_id),
            "PUSHPORT_API_KEY": api_key,
            "PUSHPORT_ORIGIN": APP_ORIGIN,
            "PUSHPORT_SCENARIO": scenario,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip(), f"{result.stderr}\n{server.log()}"
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, f"{output}\n{server.log()}"
    return output


def messaging_auth():
    return AppMessagingAuthFactory(
        anonymous_token_access=AnonymousTokenAccess.API_KEY, cors_origins=APP_ORIGIN
    )


def test_two_sdk_users_chat_in_real_time_and_page_the_whole_history(sdk_dir, asgi_server):
    server = asgi_server()
    auth = messaging_auth()

    output = run_scenario(sdk_dir, "chat", server=server, auth=auth)

    assert output["profiles"] == ["anon_alice", "anon_alice", "anon_bob"]
    added = output["participantAdded"]
    assert added["conversationId"] == "chat-1"
    assert added["profileId"] == "anon_bob" and added["createdBy"] == "anon_alice"
    sent = output["sent"]
    assert [each["eventId"] for each in sent] == [1, 2, 3, 4, 5]
    received = output["bobReceived"]
    assert received["conversationId"] == "chat-1" and received["conversationEventId"] == 1
    assert received["payload"]["parts"][0]["data"] == "message 1"
    assert received["payload"]["context"]["from"]["id"] == "anon_alice"
    # The sender's other tab hears its own message, as every socket of a participant does.
    assert output["aliceTabReceived"]["payload"]["messageId"] == sent[0]["id"]
    assert output["aliceOwnSent"] == 5

    # Newest first, two a page, down to the first message; then the SDK stops by itself.
    pages = output["pages"]
    assert [sorted(page["texts"]) for page in pages] == [
        ["message 4", "message 5"],
        ["message 2", "message 3"],
        ["message 1"],
    ]
    assert [page["continuationToken"] for page in pages] == [3, 1, 0]
    assert "have been loaded" in output["pastTheFirst"]

    read = output["aliceReadStatus"]
    assert read["name"] == "conversationMessage.read"
    assert read["payload"]["messageId"] == sent[4]["id"]
    assert read["payload"]["profileId"] == "anon_bob"
    # Paging marked every message delivered for Bob; the last one he then read.
    statuses = ConversationMessageStatus.objects.filter(profile_id="anon_bob")
    assert sorted(statuses.values_list("status", flat=True)) == ["delivered"] * 4 + ["read"]
    assert statuses.get(status="read").message_id == uuid.UUID(sent[4]["id"])

    assert output["bobTyping"]["conversationId"] == "chat-1"
    assert output["bobTyping"]["profileId"] == "anon_alice"
    assert output["bobTypingOff"]["profileId"] == "anon_alice"
    # Typing goes to the other participants only.
    assert output["aliceTyping"] == []


def test_an_expired_session_closes_the_socket_and_the_sdk_reconnects_with_a_new_one(
    sdk_dir, asgi_server
):
    server = asgi_server(PUSHPORT_SESSION_TOKEN_LIFETIME=4)
    auth = messaging_auth()

    output = run_scenario(sdk_dir, "reconnect", server=server, auth=auth)

    assert SESSION_EXPIRED_CLOSE_CODE in output["closeCodes"]
    first, second = output["firstSession"], output["secondSession"]
    assert second["id"] != first["id"] and second["profileId"] == first["profileId"]
    assert output["bobAuthChallenges"] == 2
    assert output["bobReceived"]["payload"]["messageId"] == output["sent"]["id"]
    assert Session.objects.get(pk=second["id"]).profile.profile_id == "anon_bob"
