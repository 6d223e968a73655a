"""Fixtures of the Session API tests."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import AppMessagingAuthFactory


@pytest.fixture
def auth(space):
    """The space's App Messaging settings."""
    return AppMessagingAuthFactory(space=space)


@pytest.fixture
def other_auth(other_space):
    return AppMessagingAuthFactory(space=other_space)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(autouse=True)
def empty_cache():
    """Throttle counters live in the cache; every test starts from none."""
    cache.clear()
    yield
    cache.clear()
