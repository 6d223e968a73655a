"""The One API's appMessaging rule: a send reaches the profile's conversation, or falls back
to nativePush, and the message records the channel and follows its status."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from channels_app.messaging.models import Conversation, ConversationMessage, Participant
from channels_app.models import Message
from portal.asgi import application
from tests.channels_app.messaging_flows import conv_url, create
from tests.factories import AppMessagingAuthFactory, DeviceFactory, ProfileFactory
from tests.sessions_app.flows import open_session

pytestmark = pytest.mark.django_db

RULES = ["appMessaging", "nativePush"]


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


@pytest.fixture
def api(api_key, django_capture_on_commit_callbacks):
    """A client with the space's API key; what waits for the commit runs at the commit."""

    class Api:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")

        def post(self, url, body):
            with django_capture_on_commit_callbacks(execute=True):
                return self.client.post(url, json.dumps(body), content_type="application/json")

        def get(self, url):
            return self.client.get(url)

    return Api()


def messages_url(space, suffix=""):
    return f"/apispaces/{space.pk}/messages{suffix}"


def one_api(profile_id="alice", **fields):
    return {"to": {"profileId": profile_id}, "rules": RULES, "body": "Your order shipped", **fields}


def token_of(client) -> str:
    return client._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]


def status_update(client, space_id, conversation_id, message_id, status):
    body = [{"messageIds": [message_id], "status": status, "timestamp": "2026-01-01T00:00:00Z"}]
    url = conv_url(space_id, conversation_id, "/messages/statusupdates")
    return client.post(url, body, format="json")


@pytest.mark.django_db(transaction=True)
def test_a_send_reaches_an_sdk_clients_socket_and_history_in_a_new_conversation(api, space, auth):
    alice, _ = open_session(auth, profile_id="alice")
    body = one_api(
        metadata={"order": 42},
        channelOptions={"appMessaging": {"from": {"profileId": "shop", "name": "The Shop"}}},
    )

    async def scenario():
        socket = WebsocketCommunicator(
            application, f"/apispaces/{space.pk}/socket?token={token_of(alice)}"
        )
        assert (await socket.connect())[0]
        response = await sync_to_async(api.post)(messages_url(space), body)
        added = [await socket.receive_json_from(timeout=2) for _ in range(2)]
        sent = await socket.receive_json_from(timeout=2)
        await socket.disconnect()
        return response, added, sent

    response, added, sent = async_to_sync(scenario)()

    assert response.status_code == 201, response.json()
    message = response.json()
    conversation_id = message["messageId"]
    assert message["status"] == "sent"
    assert message["statusDetails"] == {
        "channelId": "appMessaging",
        "conversationId": conversation_id,
    }
    assert message["channelOptions"]["appMessaging"] == {
        "from": {"profileId": "shop", "name": "The Shop"}
    }
    # participantAdded first: chat apps set the conversation up from it.
    assert [(f["name"], f["payload"]["profileId"]) for f in added] == [
        ("conversation.participantAdded", "shop"),
        ("conversation.participantAdded", "alice"),
    ]
    assert sent["name"] == "conversationMessage.sent"
    assert sent["conversationEventId"] == 1
    assert sent["payload"]["messageId"] == message["messageId"]
    assert sent["payload"]["context"]["from"] == {"id": "shop", "name": "The Shop"}
    assert sent["payload"]["parts"][0]["data"] == "Your order shipped"

    history = alice.get(conv_url(space.pk, conversation_id, "/messages")).json()
    assert [m["id"] for m in history["messages"]] == [message["messageId"]]
    assert history["messages"][0]["metadata"] == {"order": 42}
    assert history["messages"][0]["context"]["sentBy"].startswith("access:")
    listed = alice.get(conv_url(space.pk)).json()
    assert [c["id"] for c in listed] == [conversation_id]


@pytest.mark.django_db(transaction=True)
def test_a_profile_that_never_had_a_session_falls_back_to_native_push(
    api, space, auth, configured, iphone, apns_fake
):
    response = api.post(messages_url(space), one_api(title="Shipped"))

    assert response.status_code == 201, response.json()
    message = response.json()
    assert message["statusDetails"] == {"channelId": "nativePush"}
    assert message["status"] == "sent"
    assert message["counts"]["ios"]["sent"] == 1
    assert len(apns_fake.notifications) == 1
    assert apns_fake.notifications[0].payload["aps"]["alert"]["title"] == "Shipped"
    assert not Conversation.objects.exists()


def test_the_message_status_follows_the_recipients_delivered_and_read(api, space, auth):
    alice, _ = open_session(auth, profile_id="alice")
    shop, _ = open_session(auth, profile_id="shop")
    message = api.post(
        messages_url(space),
        one_api(channelOptions={"appMessaging": {"from": {"profileId": "shop"}}}),
    ).json()
    message_id, conversation_id = message["messageId"], message["statusDetails"]["conversationId"]

    # The sender's own updates are ignored, and so never move the message.
    status_update(shop, space.pk, conversation_id, message_id, "read")
    assert api.get(messages_url(space, f"/{message_id}")).json()["status"] == "sent"
    answer = status_update(alice, space.pk, conversation_id, message_id, "delivered")
    assert answer.status_code < 300
    assert api.get(messages_url(space, f"/{message_id}")).json()["status"] == "delivered"
    status_update(alice, space.pk, conversation_id, message_id, "read")
    assert api.get(messages_url(space, f"/{message_id}")).json()["status"] == "read"
    # Never backwards: a late delivered after read changes nothing.
    status_update(alice, space.pk, conversation_id, message_id, "delivered")
    assert Message.objects.get(pk=message_id).status == "read"


