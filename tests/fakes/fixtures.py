"""Pytest fixtures that run the provider fakes and point the settings at them."""

import pytest

from tests.fakes.apns import PRODUCTION, SANDBOX, FakeApns
from tests.fakes.fcm import FakeFcm
from tests.fakes.tls import TestCA


@pytest.fixture(scope="session")
def _provider_ca():
    """One CA for every fake, so one CA bundle setting trusts them all."""
    ca = TestCA()
    yield ca
    ca.cleanup()


@pytest.fixture(scope="session")
def _apns_server(_provider_ca):
    fake = FakeApns(ca=_provider_ca).start()
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


@pytest.fixture(scope="session")
def _fcm_server(_provider_ca):
    fake = FakeFcm(ca=_provider_ca).start()
    yield fake
    fake.stop()


@pytest.fixture
def fcm_fake(_fcm_server, settings):
    """The fake FCM, reset, with the FCM base URL and the CA bundle setting pointing at it."""
    _fcm_server.reset()
    settings.PUSHPORT_FCM_BASE_URL = _fcm_server.base_url
    settings.PUSHPORT_PROVIDER_CA_BUNDLE = _fcm_server.ca.ca_file
    return _fcm_server
