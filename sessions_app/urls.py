"""Session API routes (Comapi-compatible)."""

urlpatterns = []
