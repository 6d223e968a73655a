"""Campaign pages: scoped to the caller's spaces, viewers read only, CSV streamed in."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from channels_app.models import Campaign, CampaignRecipient, CampaignStatus
from portal.models import Role
from tests.factories import CampaignFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def page(space, suffix=""):
    return f"/spaces/{space.pk}/campaigns/{suffix}"


def test_the_menu_links_the_campaigns_and_the_list_shows_them(owner_client, space, other_space):
    CampaignFactory(space=space, name="Spring sale")
    CampaignFactory(space=other_space, name="Not ours")

    response = owner_client.get(page(space))

    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{page(space)}"' in html and ">Campaigns<" in html
    assert "Spring sale" in html and "Not ours" not in html


def test_it_creates_a_campaign_from_the_form_validated_as_a_send(owner_client, space):
    response = owner_client.post(
        page(space, "new/"),
        {"name": "Launch", "title": "New!", "body": "Out now", "priority": "high", "badge": "2"},
    )

    campaign = Campaign.objects.get(space=space)
    assert response.status_code == 302 and response.url == page(space, f"{campaign.pk}/")
    assert campaign.message["title"] == "New!"
    assert campaign.message["channelOptions"]["nativePush"]["badge"] == 2
    bad = owner_client.post(page(space, "new/"), {"name": "x", "priority": "urgent"})
    assert bad.status_code == 200 and Campaign.objects.count() == 1


def test_it_adds_pasted_ids_and_removes_one(owner_client, space):
    campaign = CampaignFactory(space=space)

    owner_client.post(page(space, f"{campaign.pk}/audience/paste/"), {"profile_ids": "a\nb, c"})
    owner_client.post(page(space, f"{campaign.pk}/audience/remove/"), {"profile_id": "b"})

    ids = set(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("profile_id", flat=True)
    )
    assert ids == {"a", "c"}
    detail = owner_client.get(page(space, f"{campaign.pk}/")).content.decode()
    assert "2 profile ids" in detail


def test_a_csv_of_100_000_ids_is_imported_in_one_request(owner_client, space):
    campaign = CampaignFactory(space=space)
    body = ("profile_id\r\n" + "".join(f"user-{n}\r\n" for n in range(100_000))).encode()

    response = owner_client.post(
        page(space, f"{campaign.pk}/audience/upload/"),
        {"file": SimpleUploadedFile("audience.csv", body, content_type="text/csv")},
    )

    assert response.status_code == 302
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 100_000


def test_a_file_that_is_not_utf8_adds_nothing(owner_client, space):
    campaign = CampaignFactory(space=space)
    body = b"a\nb\n\xff\xfe\x00bad\n"

    response = owner_client.post(
        page(space, f"{campaign.pk}/audience/upload/"),
        {"file": SimpleUploadedFile("audience.csv", body)},
    )

    assert response.status_code == 200
    assert "not UTF-8" in response.content.decode()
    assert not CampaignRecipient.objects.filter(campaign=campaign).exists()


def test_the_live_send_starts_once_and_the_page_shows_progress(
    owner_client, space, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(space=space)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(page(space, f"{campaign.pk}/send/"))
    second = owner_client.post(page(space, f"{campaign.pk}/send/"), follow=True)

    assert "already started" in second.content.decode()
    detail = owner_client.get(page(space, f"{campaign.pk}/")).content.decode()
    assert '<progress id="campaign-progress"' in detail and "campaign_progress.js" in detail
    progress = owner_client.get(page(space, f"{campaign.pk}/progress/")).json()
    assert progress["status"] == CampaignStatus.SENT and progress["total"] == 0
    assert progress["sentAt"]


def test_a_viewer_reads_but_cannot_post(space):
    viewer = MembershipFactory(space=space, role=Role.VIEWER).user
    client = Client()
    client.force_login(viewer)
    campaign = CampaignFactory(space=space)

    assert client.get(page(space, f"{campaign.pk}/")).status_code == 200
    for suffix in ("audience/paste/", "send/", "test/", "delete/", "edit/"):
        assert client.post(page(space, f"{campaign.pk}/{suffix}")).status_code == 403, suffix
    assert client.post(page(space, "new/")).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_another_spaces_campaign_answers_404(owner_client, space, other_space):
    theirs = CampaignFactory(space=other_space)

    for suffix in ("", "progress/", "edit/"):
        assert owner_client.get(page(space, f"{theirs.pk}/{suffix}")).status_code == 404
        assert owner_client.get(page(other_space, f"{theirs.pk}/{suffix}")).status_code == 404
    assert owner_client.post(page(space, f"{theirs.pk}/send/")).status_code == 404
    assert Campaign.objects.get(pk=theirs.pk).status == CampaignStatus.DRAFT
