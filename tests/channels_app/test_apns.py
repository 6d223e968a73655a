"""The APNs provider against the fake APNs, over real HTTP/2 and TLS sockets."""

import datetime as dt
import logging
import secrets
import time
import uuid

import pytest

from channels_app import credentials, payloads
from channels_app.providers import get_provider
from channels_app.providers.apns import ApnsProvider
from channels_app.providers.base import Outcome, PushItem
from tests import keys
from tests.factories import (
    ApnsCertificateCredentialFactory,
    ApnsTokenCredentialFactory,
    MessageFactory,
)
from tests.fakes.apns import PRODUCTION, SANDBOX, FastFakeApns
from tests.services import node_binary


class MovableClock:
    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock():
    return MovableClock()


@pytest.fixture
def provider(clock):
    provider = ApnsProvider(clock=clock)
    yield provider
    provider.close()


@pytest.fixture
def credential(apns_fake):
    credential = ApnsTokenCredentialFactory.build(response_timeout=5.0)
    apns_fake.register_key(
        key_id=credential.key_id,
        team_id=credential.team_id,
        private_or_public_key=credential.key_p8,
        topics=[credential.bundle_id],
    )
    return credential


def apns_payload(**fields):
    return payloads.apns_payload(MessageFactory.build(**fields), bundle_id="com.example.app")


def push_items(count: int, *, payload=None, environment: str = "production") -> list[PushItem]:
    payload = payload or apns_payload()
    return [
        PushItem(
            delivery_id=str(uuid.uuid4()),
            token=secrets.token_hex(32),
            payload=payload,
            environment=environment,
        )
        for _ in range(count)
    ]


def outcomes(results) -> list[Outcome]:
    return [result.outcome for result in results]


def test_it_delivers_with_a_provider_token_and_apples_headers(apns_fake, provider, credential):
    items = push_items(3)

    results = provider.send(credential, items)

    assert outcomes(results) == [Outcome.DELIVERED] * 3
    assert [r.provider_id for r in results] == [item.delivery_id for item in items]
    recorded = {n.token: n for n in apns_fake.notifications}
    for item in items:
        notification = recorded[item.token]
        assert notification.headers["apns-id"] == item.delivery_id
        assert notification.headers["apns-topic"] == "com.example.app"
        assert notification.headers["apns-push-type"] == "alert"
        assert notification.headers["apns-priority"] == "10"
        assert notification.headers["authorization"].startswith("bearer ")
        assert notification.payload["aps"]["alert"] == {"title": "Hello", "body": "World"}


def test_a_silent_message_goes_as_a_background_push_at_priority_5(apns_fake, provider, credential):
    items = push_items(1, payload=apns_payload(silent=True, title="", body=""))

    assert outcomes(provider.send(credential, items)) == [Outcome.DELIVERED]
    notification = apns_fake.notifications[0]
    assert notification.headers["apns-push-type"] == "background"
    assert notification.headers["apns-priority"] == "5"
    assert notification.payload["aps"] == {"content-available": 1}


def test_expiration_and_collapse_id_reach_apns(apns_fake, provider, credential):
    valid_until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    items = push_items(1, payload=apns_payload(valid_until=valid_until, collapse_key="score"))

    assert outcomes(provider.send(credential, items)) == [Outcome.DELIVERED]
    headers = apns_fake.notifications[0].headers
    assert headers["apns-expiration"] == str(int(valid_until.timestamp()))
    assert headers["apns-collapse-id"] == "score"


def test_one_cached_token_signs_every_request(apns_fake, provider, credential):
    provider.send(credential, push_items(20))
    provider.send(credential, push_items(20))

    assert apns_fake.counts.accepted == 40
    assert apns_fake.provider_tokens_seen == 1


def test_the_token_is_renewed_after_50_minutes_but_not_within_20(
    apns_fake, provider, credential, clock
):
    provider.send(credential, push_items(5))
    clock.offset += 19 * 60
    apns_fake.advance(19 * 60)
    provider.send(credential, push_items(5))
    assert apns_fake.provider_tokens_seen == 1

    clock.offset += 32 * 60
    apns_fake.advance(32 * 60)
    results = provider.send(credential, push_items(5))

    assert outcomes(results) == [Outcome.DELIVERED] * 5
    assert apns_fake.provider_tokens_seen == 2
    assert apns_fake.counts.token_updates == 1
    assert apns_fake.counts.connections == 1


