"""Server API routes: messages and deliveries."""

from django.urls import include, path

from . import api_views

urlpatterns = [
    path(
        "apispaces/<uuid:space_id>/messages",
        api_views.MessageCreateView.as_view(),
        name="api-messages",
    ),
    path(
        "apispaces/<uuid:space_id>/messages/batch",
        api_views.MessageBatchView.as_view(),
        name="api-messages-batch",
    ),
    path(
        "apispaces/<uuid:space_id>/messages/<uuid:message_id>",
        api_views.MessageDetailView.as_view(),
        name="api-message",
    ),
    path(
        "apispaces/<uuid:space_id>/messages/<uuid:message_id>/deliveries",
        api_views.MessageDeliveriesView.as_view(),
        name="api-message-deliveries",
    ),
    path("", include("channels_app.api.urls")),
    path("", include("channels_app.compat.mcmt_urls")),
]
