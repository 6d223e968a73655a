"""ASGI entry point: Django for HTTP, and App Messaging's WebSocket
(/apispaces/{apiSpaceId}/socket?token=<session token>).

Serve it with `daphne portal.asgi:application` (or uvicorn); runserver serves it too.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Set up Django before importing the socket routes, which import models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

# By dotted path, as urls.py includes the apps' URLs: the project wires the apps in, and the
# portal app keeps importing none of the apps built on it.
websocket_urlpatterns = import_string("channels_app.messaging.routing.websocket_urlpatterns")

# No origin check on the socket: it authenticates by the session token in its URL, not by
# cookies, and the SDK runs in pages and apps of any origin.
application = ProtocolTypeRouter(
    {"http": django_application, "websocket": URLRouter(websocket_urlpatterns)}
)
