"""The FCM provider against the fake FCM, over real HTTP/2 and TLS sockets."""

import json
import logging
import secrets
import time
import uuid

import pytest

from channels_app.payloads import FcmPayload, fcm_message
from channels_app.providers import get_provider
from channels_app.providers.base import Outcome, PushItem
from channels_app.providers.fcm import FcmProvider
from tests import keys
from tests.factories import FcmCredentialFactory, MessageFactory
from tests.fakes.fcm import FastFakeFcm
from tests.services import node_binary

PACKAGE = "com.example.app"


@pytest.fixture
def provider():
    provider = FcmProvider()
    yield provider
    provider.close()


@pytest.fixture
def credential(db, fcm_fake):
    info = fcm_fake.service_account(project_id="demo-project")
    return FcmCredentialFactory(service_account_json=json.dumps(info), project_id="demo-project")


def device_token() -> str:
    return secrets.token_urlsafe(120)


def items_for(tokens, payload=None, **message_fields) -> list[PushItem]:
    payload = payload or fcm_message(MessageFactory.build(**message_fields), package_name=PACKAGE)
    return [
        PushItem(delivery_id=str(uuid.uuid4()), token=token, payload=payload) for token in tokens
    ]


def raw_payload(message: dict) -> FcmPayload:
    """A payload payloads.py would never build, to see what the fake refuses."""
    encoded = json.dumps(message).encode()
    return FcmPayload(
        message=message, body_prefix=b'{"message":' + encoded[:-1] + b',"token":', body_suffix=b"}}"
    )


def test_it_gets_an_oauth_token_through_the_fake_and_reuses_it(provider, credential, fcm_fake):
    first = provider.send(credential, items_for([device_token() for _ in range(50)]))
    second = provider.send(credential, items_for([device_token() for _ in range(50)]))
    assert {result.outcome for result in first + second} == {Outcome.DELIVERED}
    assert all(r.provider_id.startswith("projects/demo-project/messages/") for r in first + second)
    assert fcm_fake.counts.token_grants == 1
    assert fcm_fake.counts.accepted == 100
    assert fcm_fake.counts.http2_connections >= 1


def test_it_sends_the_message_with_the_device_token(provider, credential, fcm_fake):
    token = device_token()
    provider.send(credential, items_for([token], title="Hi", body="There", icon="ic_bell"))
    [sent] = fcm_fake.messages_for(token)
    assert sent["notification"] == {"title": "Hi", "body": "There"}
    assert sent["android"]["restricted_package_name"] == PACKAGE
    assert sent["android"]["notification"] == {"icon": "ic_bell"}
    assert fcm_fake.sent[0].headers["authorization"].startswith("Bearer ya29.fake-")


def test_an_assertion_signed_by_another_key_is_a_credential_error(provider, db, fcm_fake):
    info = fcm_fake.service_account()
    info["private_key"] = keys.p8(keys.rsa_key()).decode()
    credential = FcmCredentialFactory(service_account_json=json.dumps(info))
    results = provider.send(credential, items_for([device_token(), device_token()]))
    assert {result.outcome for result in results} == {Outcome.CREDENTIAL_ERROR}
    assert "invalid_grant" in results[0].reason
    assert fcm_fake.counts.token_refusals == 1
    assert fcm_fake.counts.requests == 0


def test_it_refreshes_the_token_shortly_before_it_expires(provider, credential, fcm_fake):
    # google-auth calls a token stale 225 s before its expiry: this one is fresh for ~1 s.
    fcm_fake.token_lifetime = 226
    assert provider.send(credential, items_for([device_token()]))[0].outcome is Outcome.DELIVERED
    assert fcm_fake.counts.token_grants == 1
    time.sleep(1.5)
    assert provider.send(credential, items_for([device_token()]))[0].outcome is Outcome.DELIVERED
    assert fcm_fake.counts.token_grants == 2


