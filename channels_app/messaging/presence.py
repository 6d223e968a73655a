"""Which profiles have an open socket: a counter per profile in the cache.

Read when a message carries an alert, to push it natively to the participants who would
not see the socket frame. A counter, not a flag, because a profile may have several
devices. It expires unless renewed, so a process that died holding sockets open cannot keep
a profile "online" (and its pushes suppressed) for long: the SDK's echo frame, sent every
60 s while open, renews it.
"""

from django.core.cache import cache

from .events import group_for

# Well above the SDK's 60 s echo interval, so a live socket never lapses between two echoes.
PRESENCE_TTL_SECONDS = 300


def _key(*, space_id, profile_id: str) -> str:
    return "messaging:online:" + group_for(space_id=space_id, profile_id=profile_id)


def socket_opened(*, space_id, profile_id: str) -> None:
    """Count one more open socket of the profile."""
    key = _key(space_id=space_id, profile_id=profile_id)
    cache.add(key, 0, PRESENCE_TTL_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, PRESENCE_TTL_SECONDS)
    cache.touch(key, PRESENCE_TTL_SECONDS)


def socket_alive(*, space_id, profile_id: str) -> None:
    """Renew the profile's count while its socket stays open."""
    cache.touch(_key(space_id=space_id, profile_id=profile_id), PRESENCE_TTL_SECONDS)


def socket_closed(*, space_id, profile_id: str) -> None:
    """Count one socket fewer; never below zero."""
    key = _key(space_id=space_id, profile_id=profile_id)
    try:
        if cache.decr(key) <= 0:
            cache.delete(key)
    except ValueError:  # already expired
        pass


def online(*, space_id, profile_ids) -> set[str]:
    """The profiles among these with at least one open socket."""
    keys = {_key(space_id=space_id, profile_id=p): p for p in profile_ids}
    counts = cache.get_many(list(keys))
    return {keys[key] for key, count in counts.items() if count and count > 0}
