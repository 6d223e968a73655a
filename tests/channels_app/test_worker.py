"""A real Celery worker process, fed through Redis, sending to the fakes over real sockets."""

import json

import pytest
from django.db import transaction

from channels_app import sending
from channels_app.models import Delivery, DeliveryStatus, MessageStatus, Platform
from tests.channels_app.processes import SQLITE
from tests.factories import (
    ApiSpaceFactory,
    ApnsTokenCredentialFactory,
    DeviceFactory,
    FcmCredentialFactory,
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
    space = ApiSpaceFactory()
    apns = ApnsTokenCredentialFactory(space=space)
    apns_fake.register_key(
        key_id=apns.key_id,
        team_id=apns.team_id,
        private_or_public_key=apns.key_p8,
        topics=[apns.bundle_id],
    )
    account = fcm_fake.service_account(project_id="pushport-worker")
    FcmCredentialFactory(
        space=space,
        project_id=account["project_id"],
        client_email=account["client_email"],
        service_account_json=json.dumps(account),
    )
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