def test_a_401_refreshes_the_token_once_and_delivers(provider, credential, fcm_fake):
    provider.send(credential, items_for([device_token()]))
    fcm_fake.revoke_access_tokens()
    results = provider.send(credential, items_for([device_token() for _ in range(20)]))
    assert {result.outcome for result in results} == {Outcome.DELIVERED}
    assert fcm_fake.counts.token_grants == 2
    assert fcm_fake.counts.errors["UNAUTHENTICATED"] >= 1
    assert fcm_fake.counts.accepted == 21


def test_a_401_after_the_refresh_is_a_credential_error(provider, credential, fcm_fake):
    token = device_token()
    fcm_fake.fail(token, 401, message="Request had invalid authentication credentials.")
    [result] = provider.send(credential, items_for([token]))
    assert result.outcome is Outcome.CREDENTIAL_ERROR
    assert result.status == 401
    assert fcm_fake.counts.token_grants == 2


@pytest.mark.parametrize(
    ("status", "error_code", "message", "outcome"),
    [
        (404, "UNREGISTERED", "Requested entity was not found.", Outcome.INVALID_TOKEN),
        (403, "SENDER_ID_MISMATCH", "SenderId mismatch", Outcome.INVALID_TOKEN),
        (400, "INVALID_ARGUMENT", "", Outcome.INVALID_TOKEN),
        (400, "INVALID_ARGUMENT", "Request contains an invalid argument.", Outcome.REJECTED),
        (429, "QUOTA_EXCEEDED", "Quota exceeded.", Outcome.RETRY),
        (500, "INTERNAL", "Internal error.", Outcome.RETRY),
        (503, "UNAVAILABLE", "The service is currently unavailable.", Outcome.RETRY),
        (401, "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS.", Outcome.CREDENTIAL_ERROR),
        (403, None, "The caller does not have permission", Outcome.CREDENTIAL_ERROR),
    ],
)
def test_each_fcm_error_maps_to_its_outcome(
    provider, credential, fcm_fake, status, error_code, message, outcome
):
    token = device_token()
    fcm_fake.fail(token, status, error_code, message=message)
    [result] = provider.send(credential, items_for([token]))
    assert result.outcome is outcome
    assert result.status == status
    assert (error_code or "PERMISSION_DENIED") in result.reason


def test_it_honours_retry_after(provider, credential, fcm_fake):
    token = device_token()
    fcm_fake.fail(token, 429, "QUOTA_EXCEEDED", retry_after=30)
    [result] = provider.send(credential, items_for([token]))
    assert result.outcome is Outcome.RETRY
    assert result.retry_after == 30.0


def test_a_token_the_fake_finds_malformed_is_invalid(provider, credential, fcm_fake):
    [result] = provider.send(credential, items_for(["not a token!"]))
    assert result.outcome is Outcome.INVALID_TOKEN
    assert "registration token" in result.reason


def test_a_payload_the_fake_refuses_is_rejected(provider, credential, fcm_fake):
    payload = raw_payload({"data": {"count": 1}})
    [result] = provider.send(credential, items_for([device_token()], payload=payload))
    assert result.outcome is Outcome.REJECTED
    assert "TYPE_STRING" in result.reason


def test_data_values_arrive_as_strings(provider, credential, fcm_fake):
    token = device_token()
    extras = {"count": 5, "nested": {"a": [1, 2]}, "flag": False}
    provider.send(credential, items_for([token], extras=extras))
    [sent] = fcm_fake.messages_for(token)
    assert sent["data"] == {"count": "5", "nested": '{"a":[1,2]}', "flag": "false"}


def test_a_silent_message_arrives_data_only(provider, credential, fcm_fake):
    token = device_token()
    provider.send(credential, items_for([token], silent=True, extras={"sync": "inbox"}))
    [sent] = fcm_fake.messages_for(token)
    assert "notification" not in sent
    assert "notification" not in sent["android"]
    assert sent["data"] == {"sync": "inbox"}


