"""Python's garbage collector, set for processes that keep a large start-up and allocate
millions of short-lived objects.

CPython's full collections scan every object alive: with Django, DRF and the providers
loaded, each one walked more than a hundred thousand objects that live as long as the
process, and bench/send_throughput.py measured 17% of the servers' CPU spent collecting
(0.70 s of about 3.9 s per server). Frozen after start-up, those objects are left out of
every later collection (0.26 s); what requests and sends allocate is collected as before,
so memory stays as it was.
"""

import gc


def settle() -> None:
    """Leave everything loaded so far out of later collections (call once the apps are ready)."""
    gc.collect()
    gc.freeze()
