"""The provider registry: one Provider instance per platform and process."""

import os
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


def _forget_parent_providers():
    global _lock
    # A forked child (Celery's prefork pool) must not use the parent's connections, event
    # loop or locks: it builds its own providers on first use.
    _instances.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parent_providers)
