"""The in-memory channel layer sweeps expired messages once a second, not on every frame."""

from asgiref.sync import async_to_sync
from django.conf import settings

from channels_app.messaging.layers import InMemoryChannelLayer

MESSAGE = {"type": "messaging.event", "frame": {}}


def test_the_project_uses_it_without_a_channel_layer_url():
    assert not settings.PUSHPORT_CHANNEL_LAYER_URL
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert backend == "channels_app.messaging.layers.InMemoryChannelLayer"


def test_frames_within_a_second_do_not_sweep_and_the_next_second_does():
    # Messages that expire at once: a sweep drops them and their channel from its groups.
    layer = InMemoryChannelLayer(expiry=0)

    async def scenario():
        await layer.group_add("g", "c!1")
        await layer.group_send("g", MESSAGE)  # the first sweep finds nothing yet
        await layer.group_send("g", MESSAGE)  # within the second: no sweep
        assert "c!1" in layer.groups["g"]
        assert layer.channels["c!1"].qsize() == 2
        layer._swept_at -= 1  # a second later
        await layer.group_send("g", MESSAGE)
        assert "c!1" not in layer.groups.get("g", {})

    async_to_sync(scenario)()


def test_a_frame_still_reaches_every_channel_of_the_group():
    layer = InMemoryChannelLayer()

    async def scenario():
        for channel in ("c!1", "c!2"):
            await layer.group_add("g", channel)
        await layer.group_send("g", MESSAGE)
        assert await layer.receive("c!1") == MESSAGE
        assert await layer.receive("c!2") == MESSAGE

    async_to_sync(scenario)()
