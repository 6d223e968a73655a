"""Fixtures shared by every test module."""

import pytest
from django.core.cache import cache
from django.test import Client

from portal.apikeys import create_api_key
from portal.models import Role
from tests.factories import ApiSpaceFactory, MembershipFactory, UserFactory

pytest_plugins = ["tests.fakes.fixtures", "tests.channels_app.processes", "tests.asgi_servers"]


@pytest.fixture
def space(db):
    return ApiSpaceFactory()


@pytest.fixture
def other_space(db):
    return ApiSpaceFactory(name="Other space")


@pytest.fixture
def owner(space):
    return MembershipFactory(space=space, role=Role.OWNER).user


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def api_key(space) -> str:
    """A fresh API key secret for `space`."""
    return create_api_key(space=space, name="test")[1]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture(autouse=True)
def no_embedded_scheduler(settings):
    # A sweeper thread would share the test database with the test; tests sweep by hand.
    settings.PUSHPORT_EMBEDDED_SCHEDULER = False


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every factory user hashes a password; the production hasher's cost is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache: each test starts with none, whatever ran before."""
    cache.clear()
    yield
    cache.clear()
