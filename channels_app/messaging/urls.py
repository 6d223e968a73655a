"""The SDK's conversation routes. Paths are case-sensitive: `statusupdates` is lowercase, as
the SDK sends it. A conversation id is one path segment (the SDK encodes any '/' in it, and
ids are UUIDs or names in practice)."""

from django.urls import path

from . import content_views, cpaas_views, views

BASE = "apispaces/<str:space_id>/conversations"

urlpatterns = [
    path(BASE, views.ConversationsView.as_view(), name="conversations"),
    path(f"{BASE}/<str:conversation_id>", views.ConversationView.as_view(), name="conversation"),
    path(
        f"{BASE}/<str:conversation_id>/participants",
        views.ParticipantsView.as_view(),
        name="conversation-participants",
    ),
    path(
        f"{BASE}/<str:conversation_id>/typing",
        views.TypingView.as_view(),
        name="conversation-typing",
    ),
    path(
        f"{BASE}/<str:conversation_id>/messages",
        views.MessagesView.as_view(),
        name="conversation-messages",
    ),
    path(
        f"{BASE}/<str:conversation_id>/messages/statusupdates",
        views.StatusUpdatesView.as_view(),
        name="conversation-statusupdates",
    ),
    path(
        f"{BASE}/<str:conversation_id>/events",
        views.EventsView.as_view(),
        name="conversation-events",
    ),
    path(
        "apispaces/<str:space_id>/content",
        content_views.ContentUploadView.as_view(),
        name="content-upload",
    ),
    # What the upload's signed URL points at; the signature, not a header, lets it be read.
    path(
        "apispaces/<str:space_id>/content/<str:file_id>",
        content_views.ContentFileView.as_view(),
        name="content-file",
    ),
    path("cpaas/content", content_views.CpaasContentUploadView.as_view(), name="cpaas-content"),
]

# The /cpaas twins for back ends: the space is the API key's, so the views get none from the
# URL (space_id=None).
CPAAS = "cpaas/conversations"
NO_SPACE = {"space_id": None}
urlpatterns += [
    path(CPAAS, cpaas_views.CpaasConversationsView.as_view(), NO_SPACE, name="cpaas-conversations"),
    path(
        f"{CPAAS}/<str:conversation_id>",
        cpaas_views.CpaasConversationView.as_view(),
        NO_SPACE,
        name="cpaas-conversation",
    ),
    path(
        f"{CPAAS}/<str:conversation_id>/participants",
        cpaas_views.CpaasParticipantsView.as_view(),
        NO_SPACE,
        name="cpaas-conversation-participants",
    ),
    path(
        f"{CPAAS}/<str:conversation_id>/typing",
        cpaas_views.CpaasTypingView.as_view(),
        NO_SPACE,
        name="cpaas-conversation-typing",
    ),
    path(
        f"{CPAAS}/<str:conversation_id>/messages",
        cpaas_views.CpaasMessagesView.as_view(),
        NO_SPACE,
        name="cpaas-conversation-messages",
    ),
    path(
        f"{CPAAS}/<str:conversation_id>/messages/statusupdates",
        cpaas_views.CpaasStatusUpdatesView.as_view(),
        NO_SPACE,
        name="cpaas-conversation-statusupdates",
    ),
    path(
        f"{CPAAS}/<str:conversation_id>/events",
        cpaas_views.CpaasEventsView.as_view(),
        NO_SPACE,
        name="cpaas-conversation-events",
    ),
]
