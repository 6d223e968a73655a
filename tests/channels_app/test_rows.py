"""Bulk rows: inserted and updated as save() would store them, with one statement each."""

import uuid

import pytest

from channels_app import rows
from channels_app.models import Delivery, DeliveryStatus, Message
from tests.factories import DeviceFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_insert_values_fills_what_a_row_leaves_out_with_the_fields_defaults(space, profile):
    message = MessageFactory(space=space)
    devices = DeviceFactory.create_batch(2, space=space, profile=profile)
    ids = [uuid.uuid4(), uuid.uuid4()]

    rows.inserting_values(
        Delivery,
        [
            {"id": pk, "message_id": message.pk, "device_id": device.pk, "platform": "ios"}
            for pk, device in zip(ids, devices, strict=True)
        ],
    ).run()

    stored = list(Delivery.objects.filter(message=message))
    assert {(d.pk, d.device_id) for d in stored} == {
        (pk, device.pk) for pk, device in zip(ids, devices, strict=True)
    }
    assert {(d.status, d.attempts, d.reason, d.next_attempt_at) for d in stored} == {
        (DeliveryStatus.PENDING, 0, "", None)
    }
    assert stored[0].created_at == stored[1].created_at == stored[0].updated_at


def test_insert_values_calls_a_callable_default_for_every_row(space):
    rows.inserting_values(
        Message, [{"space_id": space.pk, "title": t} for t in ("a", "b", "c")]
    ).run()

    assert Message.objects.filter(space=space).values("id").distinct().count() == 3


def test_insert_stores_model_instances_and_stamps_their_timestamps(space):
    messages = [Message(space=space, title="t", metadata={"k": [1, 2]}), Message(space=space)]

    rows.inserting(messages).run()

    stored = {m.pk: m for m in Message.objects.filter(space=space)}
    assert stored[messages[0].pk].metadata == {"k": [1, 2]}
    assert stored[messages[1].pk].metadata == {}
    assert messages[0].created_at is not None
    assert stored[messages[0].pk].created_at == messages[0].created_at


def test_update_writes_only_the_rows_whose_where_fields_still_match(space, profile):
    message = MessageFactory(space=space)
    token = uuid.uuid4()
    held, lost = (
        Delivery.objects.create(
            message=message,
            device=DeviceFactory(space=space, profile=profile),
            platform="ios",
            claim_token=claim,
        )
        for claim in (token, uuid.uuid4())
    )
    for delivery in (held, lost):
        delivery.status = DeliveryStatus.DELIVERED

    rows.updating([held, lost], ["status"], where={"claim_token": token}).run()

    assert Delivery.objects.get(pk=held.pk).status == DeliveryStatus.DELIVERED
    assert Delivery.objects.get(pk=lost.pk).status == DeliveryStatus.PENDING


def test_more_rows_than_one_statement_takes_go_in_several(space, profile, monkeypatch):
    monkeypatch.setattr(rows, "_max_params", lambda connection: 40)  # two or three rows each
    message = MessageFactory(space=space)
    held = [
        Delivery(id=uuid.uuid4(), message=message, device=device, platform="ios")
        for device in DeviceFactory.create_batch(25, space=space, profile=profile)
    ]
    rows.inserting(held).run()
    for delivery in held:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.DELIVERED, None

    rows.updating(held, ["status", "next_attempt_at"], where={"message_id": message.pk}).run()

    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 25


@pytest.mark.parametrize("n", [1, 7, 63, 64, 500, 1000, 4097])
def test_statements_take_a_few_fixed_sizes_whatever_the_count(n):
    sizes = list(rows._sizes(n, 64))

    assert sum(sizes) == n
    assert set(sizes) <= {64, 32, 16, 8, 4, 2, 1}
    assert len(sizes) <= n // 64 + 6


def test_a_value_is_prepared_as_its_field_prepares_it_even_when_remembered():
    from django.db import connection

    from channels_app.models import FcmCredential

    secret = rows._preparer(FcmCredential._meta.get_field("service_account_json"), connection)
    title = rows._preparer(Message._meta.get_field("title"), connection)
    rules = rows._preparer(Message._meta.get_field("rules"), connection)

    assert secret(["{}", "{}"])[0] != "{}"  # a text field that encrypts is never taken as is
    assert title(["Hello", "there"]) == ["Hello", "there"]
    flat, again = rules([["nativePush"], ["nativePush"]])
    assert again is flat  # remembered by its items
    nested, other = rules([[{"nested": [1]}], [{"nested": [1]}]])
    assert nested == other and nested is not other  # prepared every time
    shared = {"k": "v"}
    assert rules([shared] * 3) == [rules([{"k": "v"}])[0]] * 3  # one object: prepared once


def test_rows_a_unique_constraint_holds_are_skipped_when_asked(space):
    from channels_app.models import CampaignRecipient
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(space=space)
    audience = [{"campaign_id": campaign.pk, "profile_id": p} for p in ("a", "b", "a")]

    rows.inserting_values(CampaignRecipient, audience, skip_conflicts=True).run()
    rows.inserting_values(CampaignRecipient, audience[1:], skip_conflicts=True).run()

    stored = CampaignRecipient.objects.filter(campaign=campaign)
    assert sorted(stored.values_list("profile_id", flat=True)) == ["a", "b"]


def test_json_values_equal_in_python_but_not_in_json_each_keep_their_own(space):
    # 1 == True == 1.0 in Python; in JSON 1, true and 1.0 are three values.
    values = [{"flag": 1}, {"flag": True}, {"flag": 1.0}, [0], [False], ["a", 1], ["a", True]]
    messages = [Message(space=space, metadata=value) for value in values]

    rows.inserting(messages).run()

    stored = {m.pk: m.metadata for m in Message.objects.filter(space=space)}
    assert [type(stored[m.pk]) for m in messages] == [type(v) for v in values]
    for message, value in zip(messages, values, strict=True):
        got = stored[message.pk]
        items = got.values() if isinstance(got, dict) else got
        expected = value.values() if isinstance(value, dict) else value
        assert [type(x) for x in items] == [type(x) for x in expected], (value, got)


def test_a_tuple_bound_for_json_is_told_apart_by_its_items_classes_too():
    from django.db import connection

    rules = rows._preparer(Message._meta.get_field("rules"), connection)

    one, true = rules([("a", 1), ("a", True)])

    assert one != true
