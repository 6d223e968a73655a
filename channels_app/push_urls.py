"""Session API routes for push registration (served by channels_app, which owns Device)."""

urlpatterns = []
