"""Reading h2load's report: successful requests per second, whatever unit the time is in."""

import pytest

from bench.capacity import successes_per_second

REPORT = """
finished in {time}, 21646.53 req/s, 835.82KB/s
requests: 20000 total, 20000 started, 20000 done, {ok} succeeded, 0 failed, 0 errored
status codes: {ok} 2xx, 0 3xx, 0 4xx, 0 5xx
"""


@pytest.mark.parametrize(
    ("time", "rate"),
    [("2.00s", 9_950.0), ("919.36ms", 19_900 / 0.91936), ("500000.00us", 39_800.0)],
)
def test_the_rate_counts_only_successes_over_the_time_in_its_unit(time, rate):
    report = REPORT.format(time=time, ok=19_900)
    assert successes_per_second(report, n=20_000, least=0.9) == pytest.approx(rate)


def test_by_default_every_request_must_succeed():
    with pytest.raises(SystemExit, match="status codes: 19900 2xx"):
        successes_per_second(REPORT.format(time="1.00s", ok=19_900), n=20_000)


def test_a_run_where_fewer_than_asked_succeeded_stops_with_the_report():
    with pytest.raises(SystemExit, match="status codes: 17000 2xx"):
        successes_per_second(REPORT.format(time="1.00s", ok=17_000), n=20_000, least=0.9)
