"""The in-memory channel layer, with its expiry sweep run at most once a second.

Channels' InMemoryChannelLayer sweeps for expired messages and group memberships on every
group_send and every receive, walking every channel and every group member of the process:
with N sockets open, each frame delivered costs O(N). A message to a conversation of 100
participants with 2,000 sockets open took about 0.4 s of the server's one event loop
(bench/app_messaging.py). Messages expire after 60 s and memberships after a day, so a sweep
a second keeps the same behaviour at a fixed cost.
"""

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

SWEEP_INTERVAL_SECONDS = 1.0


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer; the expiry sweep runs once a second at most."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._swept_at = float("-inf")

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._swept_at < SWEEP_INTERVAL_SECONDS:
            return
        self._swept_at = now
        super()._clean_expired()
