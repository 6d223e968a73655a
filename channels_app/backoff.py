"""How long to wait before trying again: one backoff for deliveries, webhook calls and bounces."""

import random


def delay(attempts: int, *, base: float, most: float, at_least: float = 0.0) -> float:
    """Seconds to wait after the nth failed attempt: base * 2^(n-1) with equal jitter, never
    less than `at_least` (a provider's Retry-After) nor more than `most`."""
    backoff = base * 2 ** max(attempts - 1, 0)
    # Equal jitter: a burst of failures spreads out, and nothing is ever retried at once.
    jittered = backoff / 2 + random.uniform(0, backoff / 2)  # noqa: S311 (jitter, not a secret)
    return min(max(jittered, at_least), most)
