"""WebSocket routes of App Messaging, mounted by portal/asgi.py."""

from django.urls import path

from .socket import MessagingConsumer

websocket_urlpatterns = [
    path("apispaces/<str:space_id>/socket", MessagingConsumer.as_asgi()),
]
