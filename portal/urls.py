"""Root URLs: the portal pages, the admin, the Session API, the Server API and its docs, and
the operations endpoints (health, metrics)."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from . import errors
from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("channels_app.metrics_urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularRedocView.as_view(url_name="schema", template_name="portal/api_docs.html"),
        name="api-docs",
    ),
    path("", include("sessions_app.urls")),
    path("", include("channels_app.messaging.urls")),
    path("", include("channels_app.push_urls")),
    path("", include("channels_app.api_urls")),
    # The PowerAuth Push Server API: its callers change only their base URL (and add a key).
    path("powerauth-push-server/", include("channels_app.compat.powerauth.urls")),
    path("", include("portal.web_urls")),
    # Last: any other path under an API prefix (or an id its converter refused) is a JSON 404.
    re_path(r"^(?:apispaces|cpaas|api)(?:/|$)", errors.api_not_found),
]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
