"""Session API routes (Comapi-compatible)."""

from django.urls import path

from . import views

# Path ids are plain strings so an id that is not a UUID still gets the API's JSON 404;
# a profile id is a JWT subject, which may hold a "/".
urlpatterns = [
    path(
        "apispaces/<str:space_id>/sessions/start",
        views.SessionStartView.as_view(),
        name="session-start",
    ),
    path(
        "apispaces/<str:space_id>/sessions/tokens/anon",
        views.AnonTokenView.as_view(),
        name="session-anon-token",
    ),
    path(
        "apispaces/<str:space_id>/sessions",
        views.SessionCreateView.as_view(),
        name="session-create",
    ),
    path(
        "apispaces/<str:space_id>/sessions/<str:session_id>",
        views.SessionDetailView.as_view(),
        name="session-detail",
    ),
    path(
        "apispaces/<str:space_id>/profiles",
        views.ProfileQueryView.as_view(),
        name="profile-query",
    ),
    # DELETE only; any other method reaches the profile whose id holds "/devices/".
    path(
        "apispaces/<str:space_id>/profiles/<path:profile_id>/devices/<str:device_id>",
        views.profile_or_device,
        name="profile-device",
    ),
    path(
        "apispaces/<str:space_id>/profiles/<path:profile_id>",
        views.ProfileView.as_view(),
        name="profile-detail",
    ),
    path(
        "cpaas/sessions/<str:session_id>",
        views.CpaasSessionView.as_view(),
        name="cpaas-session-detail",
    ),
    path(
        "cpaas/sessions/tokens/anon",
        views.CpaasAnonTokenView.as_view(),
        name="cpaas-anon-token",
    ),
]
