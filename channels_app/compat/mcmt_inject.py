"""Store and queue the APNs parts of an MCMT message, one message and delivery per part.

Each part keeps its own payload as given, so each is a Message of its own (with the payload in
apns_data under payloads.GIVEN_PAYLOAD_KEY) with one Delivery to the device of its token. A
token the space does not know yet becomes an iOS Device of the space without a profile, as a
Momentum sender, who kept tokens in its own backend, expects its tokens to simply work; its
environment is left empty, so it follows the credential's (Momentum's per-domain `routes`).
Every part that can be sent is stored in one transaction and queued after the commit, like
any other send.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from channels_app.models import ApnsCredential, Device, Message, Platform
from channels_app.payloads import GIVEN_PAYLOAD_KEY, PayloadError, given_apns_payload
from channels_app.sending import send_pairs

from .mcmt import ApnPart, BadPart, Part, SkippedPart

QUEUED = "queued"
ERROR = "error"
SKIPPED = "skipped"
# Marks an injected message among the space's messages (metadata.source).
SOURCE = "mcmt"


@dataclass(frozen=True, slots=True)
class PartOutcome:
    """What became of one part: queued (with its delivery), refused (why), or skipped."""

    index: int
    status: str
    delivery_id: str = ""
    message_id: str = ""
    token: str = ""
    code: str = ""
    message: str = ""
    content_type: str = ""

    def as_json(self) -> dict:
        """The part as the HTTP answer shows it (camelCase, empty fields left out)."""
        fields = {
            "index": self.index,
            "status": self.status,
            "deliveryId": self.delivery_id,
            "messageId": self.message_id,
            "code": self.code,
            "message": self.message,
            "contentType": self.content_type,
        }
        return {key: value for key, value in fields.items() if value != ""}


def _error(index: int, code: str, message: str) -> PartOutcome:
    return PartOutcome(index=index, status=ERROR, code=code, message=message)


def _alert_text(payload: bytes) -> tuple[str, str]:
    """The title and body the portal lists for the message (the payload itself is untouched)."""
    alert = json.loads(payload)["aps"].get("alert")
    if isinstance(alert, str):
        return "", alert
    if isinstance(alert, dict):
        return str(alert.get("title", ""))[:1000], str(alert.get("body", ""))
    return "", ""


def _devices(space, tokens: set[str]) -> dict[str, Device]:
    """The space's iOS devices of these tokens, creating the unknown ones (no profile)."""
    found = {
        d.token: d
        for d in Device.objects.filter(space=space, platform=Platform.IOS, token__in=tokens)
    }
    missing = tokens - set(found)
    if missing:
        # ignore_conflicts: a concurrent injection or SDK registration of the same token wins
        # the insert, and the row is read back below either way.
        Device.objects.bulk_create(
            [Device(space=space, platform=Platform.IOS, token=token) for token in missing],
            ignore_conflicts=True,
        )
        found.update(
            (d.token, d)
            for d in Device.objects.filter(space=space, platform=Platform.IOS, token__in=missing)
        )
    return found


def inject(*, space, parts: Sequence[Part], via: str) -> list[PartOutcome]:
    """Store and queue every sendable APNs part of a parsed MCMT message; one outcome per part.

    `via` (http, smtp) is kept in the message's metadata with the part's Return-Path. Raises
    django.db.OperationalError when the database is unavailable, with nothing stored.
    """
    credential = ApnsCredential.objects.filter(space=space).first()
    outcomes: dict[int, PartOutcome] = {}
    sendable: list[ApnPart] = []
    for part in parts:
        if isinstance(part, SkippedPart):
            outcomes[part.index] = PartOutcome(
                index=part.index, status=SKIPPED, content_type=part.content_type
            )
        elif isinstance(part, BadPart):
            outcomes[part.index] = _error(part.index, part.code, part.message)
        elif credential is None:
            outcomes[part.index] = _error(
                part.index,
                "apns_not_configured",
                "This space has no APNs credential; upload one on its Channels page.",
            )
        else:
            try:
                given_apns_payload(part.payload, bundle_id=credential.bundle_id)
            except PayloadError as exc:
                outcomes[part.index] = _error(part.index, exc.code, exc.message)
            else:
                sendable.append(part)
    if sendable:
        outcomes.update(_store(space=space, parts=sendable, via=via))
    return [outcomes[index] for index in sorted(outcomes)]


def _store(*, space, parts: list[ApnPart], via: str) -> dict[int, PartOutcome]:
    outcomes: dict[int, PartOutcome] = {}
    with transaction.atomic():
        devices = _devices(space, {part.token for part in parts})
        queued: list[tuple[ApnPart, Message, Device]] = []
        for part in parts:
            device = devices[part.token]
            if not device.active:
                outcomes[part.index] = _error(
                    part.index,
                    "device_inactive",
                    f"This token was deactivated ({device.deactivation_reason or 'no reason'}); "
                    "the app must register it again.",
                )
                continue
            title, body = _alert_text(part.payload)
            message = Message(
                space=space,
                to={"deviceId": str(device.pk)},
                title=title,
                body=body,
                apns_data={GIVEN_PAYLOAD_KEY: part.payload.decode("utf-8")},
                metadata={"source": SOURCE, "via": via, "returnPath": part.return_path},
            )
            queued.append((part, message, device))
        Message.objects.bulk_create([message for _, message, _ in queued])
        # Stored and queued as every send is (the sweeper sends them if the queue never does).
        ids = send_pairs([(message, device) for _, message, device in queued])
        for (part, message, _), delivery_id in zip(queued, ids, strict=True):
            outcomes[part.index] = PartOutcome(
                index=part.index,
                status=QUEUED,
                delivery_id=delivery_id,
                message_id=str(message.pk),
                token=part.token,
            )
    return outcomes
