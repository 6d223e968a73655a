"""Session API routes for push registration (served by channels_app, which owns Device)."""

from django.urls import path

from .push_views import SessionPushView

urlpatterns = [
    path(
        "apispaces/<str:space_id>/sessions/<str:session_id>/push",
        SessionPushView.as_view(),
        name="session-push",
    ),
]
