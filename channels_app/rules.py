"""The One API's `rules`: each message goes through the first channel of its list that
accepts it.

The reference leaves "accepts" to us (Comapi only says a channel is skipped when the
customer "isn't registered" on it). Chosen:
- appMessaging accepts when the profile has had an App Messaging session in the space (any
  session, live or ended): it has run the SDK, so it can read the conversation;
- nativePush accepts when the profile has an active device.
A message no channel accepts is failed at once, with the refusals in its statusDetails.
Acceptance is decided when the message is stored; a later non-delivery on the chosen
channel does not move it to the next one.
"""

from collections.abc import Sequence

from sessions_app.models import Session

from .models import Channel, Message, MessageStatus
from .recipients import active_devices, recipients, rows_by_profile

REFUSALS = {
    Channel.APP_MESSAGING: "the profile never opened an App Messaging session",
    Channel.NATIVE_PUSH: "the profile has no active device",
}


def _profiles_with(model, messages: Sequence[Message], **conditions) -> set[tuple]:
    """(space id, profile id) of the messages' recipients having a row of `model`."""
    found = set()
    for space_id, profile_ids in recipients(messages).items():
        rows = rows_by_profile(model, space_id, profile_ids, **conditions)
        found.update((space_id, profile_id) for profile_id, *_ in rows)
    return found


def choose_channels(*, messages: Sequence[Message]) -> dict[tuple, list[tuple]]:
    """Set each unsaved message's channel (blank when none accepts) and, when none does,
    its failed status and the reasons. One query per channel and space, and only for the
    messages that could use that channel. Returns the active devices it found (see
    recipients.active_devices), so that sending them does not look them up again.

    A message without rules (a campaign's, a test push) keeps nativePush: those paths push.
    """
    messages = [m for m in messages if m.rules]
    listed = {channel: [m for m in messages if channel in m.rules] for channel in REFUSALS}
    devices = active_devices(listed[Channel.NATIVE_PUSH])
    accepting = {
        Channel.APP_MESSAGING: _profiles_with(Session, listed[Channel.APP_MESSAGING]),
        Channel.NATIVE_PUSH: set(devices),
    }
    for message in messages:
        recipient = (message.space_id, message.to.get("profileId"))
        message.channel = next(
            (rule for rule in message.rules if recipient in accepting.get(rule, ())), ""
        )
        if not message.channel:
            message.status = MessageStatus.FAILED
            refusals = "; ".join(
                f"{rule}: {REFUSALS[rule]}" for rule in dict.fromkeys(message.rules)
            )
            message.channel_details = {"failureReason": f"no channel accepted it ({refusals})"}
    return devices
