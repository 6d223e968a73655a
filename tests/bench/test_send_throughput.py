"""The end-to-end bench, small: every notification reaches the fakes and is recorded, and
its memory figure counts every process of the run."""

import os
import signal
import subprocess
import sys
import time

import pytest

from bench import send_throughput
from bench.send_throughput import Fleet, Memory
from tests.services import node_binary

# The exit status is not asserted: the memory target counts the driver, here pytest itself
# with every test module loaded.


@pytest.mark.services
def test_it_delivers_and_records_every_notification_of_a_small_send(capsys):
    node_binary()
    send_throughput.main(["--n", "200", "--servers", "1", "--end-to-end-only"])
    output = capsys.readouterr().out
    assert "[ok] no notification lost" in output, output
    assert "recorded: {'delivered': 200}" in output
    assert "fakes counted: APNs 100, FCM 100" in output
    # Each process's own peak: this driver, the process that loaded the app, the server.
    for name in ("driver", "web master", "server 1"):
        assert f"{name} " in output.split("each one's own peak:")[1], output


@pytest.mark.services
def test_servers_that_share_a_send_deliver_and_record_every_notification(capsys):
    node_binary()
    send_throughput.main(["--n", "200", "--servers", "2", "--end-to-end-only"])
    output = capsys.readouterr().out
    assert "[ok] no notification lost" in output, output
    assert "recorded: {'delivered': 200}" in output
    assert "fakes counted: APNs 100, FCM 100" in output


def test_the_fleet_derives_the_same_tokens_from_its_seed_in_every_process():
    fleet = Fleet.make(5)

    devices = list(fleet.devices())

    assert devices == list(Fleet(5, fleet.seed).devices())
    assert [profile for profile, _, _ in devices] == [
        "bench-0000000",
        "bench-0000002",
        "bench-0000004",
        "bench-0000001",
        "bench-0000003",
    ]
    assert all(len(token) == 64 and int(token, 16) >= 0 for token in fleet.ios)
    assert all(len(token) == 160 and "=" not in token for token in fleet.android)
    assert len(set(fleet.ios + fleet.android)) == 5
    assert set(Fleet.make(5).ios).isdisjoint(fleet.ios)


def test_memory_counts_the_driver_and_every_process_under_the_master():
    # A master with a child of its own, as the web master forks servers that start workers.
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    master = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, time; subprocess.Popen({sleeper!r}); time.sleep(30)",
        ],
        start_new_session=True,
    )
    memory = Memory()
    try:
        memory.watch(master.pid)
        deadline = time.monotonic() + 10
        while len(memory.by_pid) < 3 and time.monotonic() < deadline:
            time.sleep(Memory.INTERVAL)
    finally:
        memory.stop()
        os.killpg(master.pid, signal.SIGKILL)
        master.wait()

    assert {os.getpid(), master.pid} < set(memory.by_pid)
    assert len(memory.by_pid) == 3
    # The peak of the sum is at most the sum of each process's own peak.
    assert 0 < memory.peak <= sum(memory.by_pid.values()) + 1e-9
    assert {"driver", "web master"} < set(memory.named({master.pid: "web master"}))


def test_a_process_no_sample_saw_keeps_the_size_it_measured_itself():
    memory = Memory()

    memory.note(4_000_000, 80.0)
    memory.note(4_000_000, 60.0)
    memory.note(4_000_001, None)  # it could not read its own size

    assert memory.named({4_000_000: "server 1"}) == {"server 1": 80.0}
