"""Root URLs: the portal pages, the admin, the Session API, the Server API and its docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="schema"), name="api-docs"),
    path("", include("sessions_app.urls")),
    path("", include("channels_app.push_urls")),
    path("", include("channels_app.api_urls")),
    path("", include("portal.web_urls")),
]
