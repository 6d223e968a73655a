"""Accepting messages: deliveries per active device, chunks queued after commit, idempotency."""

import factory
import pytest

from channels_app import delivery, sending
from channels_app.models import Delivery, DeliveryStatus, Message, MessageStatus, Platform
from tests.factories import DeviceFactory, MessageFactory, ProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """The chunks sent (in process here, as without a broker; a worker's task sends the same)."""
    chunks = []
    original = delivery.deliver_chunk

    def spy(*, delivery_ids, **options):
        chunks.append(list(delivery_ids))
        return original(delivery_ids=delivery_ids, **options)

    monkeypatch.setattr(delivery, "deliver_chunk", spy)
    return chunks


def test_it_creates_a_pending_delivery_per_active_device_and_queues_after_commit(
    space, profile, queued, django_capture_on_commit_callbacks
):
    phone = DeviceFactory(space=space, profile=profile, platform=Platform.IOS)
    tablet = DeviceFactory(space=space, profile=profile, platform=Platform.ANDROID)
    DeviceFactory(space=space, profile=profile, active=False)
    message = MessageFactory(space=space, to={"profileId": profile.profile_id})

    with django_capture_on_commit_callbacks() as callbacks:
        sending.send(message=message)
        rows = {(d.device_id, d.platform, d.status) for d in Delivery.objects.all()}
        assert queued == []

    assert rows == {
        (phone.pk, "ios", DeliveryStatus.PENDING),
        (tablet.pk, "android", DeliveryStatus.PENDING),
    }
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(queued) == 1 and len(queued[0]) == 2


def test_a_profile_of_another_space_is_not_a_target(space, other_space, queued):
    DeviceFactory(space=other_space, profile=ProfileFactory(space=other_space, profile_id="bob"))
    message = MessageFactory(space=space, to={"profileId": "bob"})

    sending.send(message=message)

    assert not Delivery.objects.exists()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


def test_a_big_send_is_split_into_chunks(
    space, profile, settings, queued, django_capture_on_commit_callbacks
):
    settings.PUSHPORT_DELIVERY_CHUNK_SIZE = 2
    DeviceFactory.create_batch(5, space=space, profile=profile)
    message = MessageFactory(space=space, to={"profileId": profile.profile_id})

    with django_capture_on_commit_callbacks(execute=True):
        sending.send(message=message)

    assert [len(chunk) for chunk in queued] == [2, 2, 1]
    assert set(message.deliveries.values_list("reason", flat=True)) == {"channel not configured"}


def test_a_batch_of_a_thousand_messages_uses_bulk_inserts_and_one_task_per_chunk(
    space, settings, queued, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    settings.PUSHPORT_DELIVERY_CHUNK_SIZE = 500
    profiles = ProfileFactory.create_batch(1000, space=space)
    DeviceFactory.create_batch(1000, space=space, profile=factory.Iterator(profiles))
    messages = [Message(space=space, to={"profileId": p.profile_id}) for p in profiles]

    with django_assert_max_num_queries(60), django_capture_on_commit_callbacks() as callbacks:
        stored, created = sending.submit_batch(space=space, messages=messages)

    assert created and len(stored) == 1000
    assert Delivery.objects.count() == 1000
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
    assert [len(chunk) for chunk in queued] == [500, 500]


def test_an_idempotency_key_taken_meanwhile_answers_the_first_message(space, monkeypatch):
    first = MessageFactory(space=space, idempotency_key="k1")
    # Another request stored the key between our look-up and our insert.
    monkeypatch.setattr(sending, "_existing", _found_on_second_call(sending._existing))

    message, created = sending.submit(message=Message(space=space), idempotency_key="k1")

    assert (message.pk, created) == (first.pk, False)
    assert Message.objects.count() == 1


def _found_on_second_call(existing):
    calls = []

    def lookup(space, keys):
        calls.append(keys)
        return None if len(calls) == 1 else existing(space, keys)

    return lookup