def test_an_expired_provider_token_is_renewed_once_and_the_request_sent_again(
    apns_fake, provider, credential, clock
):
    provider.send(credential, push_items(1))
    # Our clock says 30 minutes passed, Apple's says 61: Apple calls the token expired.
    clock.offset += 30 * 60
    apns_fake.advance(61 * 60)

    results = provider.send(credential, push_items(3))

    assert outcomes(results) == [Outcome.DELIVERED] * 3
    assert apns_fake.counts.reasons["ExpiredProviderToken"] >= 1
    assert apns_fake.provider_tokens_seen == 2


def test_an_expired_provider_token_is_not_renewed_within_20_minutes(
    apns_fake, provider, credential, clock
):
    provider.send(credential, push_items(1))
    clock.offset += 5 * 60
    apns_fake.advance(61 * 60)

    results = provider.send(credential, push_items(2))

    assert outcomes(results) == [Outcome.RETRY] * 2
    assert {r.reason for r in results} == {"ExpiredProviderToken"}
    assert all(r.retry_after and r.retry_after > 60 for r in results)
    assert apns_fake.provider_tokens_seen == 1


def test_it_authenticates_with_the_p12_client_certificate(apns_fake, provider):
    credential = ApnsCertificateCredentialFactory.build()
    bundle = credentials.parse_p12(credential.p12_bytes, credential.certificate_password)
    apns_fake.register_certificate(bundle.certificate, topic=credential.topic)

    results = provider.send(credential, push_items(4))

    assert outcomes(results) == [Outcome.DELIVERED] * 4
    assert apns_fake.counts.tls_client_certificates == 1
    assert all("authorization" not in n.headers for n in apns_fake.notifications)


def test_a_certificate_apns_does_not_know_is_a_credential_error(apns_fake, provider):
    known = ApnsCertificateCredentialFactory.build()
    bundle = credentials.parse_p12(known.p12_bytes, known.certificate_password)
    apns_fake.register_certificate(bundle.certificate, topic=known.topic)
    stranger = ApnsCertificateCredentialFactory.build()

    results = provider.send(stranger, push_items(3))

    assert outcomes(results) == [Outcome.CREDENTIAL_ERROR] * 3
    assert apns_fake.counts.accepted == 0


def test_an_unreadable_key_fails_the_batch_without_connecting(apns_fake, provider):
    credential = ApnsTokenCredentialFactory.build(key_p8=keys.p8(keys.rsa_key()).decode())

    results = provider.send(credential, push_items(2))

    assert outcomes(results) == [Outcome.CREDENTIAL_ERROR] * 2
    assert "RSA" in results[0].reason
    assert apns_fake.counts.connections == 0


def test_devices_go_to_the_host_of_their_environment(apns_fake, provider, credential):
    production = push_items(2, environment="production")
    development = push_items(2, environment="development")

    results = provider.send(credential, production + development)

    assert outcomes(results) == [Outcome.DELIVERED] * 4
    environments = {n.token: n.environment for n in apns_fake.notifications}
    assert {environments[i.token] for i in production} == {PRODUCTION}
    assert {environments[i.token] for i in development} == {SANDBOX}


def test_a_device_without_environment_follows_the_credential(apns_fake, provider, credential):
    credential.environment = "sandbox"

    provider.send(credential, push_items(1, environment=""))

    assert apns_fake.notifications[0].environment == SANDBOX


def test_the_credential_endpoint_overrides_both_hosts(apns_fake, provider, credential):
    credential.endpoint = apns_fake.host(SANDBOX)

    provider.send(credential, push_items(2, environment="production"))

    assert {n.environment for n in apns_fake.notifications} == {SANDBOX}


