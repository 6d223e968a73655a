"""Credential settings: connection bounds and the APNs endpoint, in the model and the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from channels_app.models import ApnsCredential, FcmCredential
from channels_app.validators import validate_apns_endpoint
from tests.factories import ApnsTokenCredentialFactory, FcmCredentialFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("factory", [ApnsTokenCredentialFactory, FcmCredentialFactory])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_connections", 0),
        ("max_connections", 33),
        ("max_connections", 32767),
        ("response_timeout", 0.5),
        ("response_timeout", 61),
        ("response_timeout", 1e9),
    ],
)
def test_the_model_refuses_values_out_of_bounds(factory, field, value):
    credential = factory()
    setattr(credential, field, value)
    with pytest.raises(ValidationError) as refused:
        credential.full_clean()
    assert field in refused.value.message_dict


@pytest.mark.parametrize("model", [ApnsCredential, FcmCredential])
@pytest.mark.parametrize(
    "values", [{"max_connections": 32767}, {"max_connections": 0}, {"response_timeout": 1e9}]
)
def test_the_database_refuses_values_out_of_bounds(model, values):
    factory = ApnsTokenCredentialFactory if model is ApnsCredential else FcmCredentialFactory
    credential = factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=credential.pk).update(**values)


def test_the_bounds_themselves_are_allowed():
    credential = ApnsTokenCredentialFactory(max_connections=32, response_timeout=60)
    credential.full_clean()
    credential = ApnsTokenCredentialFactory(max_connections=1, response_timeout=1)
    credential.full_clean()


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("gateway.internal", "Write host:port"),
        ("bad_host:443", "is not a host name"),
        ("[nope]:443", "is not an IPv6 address"),
        ("127.0.0.1:2195", "PUSHPORT_APNS_ENDPOINT_ALLOWLIST"),
        ("metadata.google.internal:80", "PUSHPORT_APNS_ENDPOINT_ALLOWLIST"),
    ],
)
def test_an_endpoint_must_be_well_formed_and_allowed(endpoint, message):
    with pytest.raises(ValidationError, match=message):
        validate_apns_endpoint(endpoint)


def test_an_empty_endpoint_means_apples_hosts():
    validate_apns_endpoint("")