def test_a_credential_error_fails_the_rest_of_the_send_fast(provider, credential, fcm_fake):
    credential.max_connections = 1
    tokens = [device_token() for _ in range(500)]
    fcm_fake.fail(tokens[0], 403, None, message="The caller does not have permission")
    results = provider.send(credential, items_for(tokens))
    assert results[0].outcome is Outcome.CREDENTIAL_ERROR
    unsent = [result for result in results if result.reason.startswith("not sent")]
    assert len(unsent) >= 400
    assert {result.outcome for result in unsent} == {Outcome.CREDENTIAL_ERROR}
    assert fcm_fake.counts.requests == 500 - len(unsent)


def test_it_counts_2000_messages(provider, credential, fcm_fake):
    results = provider.send(credential, items_for([device_token() for _ in range(2000)]))
    assert [result.outcome for result in results] == [Outcome.DELIVERED] * 2000
    assert len({result.provider_id for result in results}) == 2000
    assert fcm_fake.counts.accepted == 2000


def test_it_bounds_the_requests_in_flight(provider, credential, fcm_fake):
    credential.max_connections = 1
    fcm_fake.delay_answers(0.02)
    results = provider.send(credential, items_for([device_token() for _ in range(600)]))
    assert {result.outcome for result in results} == {Outcome.DELIVERED}
    assert fcm_fake.counts.max_concurrent_streams == 100


def test_a_request_without_an_answer_in_time_is_retried(provider, credential, fcm_fake):
    credential.response_timeout = 0.3
    stalled, fine = device_token(), device_token()
    fcm_fake.stall(stalled)
    results = provider.send(credential, items_for([stalled, fine]))
    assert results[0].outcome is Outcome.RETRY
    assert "RequestTimeout" in results[0].reason
    assert results[1].outcome is Outcome.DELIVERED


def test_a_stream_refused_by_the_server_is_unsent_so_it_goes_again_at_no_cost(
    provider, credential, fcm_fake
):
    token = device_token()
    fcm_fake.reset_stream(token)  # REFUSED_STREAM: the server did no processing
    [result] = provider.send(credential, items_for([token]))
    assert result.outcome is Outcome.UNSENT
    assert "StreamReset" in result.reason


def test_goaway_loses_nothing(provider, credential, fcm_fake):
    credential.max_connections = 1
    fcm_fake.goaway_after_accepting(10)
    results = provider.send(credential, items_for([device_token() for _ in range(300)]))
    delivered = [result for result in results if result.outcome is Outcome.DELIVERED]
    assert {result.outcome for result in results} <= {Outcome.DELIVERED, Outcome.UNSENT}
    assert len(delivered) == fcm_fake.counts.accepted
    assert len(delivered) < 300
    assert provider.send(credential, items_for([device_token()]))[0].outcome is Outcome.DELIVERED


def test_check_credential_validates_without_delivering(provider, credential, fcm_fake):
    result = provider.check_credential(credential)
    assert result.outcome is Outcome.DELIVERED
    assert fcm_fake.counts.validated == 1
    assert fcm_fake.counts.accepted == 0


def test_check_credential_reports_an_unknown_project(provider, db, fcm_fake):
    info = fcm_fake.service_account(project_id="gone-project")
    fcm_fake.projects.discard("gone-project")
    credential = FcmCredentialFactory(service_account_json=json.dumps(info))
    result = provider.check_credential(credential)
    assert result.outcome is Outcome.CREDENTIAL_ERROR
    assert result.status == 404


def test_logs_hold_counts_but_never_a_token_or_secret(provider, credential, fcm_fake, caplog):
    token = device_token()
    fcm_fake.fail(token, 404, "UNREGISTERED")
    with caplog.at_level(logging.DEBUG, logger="channels_app"):
        provider.send(credential, items_for([token, device_token()]))
    text = caplog.text
    assert "delivered=1" in text
    assert "invalid_token=1" in text
    assert token[:20] not in text
    assert "ya29" not in text
    assert "PRIVATE KEY" not in text