def test_a_given_conversation_id_is_created_once_and_then_appended_to(api, space, auth):
    open_session(auth, profile_id="alice")

    first = api.post(messages_url(space), one_api(conversationId="Acme_alice")).json()
    second = api.post(messages_url(space), one_api(conversationId="Acme_alice")).json()

    assert first["conversationId"] == "Acme_alice"
    assert second["statusDetails"]["conversationId"] == "Acme_alice"
    conversation = Conversation.objects.get()
    assert conversation.conversation_id == "Acme_alice"
    assert list(
        ConversationMessage.objects.order_by("sent_event_id").values_list("sent_event_id", "id")
    ) == [
        (1, Message.objects.get(pk=first["messageId"]).pk),
        (2, Message.objects.get(pk=second["messageId"]).pk),
    ]


def test_a_recipient_missing_from_an_existing_conversation_is_added(api, space, auth):
    bob, _ = open_session(auth, profile_id="bob")
    open_session(auth, profile_id="alice")
    create(bob, space.pk, "team")

    response = api.post(messages_url(space), one_api(conversationId="team"))

    assert response.json()["statusDetails"] == {
        "channelId": "appMessaging",
        "conversationId": "team",
    }
    roles = dict(Participant.objects.values_list("profile_id", "role"))
    assert roles == {"bob": "owner", "alice": "participant"}


def test_no_channel_accepting_fails_the_message_and_says_why(api, space):
    ProfileFactory(space=space, profile_id="alice")

    message = api.post(messages_url(space), one_api()).json()

    assert message["status"] == "failed"
    assert message["statusDetails"]["channelId"] is None
    reason = message["statusDetails"]["failureReason"]
    assert "appMessaging: the profile never opened" in reason
    assert "nativePush: the profile has no active device" in reason


def test_rules_are_tried_in_their_order(api, space, auth):
    open_session(auth, profile_id="alice")
    DeviceFactory(space=space, profile=ProfileFactory(space=space, profile_id="bob"))
    open_session(auth, profile_id="bob")

    message = api.post(messages_url(space), one_api("bob", rules=["nativePush", "appMessaging"]))

    assert message.json()["statusDetails"] == {"channelId": "nativePush"}
    assert not Conversation.objects.exists()


def test_a_session_in_another_space_does_not_make_app_messaging_accept(api, space, other_space):
    open_session(AppMessagingAuthFactory(space=other_space), profile_id="alice")

    message = api.post(messages_url(space), one_api(rules=["appMessaging"])).json()

    assert message["statusDetails"]["channelId"] is None
    assert not Conversation.objects.exists()


def test_a_batch_answers_each_messages_channel(api, space, auth):
    open_session(auth, profile_id="alice")
    DeviceFactory(space=space, profile=ProfileFactory(space=space, profile_id="carol"))

    response = api.post(messages_url(space, "/batch"), [one_api("alice"), one_api("carol")])

    assert response.status_code == 202, response.json()
    assert [item["statusDetails"]["channelId"] for item in response.json()] == [
        "appMessaging",
        "nativePush",
    ]
    first = Message.objects.get(pk=response.json()[0]["messageId"])
    assert ConversationMessage.objects.get().pk == first.pk


def test_message_parts_for_app_messaging_are_the_conversation_messages_parts(api, space, auth):
    open_session(auth, profile_id="alice")
    image = {"type": "image/png", "name": "box.png", "url": "https://cdn.example/box.png"}
    sms_only = {"type": "text/plain", "data": "Shipped", "channels": ["sms"]}
    text = {"type": "text/plain", "data": "Shipped", "size": 7, "channels": ["appMessaging"]}

    sent = api.post(messages_url(space), one_api(messageParts=[image, sms_only, text]))

    assert sent.status_code == 201, sent.json()
    assert sent.json()["messageParts"] == [image, sms_only, text]
    posted = ConversationMessage.objects.get()
    assert posted.parts == [image, {"type": "text/plain", "data": "Shipped", "size": 7}]


@pytest.mark.parametrize("field", ["customBody", "overrides"])
def test_a_comapi_field_pushport_does_not_support_is_refused_not_ignored(api, space, field):
    refused = api.post(messages_url(space), one_api(**{field: {"appMessaging": {}}}))

    assert refused.status_code == 400
    assert refused.json()["code"] == "unsupported_field"
    assert field in refused.json()["message"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "parts",
    [
        [{"name": "no type"}],
        [{"type": "text/plain", "size": -1}],
        "not a list",
        [{"type": "x" * 256}],
    ],
)
def test_malformed_message_parts_are_a_400_and_nothing_is_stored(api, space, parts):
    refused = api.post(messages_url(space), one_api(messageParts=parts))

    assert refused.status_code == 400
    assert refused.json()["code"] == "validation_error"
    assert "messageParts" in refused.json()["message"]
    assert not Message.objects.exists()
