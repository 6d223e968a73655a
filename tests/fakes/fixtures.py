"""Pytest fixtures that run the provider fakes and point the settings at them."""

import pytest

from tests.fakes.apns import PRODUCTION, SANDBOX, FakeApns


@pytest.fixture(scope="session")
def _apns_server():
    fake = FakeApns().start()
    yield fake
    fake.stop()


@pytest.fixture
def apns_fake(_apns_server, settings):
    """The fake APNs, reset, with both APNs hosts and the CA bundle setting pointing at it."""
    _apns_server.reset()
    settings.PUSHPORT_APNS_PRODUCTION_HOST = _apns_server.host(PRODUCTION)
    settings.PUSHPORT_APNS_SANDBOX_HOST = _apns_server.host(SANDBOX)
    settings.PUSHPORT_PROVIDER_CA_BUNDLE = _apns_server.ca.ca_file
    return _apns_server