@pytest.fixture
def node_fcm_fake(_provider_ca, settings):
    fake = FastFakeFcm(node=node_binary(), ca=_provider_ca).start()
    settings.PUSHPORT_FCM_BASE_URL = fake.base_url
    settings.PUSHPORT_PROVIDER_CA_BUNDLE = fake.ca.ca_file
    yield fake
    fake.stop()


def test_the_benchmarks_node_fake_checks_what_the_python_fake_checks(provider, db, node_fcm_fake):
    credential = FcmCredentialFactory(
        service_account_json=json.dumps(node_fcm_fake.service_account())
    )
    items = [
        *items_for([device_token()]),
        *items_for([device_token()], payload=raw_payload({"data": {"count": 1}})),
        *items_for(["not a token!"]),
    ]
    results = provider.send(credential, items)
    assert [result.outcome for result in results] == [
        Outcome.DELIVERED,
        Outcome.REJECTED,
        Outcome.INVALID_TOKEN,
    ]
    assert "TYPE_STRING" in results[1].reason
    counts = node_fcm_fake.counts
    assert (counts.token_grants, counts.accepted, counts.requests) == (1, 1, 3)


def test_the_benchmarks_node_fake_refuses_a_foreign_assertion(provider, db, node_fcm_fake):
    info = node_fcm_fake.service_account()
    info["private_key"] = keys.p8(keys.rsa_key()).decode()
    credential = FcmCredentialFactory(service_account_json=json.dumps(info))
    [result] = provider.send(credential, items_for([device_token()]))
    assert result.outcome is Outcome.CREDENTIAL_ERROR
    assert "invalid_grant" in result.reason
    assert node_fcm_fake.counts.token_refusals == 1


def test_the_benchmarks_node_fake_on_two_workers_accepts_a_token_either_granted(_provider_ca):
    import ssl

    import httpx
    import requests
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    fake = FastFakeFcm(node=node_binary(), ca=_provider_ca, workers=2).start()
    try:
        info = fake.service_account(project_id="demo-project")
        oauth = service_account.Credentials.from_service_account_info(
            info, scopes=["https://www.googleapis.com/auth/firebase.messaging"]
        )
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE would override `verify`
        session.verify = fake.ca.ca_file
        oauth.refresh(Request(session))
        url = f"{fake.base_url}/v1/projects/demo-project/messages:send"
        tls = ssl.create_default_context(cafile=fake.ca.ca_file)
        # A connection each: the workers take connections in turn.
        names = [
            httpx.post(
                url,
                json={"message": {"token": device_token(), "data": {"n": str(i)}}},
                headers={"authorization": f"Bearer {oauth.token}"},
                verify=tls,
            ).json()["name"]
            for i in range(4)
        ]
        counts = fake.counts
    finally:
        fake.stop()
    workers = {name.rpartition("/")[2].partition(":")[0] for name in names}
    assert len(workers) == 2
    assert (counts.token_grants, counts.accepted, counts.requests) == (1, 4, 4)


def test_the_registry_serves_android_with_the_fcm_provider():
    assert isinstance(get_provider("android"), FcmProvider)


def test_a_changed_service_account_gets_its_own_token(provider, credential, fcm_fake):
    assert provider.send(credential, items_for([device_token()]))[0].outcome is Outcome.DELIVERED
    credential.service_account_json = json.dumps(fcm_fake.service_account())
    assert provider.send(credential, items_for([device_token()]))[0].outcome is Outcome.DELIVERED
    assert fcm_fake.counts.token_grants == 2


def test_an_unusable_service_account_is_a_credential_error(provider, credential, fcm_fake):
    credential.service_account_json = json.dumps({"type": "service_account"})
    [result] = provider.send(credential, items_for([device_token()]))
    assert result.outcome is Outcome.CREDENTIAL_ERROR
    assert "unusable" in result.reason
    assert fcm_fake.counts.requests == 0
