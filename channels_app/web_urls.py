"""Portal pages for a space's channels."""

from django.urls import include, path

from . import views
from .web import try_push, verify, webhooks

webhook = "spaces/<uuid:space_id>/webhooks/<uuid:webhook_id>/"

urlpatterns = [
    path("", include("channels_app.web.urls")),
    path("", include("channels_app.web.campaign_urls")),
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
    path("spaces/<uuid:space_id>/webhooks/", webhooks.space_webhooks, name="space-webhooks"),
    path(f"{webhook}created/", webhooks.space_webhook_created, name="space-webhook-created"),
    path(f"{webhook}active/", webhooks.space_webhook_active, name="space-webhook-active"),
    path(f"{webhook}delete/", webhooks.space_webhook_delete, name="space-webhook-delete"),
    path(f"{webhook}test/", webhooks.space_webhook_test, name="space-webhook-test"),
]
