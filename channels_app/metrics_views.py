"""GET /metrics for Prometheus, served only to a scraper that presents PUSHPORT_METRICS_TOKEN."""

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .metrics import exposition


def _authorized(request) -> bool:
    token = settings.PUSHPORT_METRICS_TOKEN
    if not token:
        return False
    presented = request.headers.get("Authorization", "")
    return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())


@never_cache
@require_safe
def metrics(request):
    """The Prometheus text exposition; 404, as if absent, without the token or with it unset."""
    if not _authorized(request):
        raise Http404("No such page")
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
