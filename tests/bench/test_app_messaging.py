"""The App Messaging bench, tiny: every socket stays open and every frame arrives."""

import pytest

from bench import app_messaging
from tests.services import redis_url

# 20 sockets, a conversation of 5 of them, 10 messages.
TINY = ["--sockets", "20", "--participants", "5", "--messages", "10", "--senders", "2"]


def test_one_server_delivers_every_frame_to_every_participant(capsys):
    app_messaging.main([*TINY, "--no-redis"])
    output = capsys.readouterr().out
    # Not the exit status: a loaded test machine may miss the latency target.
    assert "[ok] every frame arrived: 50 of 50" in output, output
    assert "[ok] every socket stayed open: 20 of 20" in output, output
    assert "fan-out, POST to frame: p50" in output


@pytest.mark.services
def test_two_servers_share_the_frames_through_redis(capsys):
    url = redis_url().rsplit("/", 1)[0] + "/13"
    app_messaging.main([*TINY, "--redis-url", url])
    output = capsys.readouterr().out
    assert "2 daphne processes, Redis (channels_redis) channel layer" in output, output
    assert output.count("[ok] every frame arrived: 50 of 50") == 2, output
    assert "two processes through Redis / one process in memory" in output
