"""Telling open sockets from synchronous code (a request, a task) through the channel layer."""

from asgiref.sync import async_to_sync
from django.db import transaction


def send_after_commit(groups: list[str], message: dict) -> None:
    """Send `message` to these channel-layer groups once the transaction commits.

    After the commit, so a socket never hears of what a rollback undid; robust, so a channel
    layer that is down costs the message, never the request that already committed.
    """
    if groups:
        transaction.on_commit(lambda: _send(groups, message), robust=True)


def _send(groups: list[str], message: dict) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    # One trip to the event loop for all the groups: a trip per group cost a conversation of
    # 100 participants 100 hand-offs between the request's thread and the loop.
    async_to_sync(_send_to_groups)(layer, groups, message)


async def _send_to_groups(layer, groups: list[str], message: dict) -> None:
    for group in groups:
        await layer.group_send(group, message)
