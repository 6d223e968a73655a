"""The end-to-end bench, small: every notification reaches the fakes and is recorded."""

import pytest

from bench import send_throughput
from tests.services import node_binary

pytestmark = pytest.mark.services


def test_it_delivers_and_records_every_notification_of_a_small_send(capsys):
    node_binary()
    status = send_throughput.main(["--n", "200", "--servers", "1", "--end-to-end-only"])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "recorded: {'delivered': 200}" in output
    assert "fakes counted: APNs 100, FCM 100" in output


def test_servers_that_share_a_send_deliver_and_record_every_notification(capsys):
    node_binary()
    send_throughput.main(["--n", "200", "--servers", "2", "--end-to-end-only"])
    output = capsys.readouterr().out
    # Not the exit status: the memory target sums the servers, and servers spawned from
    # pytest carry pytest's own modules.
    assert "[ok] no notification lost" in output, output
    assert "recorded: {'delivered': 200}" in output
    assert "fakes counted: APNs 100, FCM 100" in output
