"""A real Celery worker process, fed through Redis, sending to the fakes over real sockets."""

import pytest
from django.db import transaction

from channels_app import sending
from channels_app.models import Delivery, DeliveryStatus, MessageStatus, Platform
from tests.channels_app.processes import SQLITE, trusted_space
from tests.factories import (
    DeviceFactory,
    MessageFactory,
    ProfileFactory,
)

# On SQLite the test database lives in this process's memory; see shared_database.
pytestmark = [pytest.mark.services] + ([] if SQLITE else [pytest.mark.django_db(transaction=True)])


def test_a_worker_process_delivers_a_send_through_redis_to_the_fakes(
    broker, make_workers, apns_fake, fcm_fake, settings
):
    settings.PUSHPORT_DELIVERY_CHUNK_SIZE = 2
    workers = make_workers(broker)
    worker = workers.start(beat=True, PUSHPORT_DELIVERY_CHUNK_SIZE=2)
    space = trusted_space(apns_fake, fcm_fake)
    profile = ProfileFactory(space=space, profile_id="alice")
    phones = DeviceFactory.create_batch(3, space=space, profile=profile, platform=Platform.IOS)
    tablet = DeviceFactory(space=space, profile=profile, platform=Platform.ANDROID)
    apns_fake.fail(phones[0].token, 503, "ServiceUnavailable", times=1)
    message = MessageFactory(space=space, to={"profileId": "alice"})

    with transaction.atomic():
        sending.send(message=message)

    def settled():
        message.refresh_from_db()
        return message.status != MessageStatus.PROCESSING

    workers.wait_until(settled, timeout=60, what="the send settling")
    deliveries = {d.device_id: d for d in Delivery.objects.filter(message=message)}
    assert message.status == MessageStatus.SENT
    assert {d.status for d in deliveries.values()} == {DeliveryStatus.DELIVERED}
    assert deliveries[phones[0].pk].attempts == 2
    assert sorted(n.token for n in apns_fake.notifications) == sorted(p.token for p in phones)
    assert len(fcm_fake.messages_for(tablet.token)) == 1
    assert worker.poll() is None
