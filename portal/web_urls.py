"""Portal pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import account, views

space = "spaces/<uuid:space_id>/"

urlpatterns = [
    path("", views.space_list, name="space-list"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", account.PasswordChangeView.as_view(), name="password-change"),
    path(
        "invitation/<uidb64>/<token>/",
        account.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    path(space, views.space_overview, name="space-overview"),
    path(f"{space}rename/", views.space_rename, name="space-rename"),
    path(f"{space}delete/", views.space_delete, name="space-delete"),
    path(f"{space}members/", views.space_members, name="space-members"),
    path(
        f"{space}members/<int:member_id>/role/", views.space_member_role, name="space-member-role"
    ),
    path(
        f"{space}members/<int:member_id>/remove/",
        views.space_member_remove,
        name="space-member-remove",
    ),
    path(f"{space}api-keys/", views.space_api_keys, name="space-api-keys"),
    path(
        f"{space}api-keys/<uuid:key_id>/created/",
        views.space_api_key_created,
        name="space-api-key-created",
    ),
    path(
        f"{space}api-keys/<uuid:key_id>/revoke/",
        views.space_api_key_revoke,
        name="space-api-key-revoke",
    ),
    path("", include("channels_app.web_urls")),
]
