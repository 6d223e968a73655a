"""Time-ordered ids (UUIDv7, RFC 9562) for the rows a send creates by the thousand.

A new row's key lands at the end of every index it leads instead of at a random place (see
the README's delivery notes). The random part comes from the operating system's CSPRNG, read
a few kilobytes at a time: reading it per id (uuid6.uuid7 does, through `secrets`) is a
system call that gives up the GIL, and under load every such call waited for the other
threads of the process (the provider loop, other requests) to hand the GIL back.
"""

import os
import threading
import time
import uuid

_RANDOM_BYTES = 10  # 12 bits of rand_a and 62 of rand_b, plus spare bits masked off
_READ = 4096 - 4096 % _RANDOM_BYTES
_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


class _Pool(threading.local):
    """This thread's unused random bytes."""

    def __init__(self):
        self.data = b""
        self.used = 0


_pool = _Pool()


def _forget_after_fork() -> None:
    # A forked child must never reuse the parent's bytes: both would make the same ids.
    global _pool
    _pool = _Pool()


os.register_at_fork(after_in_child=_forget_after_fork)


def uuid7() -> uuid.UUID:
    """A new UUIDv7: milliseconds since the epoch, then 74 random bits."""
    pool = _pool
    if pool.used + _RANDOM_BYTES > len(pool.data):
        pool.data, pool.used = os.urandom(_READ), 0
    start = pool.used
    pool.used = start + _RANDOM_BYTES
    random = int.from_bytes(pool.data[start : pool.used], "big")
    rand_a = (random >> 68) & 0xFFF
    rand_b = random & ((1 << 62) - 1)
    value = (time.time_ns() // 1_000_000 & (1 << 48) - 1) << 80
    return uuid.UUID(int=value | _VERSION | rand_a << 64 | _VARIANT | rand_b)
