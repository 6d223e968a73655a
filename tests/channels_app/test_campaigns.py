"""Campaigns: audience, test send, live send once per device, resume, throttle, schedule."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from channels_app import campaigns
from channels_app.campaigns import CampaignError
from channels_app.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Delivery,
    Message,
    Platform,
)
from tests.factories import CampaignFactory, DeviceFactory, ProfileFactory

pytestmark = pytest.mark.django_db


def message(**fields):
    return {"rules": ["nativePush"], "title": "Sale", "body": "Half price today", **fields}


def test_it_creates_a_draft_with_the_send_fields_and_no_to(space):
    campaign = campaigns.create_campaign(space=space, name="Spring", message=message())

    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.message == message()


def test_it_refuses_a_message_the_send_endpoint_would_refuse(space):
    with pytest.raises(CampaignError) as refused:
        campaigns.create_campaign(space=space, name="Bad", message={"rules": ["fax"]})

    assert refused.value.code == "validation_error"
    with pytest.raises(CampaignError) as refused:
        campaigns.create_campaign(space=space, name="Bad", message=message(to={"profileId": "a"}))
    assert refused.value.code == "message_has_to"


def test_a_send_time_makes_it_scheduled_and_removing_it_a_draft_again(space):
    campaign = campaigns.create_campaign(
        space=space, name="Later", message=message(), send_at=timezone.now()
    )
    assert campaign.status == CampaignStatus.SCHEDULED

    campaigns.update_campaign(campaign=campaign, send_at=None, name="Now")

    campaign.refresh_from_db()
    assert (campaign.status, campaign.name) == (CampaignStatus.DRAFT, "Now")


def test_it_adds_ids_once_and_removes_them(space):
    campaign = CampaignFactory(space=space)

    assert campaigns.add_recipients(campaign=campaign, profile_ids=["a", "b", " a "]) == 2
    assert campaigns.add_recipients(campaign=campaign, profile_ids=["b", "c"]) == 1
    assert campaigns.remove_recipients(campaign=campaign, profile_ids=["a", "zz"]) == 1
    assert campaigns.recipients_page(campaign=campaign, page=1, size=10) == (["b", "c"], 2)
    assert campaigns.recipients_page(campaign=campaign, page=2, size=1) == (["c"], 2)


def test_an_invalid_id_adds_nothing(space):
    campaign = CampaignFactory(space=space)

    with pytest.raises(CampaignError):
        campaigns.add_recipients(campaign=campaign, profile_ids=["a", "", "b"])

    assert not CampaignRecipient.objects.filter(campaign=campaign).exists()


def test_it_imports_100_000_ids_from_a_csv_in_one_call(space):
    campaign = CampaignFactory(space=space)
    text = "profile_id\n" + "".join(f"user-{n}\n" for n in range(100_000))

    added = campaigns.add_recipients(
        campaign=campaign, profile_ids=campaigns.iter_csv_ids(csv.reader(io.StringIO(text)))
    )

    assert added == 100_000
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 100_000


def _shared_devices(space):
    """Three profiles sharing two devices: alice, then bob, signed in on the phone (a token
    moves to the profile that registers it last), carol, then alice, on the tablet."""
    alice, bob, carol = (
        ProfileFactory(space=space, profile_id=p) for p in ("alice", "bob", "carol")
    )
    phone = DeviceFactory(space=space, profile=alice, platform=Platform.IOS)
    tablet = DeviceFactory(space=space, profile=carol, platform=Platform.ANDROID)
    phone.profile = bob
    phone.save()
    tablet.profile = alice
    tablet.save()
    return phone, tablet


@pytest.fixture
def live(django_capture_on_commit_callbacks):
    """Start a live send and run what it queues on commit (the store, the first chunks)."""

    def start(campaign):
        with django_capture_on_commit_callbacks(execute=True):
            return campaigns.start_live_send(campaign=campaign)

    return start


@pytest.mark.django_db(transaction=True)
def test_three_profiles_sharing_two_devices_get_two_deliveries(
    space, configured, apns_fake, fcm_fake, drain, live
):
    phone, tablet = _shared_devices(space)
    campaign = CampaignFactory(space=space)
    campaigns.add_recipients(campaign=campaign, profile_ids=["alice", "bob", "carol", "nobody"])

    live(campaign)
    drain()

    assert Delivery.objects.filter(message__campaign=campaign).count() == 2
    assert apns_fake.accepted_by_token() == {phone.token: 1}
    assert fcm_fake.accepted_by_token() == {tablet.token: 1}
    progress = campaigns.progress(campaign=campaign)
    assert (progress["status"], progress["sent"], progress["total"]) == ("sent", 2, 2)
    campaign.refresh_from_db()
    assert (
        campaign.sent
        and campaign.sent_at
        and campaign.sent_message.to == {"campaign": str(campaign.pk)}
    )


def test_a_second_live_send_is_refused(space, live):
    campaign = CampaignFactory(space=space)
    live(campaign)

    with pytest.raises(CampaignError) as refused:
        live(Campaign.objects.get(pk=campaign.pk))

    assert (refused.value.code, refused.value.status) == ("campaign_already_sent", 409)
    assert Message.objects.filter(to={"campaign": str(campaign.pk)}).count() == 1


def test_a_started_campaign_cannot_be_edited_nor_its_audience_changed(space, live):
    campaign = CampaignFactory(space=space)
    live(campaign)

    for change in (
        lambda: campaigns.update_campaign(campaign=campaign, name="x"),
        lambda: campaigns.add_recipients(campaign=campaign, profile_ids=["a"]),
        lambda: campaigns.remove_recipients(campaign=campaign, profile_ids=["a"]),
    ):
        with pytest.raises(CampaignError) as refused:
            change()
        assert refused.value.code == "campaign_not_editable"


def test_an_empty_audience_is_sent_at_once(space, live):
    campaign = live(CampaignFactory(space=space))

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_a_crash_mid_campaign_resumes_and_sends_each_device_exactly_once(
    space, configured, apns_fake, fcm_fake, drain, live, monkeypatch, settings
):
    profiles = [ProfileFactory(space=space, profile_id=f"p{n}") for n in range(7)]
    devices = [
        DeviceFactory(space=space, profile=p, platform=Platform.IOS if n % 2 else Platform.ANDROID)
        for n, p in enumerate(profiles)
    ]
    campaign = CampaignFactory(space=space)
    campaigns.add_recipients(campaign=campaign, profile_ids=[p.profile_id for p in profiles])
    monkeypatch.setattr(campaigns, "DELIVERY_BATCH", 3)
    real_batch, calls = campaigns._store_batch, []

    def crash_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("process killed")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(campaigns, "_store_batch", crash_on_the_second_batch)
    with pytest.raises(SystemExit):
        live(campaign)
    # The first batch was stored and sent; the process died before the rest.
    assert Delivery.objects.filter(message__campaign=campaign).count() == 3
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.started_at is None
    monkeypatch.setattr(campaigns, "_store_batch", real_batch)
    settings.PUSHPORT_DISPATCH_GRACE_SECONDS = 0

    later = timezone.now() + dt.timedelta(seconds=1)
    assert campaigns.run_campaigns(now=later)["resumed"] == 1
    drain()
    campaigns.run_campaigns()

    accepted = apns_fake.accepted_by_token() | fcm_fake.accepted_by_token()
    assert accepted == {device.token: 1 for device in devices}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_throttled_campaign_spreads_its_due_times_and_queues_only_the_first(
    space, live, monkeypatch
):
    queued = []
    monkeypatch.setattr(campaigns.tasks, "enqueue_or_leave", lambda ids: queued.extend(ids))
    for n in range(4):
        DeviceFactory(space=space, profile=ProfileFactory(space=space, profile_id=f"t{n}"))
    campaign = CampaignFactory(space=space, rate_per_minute=2)
    campaigns.add_recipients(campaign=campaign, profile_ids=[f"t{n}" for n in range(4)])

    live(campaign)

    campaign.refresh_from_db()
    base = campaign.sent_message.created_at
    rows = Delivery.objects.filter(message=campaign.sent_message).order_by("device_id")
    assert [(d.next_attempt_at - base).total_seconds() for d in rows] == [0, 30, 60, 90]
    assert [d.sweep_after for d in rows][1:] == [d.next_attempt_at for d in rows][1:]
    assert queued == [str(rows[0].pk)]


def test_the_scheduler_starts_a_due_campaign_only(space, django_capture_on_commit_callbacks):
    now = timezone.now()
    due = CampaignFactory(space=space, send_at=now, status=CampaignStatus.SCHEDULED)
    later = CampaignFactory(
        space=space, send_at=now + dt.timedelta(hours=1), status=CampaignStatus.SCHEDULED
    )

    with django_capture_on_commit_callbacks(execute=True):
        started = campaigns.start_due_campaigns(now=now)

    assert started == [str(due.pk)]
    later.refresh_from_db()
    assert later.status == CampaignStatus.SCHEDULED


@pytest.mark.django_db(transaction=True)
def test_a_test_send_goes_to_one_profile_and_leaves_the_campaign_unsent(
    space, configured, apns_fake, fcm_fake, iphone, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(space=space)

    with django_capture_on_commit_callbacks(execute=True):
        sent = campaigns.test_send(campaign=campaign, profile_id="alice")

    assert sent.to == {"profileId": "alice"}
    assert apns_fake.accepted_by_token() == {iphone.token: 1}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_it_tells_the_finished_listeners_once(space, live):
    heard = []
    campaigns.on_campaign_finished(heard.append)
    try:
        campaign = live(CampaignFactory(space=space))
        campaigns.run_campaigns()
    finally:
        campaigns._finished_listeners.remove(heard.append)

    assert [c.pk for c in heard] == [campaign.pk]
