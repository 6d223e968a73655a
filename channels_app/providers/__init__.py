"""The provider registry: one Provider instance per platform and process."""

import threading

from django.utils.module_loading import import_string

from channels_app.providers.base import Provider

PROVIDERS = {
    "ios": "channels_app.providers.apns.ApnsProvider",
    "android": "channels_app.providers.fcm.FcmProvider",
}

_instances: dict[str, Provider] = {}
_lock = threading.Lock()


def get_provider(platform: str) -> Provider:
    """The process's provider for a platform; KeyError for a platform nobody serves."""
    provider = _instances.get(platform)
    if provider is None:
        with _lock:
            provider = _instances.get(platform)
            if provider is None:
                provider = import_string(PROVIDERS[platform])()
                _instances[platform] = provider
    return provider
