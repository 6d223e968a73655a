"""Portal pages."""

from django.urls import include, path

urlpatterns = [
    path("", include("channels_app.web_urls")),
]
