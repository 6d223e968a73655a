"""Verifying credentials against the fakes: accepted ones say OK, refused ones say why."""

import json

import pytest

from channels_app.models import Health
from channels_app.reasons import describe_delivery, explain
from channels_app.verification import APNS_ACCEPTED, FCM_ACCEPTED, Verdict, verify
from tests import keys
from tests.factories import (
    ApnsCertificateCredentialFactory,
    ApnsTokenCredentialFactory,
    FcmCredentialFactory,
)

pytestmark = pytest.mark.django_db


def test_a_registered_apns_key_is_ok_because_the_dummy_token_is_refused(apns_credential):
    result = verify(apns_credential)

    assert result.verdict is Verdict.OK
    assert result.words == APNS_ACCEPTED
    apns_credential.refresh_from_db()
    assert apns_credential.health == Health.OK
    assert apns_credential.verified_at is not None
    assert apns_credential.verification_result == APNS_ACCEPTED


def test_an_apns_key_apple_does_not_know_needs_attention_and_says_so(space, apns_fake):
    credential = ApnsTokenCredentialFactory(space=space, response_timeout=5.0)

    result = verify(credential)

    assert result.verdict is Verdict.NEEDS_ATTENTION
    assert "InvalidProviderToken" in result.words
    assert "key ID, team ID or .p8 key" in result.words
    credential.refresh_from_db()
    assert credential.health == Health.NEEDS_ATTENTION
    assert "InvalidProviderToken" in credential.health_reason
    assert credential.verification_result == result.words


def test_an_apns_key_registered_for_another_team_needs_attention(space, apns_fake):
    credential = ApnsTokenCredentialFactory(space=space, response_timeout=5.0)
    apns_fake.register_key(
        key_id=credential.key_id,
        team_id="OTHERTEAM1",
        private_or_public_key=credential.key_p8,
        topics=[credential.bundle_id],
    )

    result = verify(credential)

    assert result.verdict is Verdict.NEEDS_ATTENTION
    assert "InvalidProviderToken" in result.words


def test_a_certificate_apple_does_not_know_needs_attention(space, apns_fake):
    credential = ApnsCertificateCredentialFactory(space=space, response_timeout=5.0)

    result = verify(credential)

    assert result.verdict is Verdict.NEEDS_ATTENTION
    # The fake answers a certificate it does not trust as if no credential came with it.
    assert "BadCertificate" in result.words or "MissingProviderToken" in result.words


def test_a_registered_fcm_service_account_is_ok(fcm_credential):
    result = verify(fcm_credential)

    assert result.verdict is Verdict.OK
    assert result.words == FCM_ACCEPTED
    fcm_credential.refresh_from_db()
    assert fcm_credential.health == Health.OK
    assert fcm_credential.verified_at is not None


def test_an_fcm_service_account_google_does_not_know_needs_attention(space, fcm_fake):
    account = keys.service_account_json(project_id="pushport-test", token_uri=fcm_fake.token_uri)
    credential = FcmCredentialFactory(
        space=space,
        project_id="pushport-test",
        client_email=account["client_email"],
        service_account_json=json.dumps(account),
        response_timeout=5.0,
    )

    result = verify(credential)

    assert result.verdict is Verdict.NEEDS_ATTENTION
    assert "invalid_grant" in result.words
    credential.refresh_from_db()
    assert credential.health == Health.NEEDS_ATTENTION


def test_a_verification_that_gets_no_answer_leaves_the_health_alone(space, apns_fake):
    credential = ApnsTokenCredentialFactory(
        space=space, response_timeout=5.0, endpoint="127.0.0.1:1"
    )

    result = verify(credential)

    assert result.verdict is not Verdict.OK
    credential.refresh_from_db()
    assert credential.health != Health.OK


def test_reasons_read_as_words_with_the_code_kept():
    assert explain("Unregistered").startswith("the app was uninstalled")
    assert "(UNREGISTERED: Requested entity was not found.)" in explain(
        "UNREGISTERED: Requested entity was not found."
    )
    assert explain("gave up after 5 attempts: ServiceUnavailable") == "ServiceUnavailable"
    assert explain("something new") == "something new"


def test_a_delivery_reads_as_its_status_and_why():
    assert describe_delivery(status="delivered", reason="") == "delivered to the provider"
    assert describe_delivery(status="invalid_token", reason="BadDeviceToken").startswith(
        "invalid token (the device was deactivated): the token is not a valid token"
    )
