"""Send API shapes: values outside what the database stores are a 400, on both paths."""

import json

import pytest
from django.test import Client

from channels_app.serializers import MAX_BADGE, MessageRequestSerializer
from portal.fast_validation import NOT_SURE, compile_validator

pytestmark = pytest.mark.django_db

TOO_BIG = [99999999999999999999, MAX_BADGE + 1, 2**63, -1]


def with_badge(badge) -> dict:
    return {
        "to": {"profileId": "alice"},
        "rules": ["nativePush"],
        "channelOptions": {"nativePush": {"badge": badge}},
    }


@pytest.fixture
def server(api_key):
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")


@pytest.mark.parametrize("badge", TOO_BIG)
def test_a_badge_outside_the_integer_range_is_a_400_on_a_send(space, server, badge):
    response = server.post(
        f"/apispaces/{space.pk}/messages",
        json.dumps(with_badge(badge)),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "badge" in response.json()["message"]


@pytest.mark.parametrize("badge", TOO_BIG)
def test_a_badge_outside_the_integer_range_is_a_400_in_a_batch(space, server, badge):
    response = server.post(
        f"/apispaces/{space.pk}/messages/batch",
        json.dumps([with_badge(1), with_badge(badge)]),
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_batch"
    assert [item["index"] for item in body["details"]] == [1]


def test_the_largest_badge_is_accepted(space, server):
    response = server.post(
        f"/apispaces/{space.pk}/messages",
        json.dumps(with_badge(MAX_BADGE)),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("badge", TOO_BIG)
def test_the_fast_path_leaves_an_out_of_range_badge_to_drf(badge):
    validate = compile_validator(MessageRequestSerializer())
    assert validate(with_badge(badge)) is NOT_SURE
    assert not MessageRequestSerializer(data=with_badge(badge)).is_valid()
    assert validate(with_badge(MAX_BADGE)) is not NOT_SURE