def test_a_token_of_the_other_environment_is_invalid(apns_fake, provider, credential):
    item = push_items(1, environment="production")[0]
    apns_fake.register_device(item.token, SANDBOX)

    [result] = provider.send(credential, [item])

    assert (result.outcome, result.status, result.reason) == (
        Outcome.INVALID_TOKEN,
        400,
        "BadDeviceToken",
    )


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        (400, "BadCollapseId", Outcome.REJECTED),
        (400, "BadDeviceToken", Outcome.INVALID_TOKEN),
        (400, "BadExpirationDate", Outcome.REJECTED),
        (400, "BadMessageId", Outcome.REJECTED),
        (400, "BadPriority", Outcome.REJECTED),
        (400, "BadTopic", Outcome.CREDENTIAL_ERROR),
        (400, "DeviceTokenNotForTopic", Outcome.INVALID_TOKEN),
        (400, "DuplicateHeaders", Outcome.REJECTED),
        (400, "IdleTimeout", Outcome.RETRY),
        (400, "InvalidPushType", Outcome.REJECTED),
        (400, "MissingDeviceToken", Outcome.REJECTED),
        (400, "MissingTopic", Outcome.CREDENTIAL_ERROR),
        (400, "PayloadEmpty", Outcome.REJECTED),
        (400, "TopicDisallowed", Outcome.CREDENTIAL_ERROR),
        (403, "BadCertificate", Outcome.CREDENTIAL_ERROR),
        (403, "BadCertificateEnvironment", Outcome.CREDENTIAL_ERROR),
        (403, "Forbidden", Outcome.CREDENTIAL_ERROR),
        (403, "InvalidProviderToken", Outcome.CREDENTIAL_ERROR),
        (403, "MissingProviderToken", Outcome.CREDENTIAL_ERROR),
        (403, "BadEnvironmentKeyIdInToken", Outcome.CREDENTIAL_ERROR),
        (403, "UnrelatedKeyIdInToken", Outcome.RETRY),
        (404, "BadPath", Outcome.REJECTED),
        (405, "MethodNotAllowed", Outcome.REJECTED),
        (410, "ExpiredToken", Outcome.INVALID_TOKEN),
        (413, "PayloadTooLarge", Outcome.REJECTED),
        (429, "TooManyProviderTokenUpdates", Outcome.RETRY),
        (429, "TooManyRequests", Outcome.RETRY),
        (500, "InternalServerError", Outcome.RETRY),
        (503, "ServiceUnavailable", Outcome.RETRY),
        (503, "Shutdown", Outcome.RETRY),
    ],
)
def test_each_apns_reason_maps_to_its_outcome(
    apns_fake, provider, credential, status, reason, outcome
):
    item = push_items(1)[0]
    apns_fake.fail(item.token, status, reason)

    [result] = provider.send(credential, [item])

    assert (result.outcome, result.status, result.reason) == (outcome, status, reason)


def test_an_unregistered_token_carries_the_time_it_stopped_being_valid(
    apns_fake, provider, credential
):
    item = push_items(1)[0]
    apns_fake.fail(item.token, 410, "Unregistered", timestamp=1_700_000_000_123)

    [result] = provider.send(credential, [item])

    assert result.outcome is Outcome.INVALID_TOKEN
    assert result.invalid_since == dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.UTC)


def test_after_a_credential_error_the_rest_of_the_batch_is_not_sent(apns_fake, provider):
    credential = ApnsTokenCredentialFactory.build(key_id="UNKNOWNKEY")

    results = provider.send(credential, push_items(50))

    assert outcomes(results) == [Outcome.CREDENTIAL_ERROR] * 50
    assert results[0].reason == "InvalidProviderToken"
    assert {r.reason for r in results[1:]} == {"not sent: InvalidProviderToken"}
    # Apple allows one stream until a valid token: only the first request went out.
    assert apns_fake.counts.requests == 1


def test_goaway_mid_batch_leaves_the_unprocessed_items_unsent_and_the_next_send_reconnects(
    apns_fake, provider, credential
):
    provider.send(credential, push_items(1))
    apns_fake.goaway_after_accepting(10)
    items = push_items(300)

    results = provider.send(credential, items)

    delivered = [i for i, r in zip(items, results, strict=True) if r.outcome is Outcome.DELIVERED]
    retried = [i for i, r in zip(items, results, strict=True) if r.outcome is Outcome.UNSENT]
    assert len(delivered) + len(retried) == 300
    assert retried, "GOAWAY should leave streams above last_stream_id unprocessed"
    assert {r.reason for r in results if r.outcome is Outcome.UNSENT} == {"GOAWAY Shutdown"}
    recorded = {n.token for n in apns_fake.notifications}
    assert {i.token for i in delivered} <= recorded
    assert not {i.token for i in retried} & recorded

    again = provider.send(credential, retried)

    assert outcomes(again) == [Outcome.DELIVERED] * len(retried)
    assert apns_fake.counts.connections >= 2


def test_the_servers_stream_limit_is_honoured(apns_fake, provider, credential, monkeypatch):
    monkeypatch.setattr(apns_fake, "max_streams", 7)

    results = provider.send(credential, push_items(200))

    assert outcomes(results) == [Outcome.DELIVERED] * 200
    assert apns_fake.counts.max_concurrent_streams == 7


def test_a_request_without_answer_times_out_as_retry(apns_fake, provider, credential):
    credential.response_timeout = 1.5  # roomy enough for the answered ones on a busy machine
    items = push_items(3)
    apns_fake.stall(items[1].token)

    results = provider.send(credential, items)

    assert outcomes(results) == [Outcome.DELIVERED, Outcome.RETRY, Outcome.DELIVERED]
    assert results[1].reason == "timeout"


