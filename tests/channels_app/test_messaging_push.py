"""The alert of a message goes as a native push to participants without an open socket."""

import pytest

from channels_app.messaging import presence
from channels_app.models import Delivery, Message
from sessions_app.models import Profile
from tests.channels_app.messaging_flows import create, send, sessions
from tests.factories import AppMessagingAuthFactory, DeviceFactory

pytestmark = pytest.mark.django_db

ALERT = {
    "text": "Hi",
    "platforms": {
        "apns": {"badge": 1, "sound": "ping.aiff", "alert": "hello", "payload": {"k": "v"}},
        "fcm": {"notification": {"title": "Chat", "body": "hello"}},
    },
}


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


def test_an_offline_participant_gets_the_alert_as_a_push_and_the_sender_none(auth):
    alice, _ = sessions(auth, "alice", "bob")
    bob_device = DeviceFactory(space=auth.space, profile=Profile.objects.get(profile_id="bob"))
    DeviceFactory(space=auth.space, profile=Profile.objects.get(profile_id="alice"))
    create(alice, auth.space_id, participants=[{"id": "bob"}])
    sent = send(alice, auth.space_id, alert=ALERT).json()
    push = Message.objects.get()
    assert push.to == {"profileId": "bob"}
    assert (push.title, push.body, push.badge, push.sound) == ("Chat", "hello", 1, "ping.aiff")
    assert push.extras == {"conversationId": "c1", "messageId": sent["id"]}
    assert push.apns_data == {"k": "v"}
    assert list(Delivery.objects.values_list("device_id", flat=True)) == [bob_device.pk]


def test_no_push_without_an_alert_or_to_a_profile_with_an_open_socket(auth):
    alice, _ = sessions(auth, "alice", "bob")
    DeviceFactory(space=auth.space, profile=Profile.objects.get(profile_id="bob"))
    create(alice, auth.space_id, participants=[{"id": "bob"}])
    send(alice, auth.space_id)
    presence.socket_opened(space_id=auth.space_id, profile_id="bob")
    send(alice, auth.space_id, alert=ALERT)
    assert not Message.objects.exists()
