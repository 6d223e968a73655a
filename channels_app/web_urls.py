"""Portal pages for a space's channels."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("", include("channels_app.web.urls")),
    path("spaces/<uuid:space_id>/channels/", views.space_channels, name="space-channels"),
    path(
        "spaces/<uuid:space_id>/channels/<str:channel>/remove/",
        views.space_channel_remove,
        name="space-channel-remove",
    ),
]
