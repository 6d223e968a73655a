"""Server API routes: messages and deliveries."""

urlpatterns = []
