"""In a real browser, against a live server and the APNs and FCM fakes: an owner signs in, sets
up APNs with a .p8, verifies it, sends a test push, sends a campaign to profiles from a CSV and
reads the deliveries on the overview's chart."""

import datetime as dt
import json
import threading
import time

import pytest
from django.db import connections
from playwright.sync_api import Page, expect

from channels_app import tasks
from channels_app.delivery import CLAIMABLE
from channels_app.models import Campaign, CampaignStatus, Delivery, Platform
from portal.models import Role
from tests import keys
from tests.factories import (
    ApiSpaceFactory,
    DeviceFactory,
    FcmCredentialFactory,
    MembershipFactory,
    ProfileFactory,
    UserFactory,
)

pytestmark = pytest.mark.services

USERNAME, PASSWORD = "ada", "correct horse battery"
KEY_ID, TEAM_ID, BUNDLE_ID = "WALK123KEY", "WALKTEAM42", "com.example.walk"
# The page waits no longer than this for anything (the progress poll runs every 2 s).
TIMEOUT_MS = 15_000


@pytest.fixture
def walk(transactional_db, settings, apns_fake, fcm_fake):
    """An owner's space with FCM set up, a profile with an iPhone, and a .p8 the fake APNs
    trusts (registered before the owner uploads it)."""
    settings.SECURE_SSL_REDIRECT = False
    # A retry is due in milliseconds, so the walk's sweep sends it at once.
    settings.PUSHPORT_RETRY_BASE_SECONDS = 0.01
    settings.PUSHPORT_RETRY_MAX_SECONDS = 0.05
    space = ApiSpaceFactory(name="Walk space")
    MembershipFactory(space=space, user=UserFactory(username=USERNAME), role=Role.OWNER)
    account = fcm_fake.service_account(project_id="pushport-walk")
    FcmCredentialFactory(
        space=space,
        project_id=account["project_id"],
        client_email=account["client_email"],
        service_account_json=json.dumps(account),
        response_timeout=5.0,
    )
    key = keys.ec_p256_key()
    apns_fake.register_key(
        key_id=KEY_ID, team_id=TEAM_ID, private_or_public_key=key, topics=[BUNDLE_ID]
    )
    alice = ProfileFactory(space=space, profile_id="alice")
    iphone = DeviceFactory(space=space, profile=alice, platform=Platform.IOS)
    return space, keys.p8(key), iphone


def sweep_until_sent(message) -> None:
    """Sweep as the scheduler would (tests run none) until the message has nothing left to
    send. In a thread of its own: the test's thread holds Playwright's event loop."""
    errors = []

    def sweep():
        try:
            tasks.sweep()
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    for _ in range(50):
        if not Delivery.objects.filter(message=message, status__in=CLAIMABLE).exists():
            return
        time.sleep(0.05)  # the retry's due time, at most PUSHPORT_RETRY_MAX_SECONDS
        thread = threading.Thread(target=sweep)
        thread.start()
        thread.join(timeout=30)
        assert not errors, errors
    raise AssertionError("the campaign's deliveries were still unsent after every sweep")


