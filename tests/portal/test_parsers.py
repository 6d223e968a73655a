"""Request bodies nested too deeply are a 400 on every JSON route, at any depth."""

import json

import pytest
from django.test import Client

from channels_app.models import Message
from portal.parsers import MAX_JSON_DEPTH, too_deep
from tests.factories import AppMessagingAuthFactory
from tests.sessions_app.flows import base, open_session

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    """A JSON value of lists nested `depth` deep."""
    return "[" * depth + "]" * depth


def message_with_metadata(depth: int) -> str:
    return (
        '{"to": {"profileId": "alice"}, "rules": ["nativePush"], "metadata": {"x": '
        + nested(depth)
        + "}}"
    )


@pytest.fixture
def server(api_key):
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")


def test_the_depth_check_counts_lists_and_objects_without_recursing():
    assert not too_deep({"a": [{"b": 1}]}, limit=3)
    assert too_deep({"a": [{"b": []}]}, limit=3)
    assert not too_deep("text")
    assert too_deep(json.loads(nested(900)))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 1000, 100_000])
def test_deep_metadata_in_a_send_is_a_400(space, server, depth):
    response = server.post(
        f"/apispaces/{space.pk}/messages",
        message_with_metadata(depth),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000])
def test_deep_metadata_in_a_batch_is_a_400(space, server, depth):
    response = server.post(
        f"/apispaces/{space.pk}/messages/batch",
        "[" + message_with_metadata(depth) + "]",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


def test_metadata_within_the_limit_is_sent(space, server):
    response = server.post(
        f"/apispaces/{space.pk}/messages",
        message_with_metadata(MAX_JSON_DEPTH - 3),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000])
def test_a_deep_profile_write_is_a_400(space, method, depth):
    auth = AppMessagingAuthFactory(space=space)
    client, _ = open_session(auth, profile_id="alice")
    response = getattr(client, method)(
        f"{base(space.pk)}/profiles/alice",
        '{"deep": ' + nested(depth) + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


@pytest.mark.parametrize(
    "fragment",
    ['"metadata": {"note": "\\ud800"}', '"metadata": {"\\udfff": 1}', '"title": "a\\ud83d"'],
)
def test_a_lone_surrogate_anywhere_in_a_send_is_a_400_and_nothing_is_stored(
    space, server, fragment
):
    response = server.post(
        f"/apispaces/{space.pk}/messages",
        '{"to": {"profileId": "alice"}, "rules": ["nativePush"], ' + fragment + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"
    assert not Message.objects.exists()


def test_a_full_surrogate_pair_is_a_character_and_is_accepted(space, server):
    response = server.post(
        f"/apispaces/{space.pk}/messages",
        '{"to": {"profileId": "alice"}, "rules": ["nativePush"], "title": "\\ud83d\\ude00"}',
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Message.objects.get().title == "\U0001f600"
