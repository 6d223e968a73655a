"""What a fake can take: the processes serving it, and h2load (nghttp2's load generator) on it."""

import os
import re
import shutil
import subprocess
import tempfile

# The Node fakes serve from a process per core (up to four, more than any client here needs),
# so that a fake is not what limits a figure.
FAKE_WORKERS = min(os.cpu_count() or 1, 4)
# A fake served from several processes gets h2load's connections in turn: give each a few.
CONNECTIONS = 4
STREAMS = 100
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def h2load_rate(
    url: str, *, n: int, body: bytes, headers: dict[str, str], least: float = 1.0
) -> float | None:
    """Successful requests per second of n POSTs of `body` to `url` (None without h2load).

    Only 2xx answers count, and at least `least` of the n must get one: a fake may refuse
    some on purpose (APNs's one stream before a valid token).
    """
    h2load = shutil.which("h2load")
    if h2load is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as file:
        file.write(body)
    try:
        command = [h2load, f"-n{n}", f"-c{CONNECTIONS}", f"-m{STREAMS}", "-t1", "-d", file.name]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=False).stdout
    finally:
        os.unlink(file.name)
    return successes_per_second(output, n=n, least=least)


def successes_per_second(output: str, *, n: int, least: float = 1.0) -> float:
    """2xx answers per second in h2load's report of n requests; stops the run with the report
    when fewer than `least` of them succeeded."""
    succeeded = re.search(r"status codes: (\d+) 2xx", output)
    # h2load prints the time in s, ms or us, by how long the run took.
    finished = re.search(r"finished in ([\d.]+)(s|ms|us),", output)
    if not (succeeded and finished) or int(succeeded.group(1)) < n * least:
        raise SystemExit(
            f"h2load got fewer than {n * least:.0f} successes from the fake:\n{output}"
        )
    return int(succeeded.group(1)) / (float(finished.group(1)) * _UNITS[finished.group(2)])
