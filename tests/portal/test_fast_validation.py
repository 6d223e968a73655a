"""The serializer fast path: what it accepts equals DRF's result; everything else goes to DRF."""

import copy

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from channels_app.serializers import MessageRequestSerializer
from portal.fast_validation import NOT_SURE, compile_validator

PLAIN = {
    "to": {"profileId": "alice"},
    "rules": ["nativePush"],
    "title": "Your order has shipped",
    "body": "Order 1 is on its way.",
    "metadata": {"orderId": 1},
    "channelOptions": {
        "nativePush": {
            "badge": 1,
            "sound": "default",
            "priority": "normal",
            "collapseKey": "orders",
            "data": {"apns": {"a": 1}, "fcm": {"b": "2"}, "isSilent": False},
            "deepLink": {"trackingLink": "https://t.example", "apns": {"url": "app://x"}},
        }
    },
}


def _with(**changes):
    item = copy.deepcopy(PLAIN)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = item
        for key in parents:
            node = node[key]
        if value is _REMOVED:
            del node[last]
        else:
            node[last] = value
    return item


_REMOVED = object()

PLAINLY_VALID = [
    PLAIN,
    {"to": {"profileId": "bob"}, "rules": ["nativePush"]},
    _with(title=""),
    _with(channelOptions__nativePush__data=_REMOVED),
    _with(expiresOn="2030-01-01T00:00:00Z"),
    _with(unknownField="ignored, as DRF ignores it"),
    _with(body="b" * 10000, to__profileId="p" * 255),
    _with(title="emoji \U0001f4e6 and accents \u00e9"),
    _with(
        rules=["appMessaging", "nativePush"],
        conversationId="Acme_alice",
        channelOptions__appMessaging={"from": {"profileId": "shop", "name": "The Shop"}},
    ),
    _with(channelOptions__appMessaging={}),
]

OTHERS = [
    "not an object",
    ["a", "list"],
    _with(to=_REMOVED),
    _with(to__profileId=""),
    _with(to__profileId="   "),
    _with(to__profileId="  padded  "),
    _with(to__profileId=42),
    _with(to__profileId="x" * 256),
    _with(to__profileId="nul\x00"),
    _with(rules=[]),
    _with(rules=["sms"]),
    _with(rules=["pigeon"]),
    _with(rules="nativePush"),
    _with(rules=[None]),
    _with(title=None),
    _with(title=7),
    _with(title="a lone \ud800 surrogate"),
    _with(channelOptions__nativePush__sound="s" * 256),
    _with(body="b" * 10001),
    _with(metadata=[]),
    _with(metadata={1: "x"}),
    _with(expiresOn="tomorrow"),
    _with(channelOptions__nativePush__badge=-1),
    _with(channelOptions__nativePush__badge="3"),
    _with(channelOptions__nativePush__badge=True),
    _with(channelOptions__nativePush__badge=1.0),
    _with(channelOptions__nativePush__priority="urgent"),
    _with(channelOptions__nativePush__priority=1),
    _with(channelOptions__nativePush__data__isSilent="true"),
    _with(channelOptions__nativePush__data__isSilent=1),
    _with(channelOptions__nativePush__data__apns="x"),
    _with(channelOptions__nativePush__deepLink__apns__url=""),
    _with(channelOptions=None),
    _with(conversationId=""),
    _with(conversationId="c" * 256),
    _with(channelOptions__appMessaging=None),
    _with(channelOptions__appMessaging={"from": None}),
    _with(channelOptions__appMessaging={"from": {"profileId": 7}}),
    _with(channelOptions__appMessaging={"from": {"avatarUrl": "a" * 2001}}),
]


def _drf(item):
    try:
        return MessageRequestSerializer().run_validation(item)
    except ValidationError as exc:
        return exc


@pytest.mark.parametrize("item", PLAINLY_VALID)
def test_a_plainly_valid_message_takes_the_fast_path_with_drfs_exact_result(item):
    fast = compile_validator(MessageRequestSerializer())(item)

    assert fast is not NOT_SURE
    assert fast == _drf(item)


@pytest.mark.parametrize("item", OTHERS)
def test_anything_else_is_either_drfs_exact_result_or_left_to_drf(item):
    fast = compile_validator(MessageRequestSerializer())(item)
    drf = _drf(item)

    if isinstance(drf, ValidationError):
        assert fast is NOT_SURE
    else:
        assert fast is NOT_SURE or fast == drf


def test_whitespace_is_trimmed_and_defaults_filled_as_drf_does():
    item = _with(title="  Hello  ", channelOptions__nativePush__data={})

    fast = compile_validator(MessageRequestSerializer())(item)

    assert fast["title"] == "Hello"
    assert fast["channelOptions"]["nativePush"]["data"] == {"isSilent": False}
    assert fast == _drf(item)


def test_a_serializer_level_validate_runs_on_the_fast_path_too():
    class Window(serializers.Serializer):
        start = serializers.IntegerField()
        end = serializers.IntegerField()

        def validate(self, attrs):
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError("end before start")
            return attrs

    check = compile_validator(Window())

    assert check({"start": 1, "end": 2}) == {"start": 1, "end": 2}
    assert check({"start": 2, "end": 1}) is NOT_SURE
