"""Python's garbage collector, set for processes that keep a large start-up and allocate
millions of short-lived objects.

CPython's full collections scan every object alive: with Django, DRF and the providers
loaded, each one walked more than a hundred thousand objects that live as long as the
process, and bench/send_throughput.py measured 17% of the servers' CPU spent collecting
(0.70 s of about 3.9 s per server). Frozen after start-up, those objects are left out of
every later collection (0.26 s). The rest was DRF's request and response cycles: a batch's
parsed body and answer survived the young collections of the request that made them and
died in full ones. Freed by reference counting once the answer is rendered
(ReleaseApiObjects), they leave the collector little to do, so the young generation is
collected every YOUNG allocations instead of CPython's 700: 0.10 s, with peak memory at
100,000 notifications 284 MB (280 MB before; 289 MB collecting every 10,000).
"""

import gc

# Allocations between young collections (CPython's default: 700).
YOUNG = 5_000


def settle() -> None:
    """Leave everything loaded so far out of later collections (call once the apps are
    ready), and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, *gc.get_threshold()[1:])


class ReleaseApiObjects:
    """Middleware: what a DRF view made for a request is freed as soon as its answer is.

    DRF links a view, its Request and its Response in reference cycles (their parser and
    renderer contexts), so a request's parsed body and the view's answer (for a batch, tens of
    thousands of objects) waited for a full collection, which walked all of them first.
    Emptied once the response is rendered, the contexts leave reference counting to free them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        context = getattr(response, "renderer_context", None)
        if isinstance(context, dict) and getattr(response, "is_rendered", False):
            api_request = context.get("request")
            if api_request is not None:
                api_request.parser_context = {}
            context.clear()
        return response