def test_a_batch_of_2000_is_delivered_and_counted(apns_fake, provider, credential):
    apns_fake.keep_records = False
    try:
        results = provider.send(credential, push_items(2000))
    finally:
        apns_fake.keep_records = True

    assert outcomes(results) == [Outcome.DELIVERED] * 2000
    assert apns_fake.counts.accepted == 2000


def test_connections_are_reused_across_sends(apns_fake, provider, credential):
    provider.send(credential, push_items(10))
    provider.send(credential, push_items(10))

    assert apns_fake.counts.accepted == 20
    assert apns_fake.counts.connections == 1


def test_the_registry_serves_one_apns_provider_per_process():
    assert get_provider("ios") is get_provider("ios")
    assert isinstance(get_provider("ios"), ApnsProvider)


def test_the_batch_log_line_counts_outcomes_without_tokens(apns_fake, provider, credential, caplog):
    items = push_items(2)
    apns_fake.fail(items[1].token, 410, "Unregistered", timestamp=1)

    with caplog.at_level(logging.INFO, logger="channels_app.providers.apns"):
        provider.send(credential, items)

    assert "items=2 delivered=1 retry=0 unsent=0 invalid_token=1" in caplog.text
    assert all(item.token not in caplog.text for item in items)


@pytest.fixture(params=[1, 2], ids=["one process", "two workers"])
def fast_fake(request):
    fake = FastFakeApns(node=node_binary(), workers=request.param)
    yield fake
    fake.stop()


def test_the_node_fake_used_by_benchmarks_applies_the_same_rules(fast_fake, provider, settings):
    credential = ApnsTokenCredentialFactory.build()
    fast_fake.start(
        key_id=credential.key_id,
        team_id=credential.team_id,
        private_or_public_key=credential.key_p8,
        topic=credential.bundle_id,
    )
    settings.PUSHPORT_PROVIDER_CA_BUNDLE = fast_fake.ca.ca_file
    settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = [fast_fake.host()]
    credential.endpoint = fast_fake.host()
    stranger = ApnsTokenCredentialFactory.build(endpoint=fast_fake.host())
    silent_at_10 = apns_payload(silent=True, title="", body="")
    silent_at_10.headers["apns-priority"] = "10"

    delivered = provider.send(credential, push_items(300))
    refused = provider.send(credential, push_items(1, payload=silent_at_10))
    unknown_key = provider.send(stranger, push_items(5))

    assert outcomes(delivered) == [Outcome.DELIVERED] * 300
    assert (refused[0].outcome, refused[0].reason) == (Outcome.REJECTED, "BadPriority")
    assert outcomes(unknown_key) == [Outcome.CREDENTIAL_ERROR] * 5
    counts = fast_fake.counts()
    assert counts["accepted"] == 300
    assert counts["reasons"] == {"BadPriority": 1, "InvalidProviderToken": 1}


def test_a_changed_key_gets_fresh_connections_and_the_old_ones_close(
    apns_fake, provider, credential
):
    provider.send(credential, push_items(2))
    credential.key_p8 = keys.p8(keys.ec_p256_key()).decode()
    apns_fake.register_key(
        key_id=credential.key_id,
        team_id=credential.team_id,
        private_or_public_key=credential.key_p8,
        topics=[credential.bundle_id],
    )

    results = provider.send(credential, push_items(2))

    assert outcomes(results) == [Outcome.DELIVERED] * 2
    assert apns_fake.counts.connections == 2
    deadline = time.monotonic() + 5
    while apns_fake.counts.closed_connections < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert apns_fake.counts.closed_connections >= 1


def test_a_stream_limit_lowered_after_errors_is_honoured(apns_fake, provider, credential):
    apns_fake.streams_after_error = 2
    items = push_items(300)
    for item in items[::10]:
        apns_fake.fail(item.token, 400, "BadDeviceToken")

    results = provider.send(credential, items)

    expected = [
        Outcome.INVALID_TOKEN if index % 10 == 0 else Outcome.DELIVERED for index in range(300)
    ]
    assert outcomes(results) == expected
    assert apns_fake.counts.stream_limit_changes >= 2
    # A throttled connection may be joined by another, within the credential's bound.
    assert apns_fake.counts.connections <= credential.max_connections


def test_no_log_at_debug_shows_the_provider_token(apns_fake, provider, credential, caplog):
    with caplog.at_level(logging.DEBUG):
        results = provider.send(credential, push_items(3))

    # The fake decodes (and hpack logs) the same requests in its own thread: only ours count.
    threads = ("MainThread", "pushport-providers")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.threadName in threads)
    assert outcomes(results) == [Outcome.DELIVERED] * 3
    assert "items=3" in ours  # the send's own line, at the level of every line captured
    assert "eyJ" not in ours and "bearer" not in ours.lower()
