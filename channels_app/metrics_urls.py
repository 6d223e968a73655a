"""The Prometheus endpoint, included by the root URLs (portal cannot import this app)."""

from django.urls import path

from .metrics_views import metrics

urlpatterns = [
    path("metrics", metrics, name="metrics"),
]
