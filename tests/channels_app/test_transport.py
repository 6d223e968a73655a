"""The HTTP/2 pool and the provider loop, against the fake APNs over real sockets."""

import asyncio
import json
import os
import secrets
import socket
import time

import jwt
import pytest

from channels_app import providers
from channels_app.providers import get_provider, runner, transport
from tests import keys
from tests.fakes.apns import PRODUCTION
from tests.fakes.tls import TestCA

KEY_ID, TEAM_ID, TOPIC = "TRANSPORT1", "TEAMTRANS1", "com.example.transport"
BODY = json.dumps({"aps": {"alert": {"title": "Hi"}}}).encode()


@pytest.fixture
def signed_headers(apns_fake):
    key = keys.ec_p256_key()
    apns_fake.register_key(
        key_id=KEY_ID, team_id=TEAM_ID, private_or_public_key=key, topics=[TOPIC]
    )
    token = jwt.encode(
        {"iss": TEAM_ID, "iat": int(time.time())}, key, algorithm="ES256", headers={"kid": KEY_ID}
    )
    return [
        (b"authorization", b"bearer " + token.encode()),
        (b"apns-topic", TOPIC.encode()),
        (b"apns-push-type", b"alert"),
    ]


def make_pool(apns_fake, **options) -> transport.H2Pool:
    return transport.H2Pool(
        "127.0.0.1",
        apns_fake.ports[PRODUCTION],
        ssl_context=transport.ssl_context(ca_bundle=apns_fake.ca.ca_file),
        **options,
    )


def device_path(token: str | None = None) -> bytes:
    return b"/3/device/" + (token or secrets.token_hex(32)).encode()


def on_loop(coro):
    return runner.run(coro, timeout=30)


def test_a_request_gets_the_status_headers_and_body(apns_fake, signed_headers):
    async def scenario():
        pool = make_pool(apns_fake)
        ok = await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        refused = await pool.request(b"POST", b"/4/nowhere", signed_headers, BODY, 5.0)
        await pool.aclose()
        return ok, refused

    ok, refused = on_loop(scenario())

    assert ok.status == 200 and ok.body == b""
    assert ok.header(b"apns-id")
    assert refused.status == 404
    assert json.loads(refused.body) == {"reason": "BadPath"}


def test_many_concurrent_requests_share_one_connection_within_the_stream_limit(
    apns_fake, signed_headers, monkeypatch
):
    monkeypatch.setattr(apns_fake, "max_streams", 50)

    async def scenario():
        pool = make_pool(apns_fake, max_connections=1)
        futures = [
            pool.submit(b"POST", device_path(), signed_headers, BODY, 10.0) for _ in range(500)
        ]
        responses = await asyncio.gather(*futures)
        await pool.aclose()
        return responses

    responses = on_loop(scenario())

    assert [r.status for r in responses] == [200] * 500
    assert apns_fake.counts.connections == 1
    assert apns_fake.counts.max_concurrent_streams == 50


def test_a_body_larger_than_the_flow_control_window_is_sent_whole(apns_fake, signed_headers):
    big = json.dumps({"aps": {}, "blob": "x" * 200_000}).encode()

    async def scenario():
        pool = make_pool(apns_fake)
        response = await pool.request(b"POST", device_path(), signed_headers, big, 10.0)
        after = await pool.request(b"POST", device_path(), signed_headers, BODY, 10.0)
        await pool.aclose()
        return response, after

    response, after = on_loop(scenario())

    # The fake answers only once the whole body arrived, past the 64 KiB initial window.
    assert response.status == 413
    assert json.loads(response.body)["reason"] == "PayloadTooLarge"
    assert after.status == 200


def test_a_request_without_answer_times_out_and_the_connection_stays_usable(
    apns_fake, signed_headers
):
    stalled = secrets.token_hex(32)
    apns_fake.stall(stalled)

    async def scenario():
        pool = make_pool(apns_fake)
        await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        with pytest.raises(transport.RequestTimeout):
            await pool.request(b"POST", device_path(stalled), signed_headers, BODY, 0.3)
        response = await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        await pool.aclose()
        return response

    assert on_loop(scenario()).status == 200
    assert apns_fake.counts.connections == 1


def test_goaway_fails_the_unprocessed_streams_with_its_reason(apns_fake, signed_headers):
    async def scenario():
        pool = make_pool(apns_fake, max_connections=1)
        await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        apns_fake.goaway_after_accepting(1, reason="Shutdown")
        futures = [pool.submit(b"POST", device_path(), signed_headers, BODY, 5.0) for _ in range(5)]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        again = await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        await pool.aclose()
        return outcomes, again

    outcomes, again = on_loop(scenario())

    assert outcomes[0].status == 200
    assert all(isinstance(o, transport.GoAway) for o in outcomes[1:])
    assert {o.reason for o in outcomes[1:]} == {"Shutdown"}
    assert again.status == 200
    assert apns_fake.counts.connections == 2


def test_a_server_that_is_not_there_fails_fast(apns_fake, signed_headers):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario():
        pool = transport.H2Pool(
            "127.0.0.1", port, ssl_context=transport.ssl_context(ca_bundle=apns_fake.ca.ca_file)
        )
        with pytest.raises(transport.ConnectionLost) as lost:
            await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        return lost.value

    assert not on_loop(scenario()).tls_error


@pytest.fixture
def other_ca():
    ca = TestCA()
    yield ca
    ca.cleanup()


def test_a_server_certificate_outside_the_ca_bundle_is_a_tls_error(
    apns_fake, signed_headers, other_ca
):
    async def scenario():
        pool = transport.H2Pool(
            "127.0.0.1",
            apns_fake.ports[PRODUCTION],
            ssl_context=transport.ssl_context(ca_bundle=other_ca.ca_file),
        )
        with pytest.raises(transport.ConnectionLost) as lost:
            await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        return lost.value

    assert on_loop(scenario()).tls_error


def test_an_idle_connection_is_pinged_and_kept(apns_fake, signed_headers):
    async def scenario():
        pool = make_pool(apns_fake, ping_interval=0.2)
        await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        await asyncio.sleep(2.5)
        response = await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        await pool.aclose()
        return response

    assert on_loop(scenario()).status == 200
    assert apns_fake.counts.pings >= 1
    assert apns_fake.counts.connections == 1


def test_a_closed_pool_refuses_new_requests(apns_fake, signed_headers):
    async def scenario():
        pool = make_pool(apns_fake)
        await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)
        await pool.aclose()
        with pytest.raises(transport.ConnectionLost):
            await pool.request(b"POST", device_path(), signed_headers, BODY, 5.0)

    on_loop(scenario())


def test_the_provider_loop_persists_between_calls():
    async def current_loop():
        return asyncio.get_running_loop()

    assert runner.run(current_loop()) is runner.run(current_loop())


def test_the_provider_loop_is_uvloops_where_it_runs():
    uvloop = pytest.importorskip("uvloop", reason="uvloop does not run on this platform")

    assert isinstance(runner.loop(), uvloop.Loop)


def test_a_forked_child_gets_a_loop_and_providers_of_its_own():
    runner.run(asyncio.sleep(0))
    get_provider("ios")
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's loop thread does not exist here
        try:
            fresh = not providers._instances
            answer = runner.run(asyncio.sleep(0, result=b"ok" if fresh else b"stale"), timeout=5)
        except BaseException:
            answer = b"failed"
        os.write(writer, answer)
        os._exit(0)
    os.close(writer)
    _, status = os.waitpid(pid, 0)
    assert os.read(reader, 16) == b"ok"
    os.close(reader)
    assert status == 0
