"""Profiles through the Session API: own profile only, ETags, If-Match, reserved fields."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from sessions_app.models import Profile
from tests.sessions_app.flows import base, open_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(auth):
    client, _ = open_session(auth, profile_id="alice")
    client.url = f"{base(auth.space_id)}/profiles/alice"
    return client


def test_a_new_profile_is_read_with_its_etag_and_read_only_fields(alice):
    response = alice.get(alice.url)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "alice"
    assert {"_createdOn", "_updatedOn", "_lastActivityOn"} <= body.keys()
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2


def test_the_etag_round_trip_guards_writes(alice):
    first = alice.get(alice.url)["ETag"]

    put = alice.put(alice.url, {"name": "Alice", "id": "alice"}, format="json", HTTP_IF_MATCH=first)
    assert put.status_code == 200, put.content
    assert put.json()["name"] == "Alice"
    second = put["ETag"]
    assert second != first

    # The ETag just read is stale now: 412, and nothing changes.
    stale = alice.patch(alice.url, {"name": "Mallory"}, format="json", HTTP_IF_MATCH=first)
    assert stale.status_code == 412
    assert stale.json()["code"] == "etag_mismatch"
    assert Profile.objects.get(profile_id="alice").data == {"name": "Alice"}

    patch = alice.patch(alice.url, {"city": "Paris"}, format="json", HTTP_IF_MATCH=second)
    assert patch.status_code == 200
    assert patch.json()["name"] == "Alice" and patch.json()["city"] == "Paris"
    assert alice.get(alice.url)["ETag"] == patch["ETag"]


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        (None, 200),
        ("*", 200),
        ('"nope", {current}', 200),
        ("{current_bare}", 200),
        ("W/{current}", 412),
        ('"nope"', 412),
        ("", 412),
        ("garbage, ,,", 412),
    ],
)
def test_if_match_forms(alice, if_match, status):
    current = alice.get(alice.url)["ETag"]
    headers = {}
    if if_match is not None:
        headers["HTTP_IF_MATCH"] = if_match.format(current=current, current_bare=current.strip('"'))

    response = alice.patch(alice.url, {"a": 1}, format="json", **headers)

    assert response.status_code == status


def test_put_replaces_and_patch_merges_and_deletes(alice):
    alice.put(alice.url, {"a": 1, "b": 2}, format="json")

    assert alice.put(alice.url, {"c": 3}, format="json").json().keys() >= {"c"}
    assert Profile.objects.get(profile_id="alice").data == {"c": 3}

    alice.patch(alice.url, {"d": {"nested": True}}, format="json")
    assert Profile.objects.get(profile_id="alice").data == {"c": 3, "d": {"nested": True}}

    alice.patch(f"{alice.url}?deletes=c", {}, format="json")
    assert Profile.objects.get(profile_id="alice").data == {"d": {"nested": True}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"_createdOn": "2020-01-01", "x": 1}, "profile_field_reserved"),
        ({"id": "bob"}, "profile_id_mismatch"),
        ([1, 2, 3], "profile_not_object"),
        ("just text", "profile_not_object"),
    ],
)
def test_bad_profile_bodies_are_refused(alice, body, code):
    for method in ("put", "patch"):
        response = getattr(alice, method)(alice.url, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == code
    assert Profile.objects.get(profile_id="alice").data == {}


def test_an_oversized_profile_is_refused(alice):
    response = alice.put(alice.url, {"blob": "x" * 70_000}, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "profile_too_large"


def test_one_profile_cannot_read_or_change_another(auth, alice):
    open_session(auth, profile_id="bob")
    url = f"{base(auth.space_id)}/profiles/bob"

    for method in ("get", "put", "patch"):
        response = getattr(alice, method)(url, {"hacked": True}, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "profile_forbidden"
    assert Profile.objects.get(space=auth.space, profile_id="bob").data == {}


def test_a_profile_of_another_space_is_out_of_reach(auth, other_auth, alice):
    open_session(other_auth, profile_id="alice")

    # Alice's token names its own space: in the other space it is no token at all.
    response = alice.get(f"{base(other_auth.space_id)}/profiles/alice")

    assert response.status_code == 401
    other_profile = Profile.objects.get(space=other_auth.space, profile_id="alice")
    alice.put(alice.url, {"mine": True}, format="json")
    other_profile.refresh_from_db()
    assert other_profile.data == {}


def test_profile_answers_never_say_not_modified(alice):
    response = alice.get(
        alice.url,
        HTTP_IF_MODIFIED_SINCE="Mon, 26 Jul 1997 05:00:00 GMT",
        HTTP_IF_NONE_MATCH=alice.get(alice.url)["ETag"],
    )

    assert response.status_code == 200
    assert "Last-Modified" not in response


def test_querying_profiles_is_a_clear_403_for_a_session(auth, alice):
    response = alice.get(f"{base(auth.space_id)}/profiles?email=a@b.c")

    assert response.status_code == 403
    assert response.json()["code"] == "profile_query_forbidden"


def test_authenticated_calls_record_the_profiles_last_activity(alice):
    long_ago = timezone.now() - timedelta(hours=1)
    Profile.objects.filter(profile_id="alice").update(last_seen_at=long_ago)

    alice.get(alice.url)

    assert Profile.objects.get(profile_id="alice").last_seen_at > long_ago


def test_the_sdks_read_modify_write_round_trip_succeeds(alice):
    # p = getMyProfile(); p.x = 1; updateMyProfile(p): the server's fields come back as read.
    read = alice.get(alice.url)
    profile = read.json()
    profile["x"] = 1

    put = alice.put(alice.url, profile, format="json", HTTP_IF_MATCH=read["ETag"])
    assert put.status_code == 200, put.content
    patched = put.json() | {"y": 2}
    patch = alice.patch(alice.url, patched, format="json", HTTP_IF_MATCH=put["ETag"])
    assert patch.status_code == 200, patch.content

    assert Profile.objects.get(profile_id="alice").data == {"x": 1, "y": 2}


def test_server_fields_read_before_they_moved_are_still_an_echo(alice):
    stale = alice.get(alice.url).json()
    alice.patch(alice.url, {"a": 1}, format="json")  # _updatedOn moves on
    Profile.objects.filter(profile_id="alice").update(last_seen_at=timezone.now())

    response = alice.put(alice.url, stale | {"b": 2}, format="json")

    assert response.status_code == 200, response.content
    assert Profile.objects.get(profile_id="alice").data == {"b": 2}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("_createdOn", "2020-01-01T00:00:00Z"),
        ("_updatedOn", "2999-01-01T00:00:00Z"),
        ("_lastActivityOn", "2999-01-01T00:00:00Z"),
        ("_updatedOn", "2020-01-01T00:00:00"),
        ("_updatedOn", "2020-13-45T00:00:00Z"),
        ("_updatedOn", 12),
        ("_createdBy", "someone"),
        ("_systemProfile", {"x": 1}),
        ("_anything", 1),
    ],
)
def test_changing_a_server_field_is_still_refused(alice, field, value):
    profile = alice.get(alice.url).json() | {field: value}

    response = alice.put(alice.url, profile, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "profile_field_reserved"
    assert body["details"]["fields"] == [field]


@pytest.mark.parametrize("profile_id", ["team/devices/phone", "a/b/devices/c"])
def test_a_profile_id_holding_devices_is_a_profile_not_the_device_route(auth, profile_id):
    client, _ = open_session(auth, profile_id=profile_id)
    # The SDK encodes the "/" (encodeURIComponent); the server decodes it before routing.
    url = f"{base(auth.space_id)}/profiles/{quote(profile_id, safe='')}"

    read = client.get(url)
    assert read.status_code == 200, read.content
    assert read.json()["id"] == profile_id
    patch = client.patch(url, {"x": 1}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert patch.status_code == 200, patch.content
    put = client.put(url, {"y": 2}, format="json")
    assert put.status_code == 200, put.content
    assert Profile.objects.get(profile_id=profile_id).data == {"y": 2}
