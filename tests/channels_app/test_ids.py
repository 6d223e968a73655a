"""Time-ordered ids: RFC 9562 version 7, ordered by time, never repeated, not even by a fork."""

import os
import time
import uuid

from channels_app.ids import uuid7


def test_an_id_is_a_version_7_uuid_of_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000

    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert before <= made.int >> 80 <= after


def test_ids_of_later_milliseconds_sort_after_earlier_ones():
    first = uuid7()
    time.sleep(0.002)

    assert uuid7() > first


def test_a_hundred_thousand_ids_are_all_different():
    assert len({uuid7() for _ in range(100_000)}) == 100_000


def test_a_forked_child_never_makes_the_ids_its_parent_makes_next():
    uuid7()  # the parent holds unused random bytes when it forks
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, b"".join(uuid7().bytes for _ in range(100)))
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    theirs = {data[i : i + 16] for i in range(0, len(data), 16)}
    ours = {uuid7().bytes for _ in range(100)}

    assert len(theirs) == 100 and not theirs & ours
