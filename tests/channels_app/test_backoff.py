"""One backoff for every retry: doubling, jittered by half, within its floor and ceiling."""

from channels_app.backoff import delay


def test_the_wait_doubles_per_attempt_and_varies_within_its_upper_half():
    waits = {
        attempts: [delay(attempts, base=10, most=10_000) for _ in range(200)] for attempts in (1, 4)
    }

    assert all(5 <= wait <= 10 for wait in waits[1])
    assert all(40 <= wait <= 80 for wait in waits[4])
    assert len(set(waits[4])) > 1


def test_the_wait_is_never_shorter_than_asked_nor_longer_than_the_ceiling():
    assert delay(1, base=10, most=600, at_least=30) == 30
    assert delay(30, base=10, most=600) == 600
