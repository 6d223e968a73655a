"""Portal pages for a space's channels."""

urlpatterns = []