def shot(page: Page, tmp_path, name: str) -> None:
    """A full-page screenshot for a person to look at (the menu is sticky: scroll up first)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=tmp_path / f"{name}.png", full_page=True)


def test_an_owner_sets_up_apns_sends_a_test_push_and_a_campaign_and_sees_them_counted(
    page: Page, live_server, walk, apns_fake, fcm_fake, tmp_path
):
    space, p8, alice_iphone = walk
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    notices = page.locator("ul.messages")

    # Sign in: the Channels page asks for it first.
    page.goto(f"{live_server.url}/spaces/{space.id}/channels/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()

    # Upload the .p8 through the APNs token form, then Verify it against the fake.
    token_form = page.locator("#apns_token")
    token_form.get_by_label("Auth key (.p8)").set_input_files(
        files=[{"name": f"AuthKey_{KEY_ID}.p8", "mimeType": "text/plain", "buffer": p8}]
    )
    token_form.get_by_label("Key ID").fill(KEY_ID)
    token_form.get_by_label("Team ID").fill(TEAM_ID)
    token_form.get_by_label("Bundle ID").fill(BUNDLE_ID)
    token_form.get_by_role("button", name="Save token key").click()
    apns = page.locator("section#apns")
    expect(apns.locator("dl.facts")).to_contain_text(KEY_ID)
    apns.get_by_role("button", name="Verify").click()
    expect(notices).to_contain_text("Verified: Apple accepted the key")
    expect(page.locator("#apns-verification")).to_contain_text("Apple accepted the key")
    shot(page, tmp_path, "1-channels")

    # A test push to alice's iPhone, and its outcome.
    page.get_by_role("link", name="Send test push…").click()
    page.get_by_label("Profile id").fill("alice")
    page.get_by_role("button", name="Send test push").click()
    outcomes = page.locator("#test-push-outcomes")
    expect(outcomes.locator("tbody tr")).to_have_count(1)
    expect(outcomes).to_contain_text("Delivered")
    expect(page.locator("#test-push-queued")).to_have_count(0)
    shot(page, tmp_path, "2-test-push")

    # More of the audience's devices, and one of a profile the campaign leaves out.
    alice_pixel = DeviceFactory(space=space, profile=alice_iphone.profile, platform="android")
    bob_iphone = DeviceFactory(space=space, profile=ProfileFactory(space=space, profile_id="bob"))
    carol_pixel = DeviceFactory(
        space=space, profile=ProfileFactory(space=space, profile_id="carol"), platform="android"
    )
    dave_iphone = DeviceFactory(space=space, profile=ProfileFactory(space=space, profile_id="dave"))
    # Apple is busy for bob's first try: the live send ends with one delivery to retry.
    apns_fake.fail(bob_iphone.token, 503, "ServiceUnavailable", times=1)

    # A campaign: created from the Campaigns page, its audience from a CSV, sent live.
    page.get_by_role("navigation", name=space.name).get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Spring sale")
    page.get_by_label("Title").fill("Spring sale")
    page.get_by_label("Body").fill("Everything half price until Sunday.")
    page.get_by_role("button", name="Create").click()
    expect(notices).to_contain_text("Campaign created")
    audience = page.locator("#campaign-audience")
    audience.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "audience.csv",
                "mimeType": "text/csv",
                "buffer": b"profile_id\nalice\nbob\ncarol\nnobody\n",
            }
        ]
    )
    audience.get_by_role("button", name="Upload CSV").click()
    expect(notices).to_contain_text("4 profile ids added from audience.csv")
    shot(page, tmp_path, "3-campaign-audience")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Live send to 4 profiles").click()
    expect(notices).to_contain_text("Live send started")
    expect(page.locator("#campaign-status")).to_have_text("Sending")
    expect(page.locator("#campaign-progress")).to_have_attribute("value", "3")
    expect(page.locator("#campaign-pending")).to_have_text("1")
    shot(page, tmp_path, "4-campaign-sending")
    # The retry goes out on the next sweep; the page's poll (every 2 s) brings the bar to 100%.
    sweep_until_sent(Campaign.objects.get(space=space, name="Spring sale").sent_message)
    page.wait_for_function(
        """() => {
            const bar = document.getElementById("campaign-progress");
            return bar !== null && bar.max === 4 && bar.value === bar.max;
        }""",
        timeout=TIMEOUT_MS,
    )
    expect(page.locator("#campaign-status")).to_have_text("Sent")
    expect(page.locator("#campaign-sent")).to_have_text("4")
    expect(page.locator("#campaign-failed")).to_have_text("0")
    expect(page.locator("#campaign-pending")).to_have_text("0")
    shot(page, tmp_path, "5-campaign-sent")

    # The overview's chart counts today's deliveries: the test push and the campaign's.
    page.get_by_role("link", name="Overview").click()
    today = f"{dt.datetime.now(dt.UTC).date():%-d %b %Y}"
    expected = {"iOS": 3, "Android": 2}
    for label, delivered in expected.items():
        chart = page.locator("figure.chart-card").filter(has_text=label)
        expect(chart.locator("figcaption")).to_contain_text(f"{delivered} outcomes")
        bar_titles = chart.locator("svg title").all_text_contents()
        assert f"{today}: {delivered} delivered, 0 failed, 0 invalid token" in bar_titles
        chart.get_by_text("The numbers").click()
        row = chart.locator("table.chart-table tbody tr").filter(has_text=today)
        expect(row.locator("td")).to_have_text([today, str(delivered), "0", "0"])
        chart.locator("svg").screenshot(path=tmp_path / f"7-chart-{label}.png")
    shot(page, tmp_path, "6-overview")

    # Each device got exactly one notification of the campaign; dave was not in the audience.
    assert apns_fake.accepted_by_token() == {alice_iphone.token: 2, bob_iphone.token: 1}
    assert fcm_fake.accepted_by_token() == {alice_pixel.token: 1, carol_pixel.token: 1}
    campaign = Campaign.objects.get(space=space, name="Spring sale")
    sent_to = Delivery.objects.filter(message=campaign.sent_message).values_list(
        "device_id", flat=True
    )
    assert sorted(sent_to) == sorted(
        device.pk for device in (alice_iphone, alice_pixel, bob_iphone, carol_pixel)
    )
    assert dave_iphone.pk not in sent_to
    assert campaign.status == CampaignStatus.SENT
