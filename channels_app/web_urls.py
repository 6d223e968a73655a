"""Portal pages for a space's channels."""

from django.urls import include, path

from . import views
from .web import try_push, verify

urlpatterns = [
    path("", include("channels_app.web.urls")),
    path("spaces/<uuid:space_id>/channels/", views.space_channels, name="space-channels"),
    path(
        "spaces/<uuid:space_id>/channels/<str:channel>/remove/",
        views.space_channel_remove,
        name="space-channel-remove",
    ),
    path(
        "spaces/<uuid:space_id>/channels/<str:channel>/verify/",
        verify.space_channel_verify,
        name="space-channel-verify",
    ),
    path("spaces/<uuid:space_id>/test-push/", try_push.space_test_push, name="space-test-push"),
    path(
        "spaces/<uuid:space_id>/test-push/<uuid:message_id>/",
        try_push.space_test_push_result,
        name="space-test-push-result",
    ),
]
