"""Portal pages of a space's devices, profiles and messages."""

from django.urls import path

from . import devices, messages, profiles

space = "spaces/<uuid:space_id>/"

urlpatterns = [
    path(f"{space}devices/", devices.device_list, name="space-devices"),
    path(f"{space}devices/<int:device_id>/", devices.device_detail, name="space-device"),
    path(
        f"{space}devices/<int:device_id>/deactivate/",
        devices.device_deactivate,
        name="space-device-deactivate",
    ),
    path(f"{space}profiles/", profiles.profile_list, name="space-profiles"),
    path(f"{space}profiles/<int:profile_pk>/", profiles.profile_detail, name="space-profile"),
    path(f"{space}messages/", messages.message_list, name="space-messages"),
    path(f"{space}messages/<uuid:message_id>/", messages.message_detail, name="space-message"),
]
