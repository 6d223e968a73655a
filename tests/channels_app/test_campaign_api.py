"""The campaigns server API: scoped to the API key's space, every error with a stable code."""

import json

import pytest
from django.test import Client

from channels_app.models import Campaign, CampaignRecipient, CampaignStatus, Delivery, Platform
from portal.apikeys import create_api_key
from tests.factories import CampaignFactory, DeviceFactory, ProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_key, django_capture_on_commit_callbacks):
    class Api:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")

        def call(self, method, url, body=None):
            with django_capture_on_commit_callbacks(execute=True):
                if method == "get":
                    return self.client.get(url)
                raw = json.dumps(body) if body is not None else ""
                return getattr(self.client, method)(url, raw, content_type="application/json")

        def get(self, url, **params):
            return self.client.get(url, params)

    return Api()


def url(space, suffix=""):
    return f"/apispaces/{space.pk}/campaigns{suffix}"


MESSAGE = {"rules": ["nativePush"], "title": "Sale", "body": "Half price"}


def test_it_creates_reads_edits_and_deletes_a_campaign(api, space):
    created = api.call("post", url(space), {"name": "Spring", "message": MESSAGE})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["sent"], body["audience"]) == ("draft", False, 0)
    one = url(space, f"/{body['campaignId']}")

    edited = api.call("patch", one, {"name": "Summer", "ratePerMinute": 600})
    assert edited.status_code == 200
    assert (edited.json()["name"], edited.json()["ratePerMinute"]) == ("Summer", 600)
    assert api.get(one).json()["message"] == MESSAGE

    assert api.call("delete", one).status_code == 204
    assert api.get(one).status_code == 404


def test_an_invalid_message_is_a_400_with_a_stable_code(api, space):
    response = api.call("post", url(space), {"name": "x", "message": {"rules": ["fax"]}})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    missing = api.call("post", url(space), {"message": MESSAGE})
    assert missing.json()["code"] == "validation_error"


def test_it_lists_all_or_only_the_sent(api, space, other_space):
    CampaignFactory(space=space, name="draft")
    CampaignFactory(space=space, name="done", status=CampaignStatus.SENT)
    CampaignFactory(space=other_space, name="theirs")

    everything = api.get(url(space)).json()
    sent = api.get(url(space), sent="true").json()

    assert sorted(c["name"] for c in everything["campaigns"]) == ["done", "draft"]
    assert [c["name"] for c in sent["campaigns"]] == ["done"]
    assert api.get(url(space), size=0).json()["code"] == "invalid_page"


def test_it_adds_lists_and_removes_recipients(api, space):
    campaign = CampaignFactory(space=space)
    recipients = url(space, f"/{campaign.pk}/recipients")

    added = api.call("post", recipients, ["b", "a", "c", "a"])
    assert added.json() == {"added": 3, "total": 3}
    assert api.get(recipients, page=2, size=2).json() == {
        "page": 2,
        "size": 2,
        "total": 3,
        "profileIds": ["c"],
    }
    removed = api.client.delete(f"{recipients}?id=a&id=zz")
    assert removed.json() == {"removed": 1, "total": 2}
    assert api.call("delete", recipients, ["b"]).json() == {"removed": 1, "total": 1}
    assert api.call("post", recipients, {"ids": 1}).json()["code"] == "body_not_array"
    assert api.call("post", recipients, [""]).json()["code"] == "invalid_profile_id"


def test_a_second_live_send_answers_409_and_edits_are_refused(api, space):
    campaign = CampaignFactory(space=space)
    send = url(space, f"/{campaign.pk}/send")

    first = api.call("post", send)
    second = api.call("post", send)

    assert first.status_code == 202
    assert first.json()["status"] == "sending"
    assert api.get(url(space, f"/{campaign.pk}")).json()["status"] == "sent"  # nobody to send to
    assert second.status_code == 409
    assert second.json()["code"] == "campaign_already_sent"
    edit = api.call("patch", url(space, f"/{campaign.pk}"), {"name": "late"})
    assert (edit.status_code, edit.json()["code"]) == (409, "campaign_not_editable")
    added = api.call("post", url(space, f"/{campaign.pk}/recipients"), ["a"])
    assert added.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_the_live_send_reports_the_same_counts_as_progress(
    api, space, configured, apns_fake, fcm_fake, drain
):
    for n, platform in enumerate((Platform.IOS, Platform.ANDROID, Platform.IOS)):
        profile = ProfileFactory(space=space, profile_id=f"p{n}")
        DeviceFactory(space=space, profile=profile, platform=platform)
    campaign = CampaignFactory(space=space)
    api.call("post", url(space, f"/{campaign.pk}/recipients"), ["p0", "p1", "p2"])

    api.call("post", url(space, f"/{campaign.pk}/send"))
    drain()
    body = api.get(url(space, f"/{campaign.pk}")).json()

    assert body["status"] == "sent" and body["sent"] and body["sentAt"]
    assert {k: body["progress"][k] for k in ("sent", "failed", "pending", "total")} == {
        "sent": 3,
        "failed": 0,
        "pending": 0,
        "total": 3,
    }
    assert body["progress"]["platforms"]["ios"]["sent"] == 2
    assert Delivery.objects.filter(message_id=body["messageId"]).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_test_send_reaches_one_profile(api, space, configured, apns_fake, iphone):
    campaign = CampaignFactory(space=space)

    response = api.call("post", url(space, f"/{campaign.pk}/test"), {"profileId": "alice"})

    assert response.status_code == 201, response.json()
    assert response.json()["to"] == {"profileId": "alice"}
    assert apns_fake.accepted_by_token() == {iphone.token: 1}
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_another_spaces_campaign_answers_404_and_its_key_finds_nothing(api, space, other_space):
    theirs = CampaignFactory(space=other_space)
    CampaignRecipient.objects.create(campaign=theirs, profile_id="x")

    for method, suffix in (
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("get", "/recipients"),
        ("post", "/recipients"),
        ("post", "/send"),
        ("post", "/test"),
    ):
        body = None if method == "get" else ["x"]
        response = api.call(method, url(space, f"/{theirs.pk}{suffix}"), body)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), suffix
    other_key = create_api_key(space=other_space, name="theirs")[1]
    mine = CampaignFactory(space=space)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {other_key}").get(url(space, f"/{mine.pk}"))
    assert response.status_code == 404
    assert Campaign.objects.get(pk=theirs.pk).status == CampaignStatus.DRAFT


def test_without_a_key_it_answers_401(space):
    assert Client().get(url(space)).status_code == 401
