"""The fakes' faults and per-token counts, seen by real HTTP/2 clients over TLS.

Each behaviour is checked on the four fakes: the Python APNs and FCM fakes the tests use and
the Node ones the benchmarks use (two cluster workers, so controls must reach both and
counts are sums). Requests go through the project's own HTTP/2 pool, except where a test
needs a stream left half-sent, which takes a bare h2 client.
"""

import asyncio
import json
import secrets
import socket
import ssl
import time

import h2.connection
import h2.events
import h2.exceptions
import jwt
import pytest

from channels_app.providers import transport
from tests import keys
from tests.fakes.apns import PRODUCTION, FastFakeApns
from tests.fakes.fcm import FakeFcm, FastFakeFcm
from tests.fakes.server import Share
from tests.services import node_binary

KEY_ID, TEAM_ID, TOPIC = "FAULTS1234", "TEAMFAULTS", "com.example.faults"
PROJECT, ACCESS_TOKEN = "faults-project", "ya29.faults-test-token"
APNS_BODY = json.dumps({"aps": {"alert": {"title": "Hi"}}}).encode()


class Target:
    """One fake and how to send it a valid request for a device token."""

    def __init__(self, name: str, fake, port: int, headers: list, prime=lambda: None):
        self.name = name
        self.fake = fake
        self.port = port
        self.headers = headers
        self.apns = "apns" in name
        self.prime = prime  # what makes the fake accept our requests again after a reset
        prime()

    def token(self) -> str:
        return secrets.token_hex(32) if self.apns else "fcm-" + secrets.token_hex(20)

    def path_and_body(self, token: str) -> tuple[bytes, bytes]:
        if self.apns:
            return b"/3/device/" + token.encode(), APNS_BODY
        message = {"message": {"token": token, "notification": {"title": "Hi"}}}
        return f"/v1/projects/{PROJECT}/messages:send".encode(), json.dumps(message).encode()

    def pool(self) -> transport.H2Pool:
        context = transport.ssl_context(ca_bundle=self.fake.ca.ca_file)
        return transport.H2Pool("127.0.0.1", self.port, ssl_context=context)

    def submit(self, pool: transport.H2Pool, token: str, timeout: float = 5.0):
        path, body = self.path_and_body(token)
        return pool.submit(b"POST", path, self.headers, body, timeout)

    def counts(self) -> dict:
        counts = self.fake.counts
        counts = counts() if callable(counts) else counts
        return counts if isinstance(counts, dict) else vars(counts)

    def reset(self):
        self.fake.reset()
        self.prime()


def apns_headers() -> tuple[list, object]:
    key = keys.ec_p256_key()
    token = jwt.encode(
        {"iss": TEAM_ID, "iat": int(time.time())}, key, algorithm="ES256", headers={"kid": KEY_ID}
    )
    headers = [
        (b"authorization", b"bearer " + token.encode()),
        (b"apns-topic", TOPIC.encode()),
        (b"apns-push-type", b"alert"),
    ]
    return headers, key


FCM_HEADERS = [
    (b"authorization", f"Bearer {ACCESS_TOKEN}".encode()),
    (b"content-type", b"application/json"),
]


@pytest.fixture(scope="module")
def _node_apns(_provider_ca):
    headers, key = apns_headers()
    fake = FastFakeApns(node=node_binary(), ca=_provider_ca, workers=2)
    fake.start(key_id=KEY_ID, team_id=TEAM_ID, private_or_public_key=key, topic=TOPIC)
    yield Target("node apns", fake, fake.port, headers)
    fake.stop()


@pytest.fixture(scope="module")
def _node_fcm(_provider_ca):
    fake = FastFakeFcm(node=node_binary(), ca=_provider_ca, workers=2)
    fake.start(static_tokens={ACCESS_TOKEN: time.time() + 3600})
    fake.service_account(project_id=PROJECT)
    yield Target("node fcm", fake, fake.port, FCM_HEADERS)
    fake.stop()


@pytest.fixture(params=["apns", "fcm", "node apns", "node fcm"])
def target(request) -> Target:
    """Each fake in turn, reset, ready to accept valid requests."""
    if request.param == "apns":
        fake = request.getfixturevalue("apns_fake")
        headers, key = apns_headers()
        fake.register_key(key_id=KEY_ID, team_id=TEAM_ID, private_or_public_key=key, topics=[TOPIC])
        yield Target("apns", fake, fake.ports[PRODUCTION], headers)
        return
    if request.param == "fcm":
        fake = request.getfixturevalue("fcm_fake")

        def prime():
            fake.projects.add(PROJECT)
            fake.access_tokens[ACCESS_TOKEN] = time.time() + 3600

        yield Target("fcm", fake, fake.port, FCM_HEADERS, prime)
        return
    node_target = request.getfixturevalue("_" + request.param.replace(" ", "_"))
    node_target.reset()
    yield node_target
    node_target.reset()


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 20))


async def send_one_by_one(target: Target, tokens: list[str]) -> list:
    """Each token's answer (or the TransportError raised), one request at a time."""
    pool = target.pool()
    outcomes = []
    for token in tokens:
        try:
            outcomes.append(await target.submit(pool, token))
        except transport.TransportError as error:
            outcomes.append(error)
    await pool.aclose()
    return outcomes


def test_a_share_picks_the_same_calls_every_time():
    tenth = Share(0.1)
    assert [n for n in range(1, 31) if tenth.pick()] == [10, 20, 30]
    share = Share(0.57)
    assert sum(share.pick() for _ in range(100)) == 57
    assert not any(Share(0).pick() for _ in range(10))
    assert all(Share(1).pick() for _ in range(10))
    with pytest.raises(ValueError):
        Share(1.5)


def test_a_fault_spec_takes_the_providers_defaults_and_refuses_unknown_faults(target):
    target.fake.set_faults({"fail": {"share": 1.0, "status": 500}})

    [answer] = run(send_one_by_one(target, [target.token()]))

    assert answer.status == 500
    assert answer.header(b"retry-after") is None
    if target.apns:
        assert json.loads(answer.body) == {"reason": "InternalServerError"}
    else:
        assert json.loads(answer.body)["error"]["details"][0]["errorCode"] == "INTERNAL"
    with pytest.raises(ValueError, match="slow"):
        target.fake.set_faults({"slow": {"seconds": 1}})


def test_a_share_failure_answers_every_kth_good_request_with_the_providers_error(target):
    target.fake.fail_share(0.25, retry_after=7)
    tokens = [target.token() for _ in range(8)]

    answers = run(send_one_by_one(target, tokens))

    assert [answer.status for answer in answers] == [200, 200, 200, 503] * 2
    failed = answers[3]
    assert failed.header(b"retry-after") == b"7"
    if target.apns:
        assert json.loads(failed.body) == {"reason": "ServiceUnavailable"}
    else:
        error = json.loads(failed.body)["error"]
        assert error["status"] == "UNAVAILABLE"
        assert error["details"][0]["errorCode"] == "UNAVAILABLE"
    good = [token for token, answer in zip(tokens, answers, strict=True) if answer.status == 200]
    assert target.fake.received_by_token() == dict.fromkeys(tokens, 1)
    assert target.fake.accepted_by_token() == dict.fromkeys(good, 1)
    assert target.fake.answered_by_token() == dict.fromkeys(good, 1)
    assert target.counts()["accepted"] == 6


def test_a_reset_share_resets_streams_before_they_are_processed(target):
    target.fake.reset_share(0.5)
    tokens = [target.token() for _ in range(4)]

    outcomes = run(send_one_by_one(target, tokens))

    assert [outcome.status for outcome in outcomes[::2]] == [200, 200]
    assert all(isinstance(outcome, transport.StreamReset) for outcome in outcomes[1::2])
    assert {outcome.error_code for outcome in outcomes[1::2]} == {7}  # REFUSED_STREAM
    assert target.fake.received_by_token() == dict.fromkeys(tokens, 1)
    assert target.fake.accepted_by_token() == dict.fromkeys(tokens[::2], 1)
    assert target.counts()["reset_streams"] == 2


def test_a_held_answer_is_accepted_at_once_and_answered_late(target):
    target.fake.hold_answers(0.3)
    token = target.token()

    async def scenario():
        pool = target.pool()
        started = time.monotonic()
        future = target.submit(pool, token)
        await asyncio.sleep(0.15)
        meanwhile = target.fake.accepted_by_token(), target.fake.answered_by_token()
        answer = await future
        waited = time.monotonic() - started
        await pool.aclose()
        return meanwhile, answer, waited

    (accepted, answered), answer, waited = run(scenario())

    assert (accepted, answered) == ({token: 1}, {})
    assert answer.status == 200
    assert waited >= 0.3
    assert target.fake.answered_by_token() == {token: 1}


class BareH2Client:
    """A blocking HTTP/2 client that can leave a request half-sent."""

    def __init__(self, target: Target):
        context = transport.ssl_context(ca_bundle=target.fake.ca.ca_file)
        raw = socket.create_connection(("127.0.0.1", target.port), timeout=5)
        self.socket = context.wrap_socket(raw, server_hostname="127.0.0.1")
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.h2 = h2.connection.H2Connection(config)
        self.h2.initiate_connection()
        self.target = target
        self.events: list = []
        self.closed = False
        self.settings_seen = False

    def start(self, token: str, *, end: bool) -> int:
        """Open a stream for the token's request; with `end` False the body stays unsent."""
        path, body = self.target.path_and_body(token)
        stream_id = self.h2.get_next_available_stream_id()
        pseudo = [(b":method", b"POST"), (b":scheme", b"https"), (b":path", path)]
        authority = [(b":authority", f"127.0.0.1:{self.target.port}".encode())]
        self.h2.send_headers(stream_id, pseudo + authority + self.target.headers)
        if end:
            self.h2.send_data(stream_id, body, end_stream=True)
        self._flush()
        return stream_id

    def wait_for(self, kind, *, stream_id=None):
        """Read until an event of this kind (for this stream) arrives; None if the peer closed."""
        while True:
            for event in self.events:
                if isinstance(event, kind) and stream_id in (None, getattr(event, "stream_id", 0)):
                    self.events.remove(event)
                    return event
            if self.closed:
                return None
            self._read()

    def wait_closed(self) -> list:
        """Read until the peer closes; the events left unread."""
        while not self.closed:
            self._read()
        return self.events

    def wait_for_streams(self, count: int):
        """Read until the server allows `count` concurrent streams (APNs starts at one)."""
        # Until the server's first SETTINGS, h2 assumes no limit at all.
        while not self.settings_seen or self.h2.remote_settings.max_concurrent_streams < count:
            self._read()

    def _read(self):
        try:
            data = self.socket.recv(65536)
        except ssl.SSLEOFError:
            data = b""  # closed without TLS close_notify
        if not data:
            self.closed = True
            return
        events = self.h2.receive_data(data)
        if any(isinstance(event, h2.events.RemoteSettingsChanged) for event in events):
            self.settings_seen = True
        if any(isinstance(event, h2.events.ConnectionTerminated) for event in events):
            # h2 closes its state machine on GOAWAY and would refuse the answers a server
            # still sends for the streams it processed (python-hyper/h2#1181); RFC 9113
            # section 6.8 lets them complete, so this client keeps reading.
            self.h2.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        self.events.extend(events)
        self._flush()

    def _flush(self):
        data = self.h2.data_to_send()
        if data and not self.closed:
            try:
                self.socket.sendall(data)
            except OSError:
                self.closed = True  # the fake closed first

    def close(self):
        self.socket.close()


def test_goaway_names_the_last_processed_stream_and_the_ones_above_are_never_processed(target):
    first, half_sent = target.token(), target.token()
    client = BareH2Client(target)
    try:
        answered = client.start(first, end=True)
        assert client.wait_for(h2.events.StreamEnded, stream_id=answered) is not None
        refused = client.start(half_sent, end=False)
        time.sleep(0.05)  # the headers reach the fake before its GOAWAY
        target.fake.goaway_every(0.1)
        goaway = client.wait_for(h2.events.ConnectionTerminated)
        # The fake then closes the connection: nothing was left to answer.
        assert client.wait_for(h2.events.ResponseReceived, stream_id=refused) is None
    finally:
        client.close()

    assert goaway.last_stream_id == answered
    if target.apns:
        assert json.loads(goaway.additional_data) == {"reason": "Shutdown"}
    assert target.fake.received_by_token() == {first: 1}
    assert target.fake.accepted_by_token() == {first: 1}
    counts = target.counts()
    assert counts["goaways"] >= 1
    assert counts["refused_streams"] >= 1


def test_a_goaway_waits_for_the_held_answers_of_the_processed_streams(target):
    target.fake.hold_answers(0.3)
    tokens = [target.token() for _ in range(3)]
    client = BareH2Client(target)
    try:
        streams = [client.start(tokens[0], end=True)]
        client.wait_for_streams(3)
        streams += [client.start(token, end=True) for token in tokens[1:]]
        time.sleep(0.05)  # the requests reach the fake before its GOAWAY
        target.fake.goaway_every(0.05)
        goaway = client.wait_for(h2.events.ConnectionTerminated)
        answers = [client.wait_for(h2.events.ResponseReceived, stream_id=s) for s in streams]
        rest = client.wait_closed()
    finally:
        client.close()

    assert goaway.last_stream_id == streams[-1]
    assert [dict(answer.headers)[b":status"] for answer in answers] == [b"200"] * 3
    # A later GOAWAY (Node's close sends one) may only lower the last stream.
    later = [event for event in rest if isinstance(event, h2.events.ConnectionTerminated)]
    assert all(event.last_stream_id <= goaway.last_stream_id for event in later)
    assert target.fake.answered_by_token() == dict.fromkeys(tokens, 1)


def test_under_repeated_goaways_every_token_is_accepted_exactly_once(target):
    target.fake.goaway_every(0.05)
    tokens = [target.token() for _ in range(200)]

    async def scenario():
        pool = target.pool()
        left, refusals, started = list(tokens), [], time.monotonic()
        while left or time.monotonic() - started < 0.3:
            wave, left = left[:40], left[40:]
            # Bounded, so that a request nobody answers or fails shows as itself.
            answers = await asyncio.wait_for(
                asyncio.gather(
                    *(target.submit(pool, token) for token in wave), return_exceptions=True
                ),
                10,
            )
            for token, answer in zip(wave, answers, strict=True):
                if isinstance(answer, transport.TransportError):
                    answer.token = token
                    refusals.append(answer)
                    left.append(token)
                else:
                    assert answer.status == 200
            await asyncio.sleep(0.01)
        await pool.aclose()
        return refusals

    refusals = run(scenario())

    # A stream refused by GOAWAY was never processed: its retry is the one acceptance. (Our
    # h2-based pool loses answers that follow a GOAWAY, as ConnectionLost: those requests
    # were processed, so they may be accepted twice.)
    assert all(isinstance(r, transport.GoAway | transport.ConnectionLost) for r in refusals)
    accepted = target.fake.accepted_by_token()
    lost = {refusal.token for refusal in refusals if isinstance(refusal, transport.ConnectionLost)}
    assert {token: accepted[token] for token in tokens if token not in lost} == {
        token: 1 for token in tokens if token not in lost
    }
    assert all(accepted[token] <= 2 for token in lost)
    assert target.counts()["goaways"] >= 1


def test_a_drop_loses_the_held_answers_of_accepted_requests(target):
    target.fake.hold_answers(1.0)
    tokens = [target.token() for _ in range(3)]

    async def scenario():
        pool = target.pool()
        futures = [target.submit(pool, token) for token in tokens]
        await asyncio.sleep(0.1)
        target.fake.drop_every(0.1)
        lost = await asyncio.gather(*futures, return_exceptions=True)
        target.fake.clear_faults()
        await pool.aclose()
        pool = target.pool()
        after = await target.submit(pool, target.token())
        await pool.aclose()
        return lost, after

    lost, after = run(scenario())

    assert all(isinstance(outcome, transport.ConnectionLost) for outcome in lost)
    assert after.status == 200
    accepted = target.fake.accepted_by_token()
    answered = target.fake.answered_by_token()
    assert {token: accepted.get(token) for token in tokens} == dict.fromkeys(tokens, 1)
    assert not set(tokens) & set(answered)
    assert target.counts()["drops"] >= 1


def test_reset_turns_every_fault_off_and_zeroes_the_counts(target):
    target.fake.fail_share(1.0, status=500)
    target.fake.drop_every(5)
    run(send_one_by_one(target, [target.token()]))

    target.reset()
    token = target.token()
    [answer] = run(send_one_by_one(target, [token]))

    assert answer.status == 200
    assert target.fake.received_by_token() == {token: 1}
    assert target.fake.accepted_by_token() == {token: 1}
    assert target.counts()["requests"] == 1


@pytest.mark.parametrize("kind", ["fcm", "node fcm"])
def test_faults_given_before_the_start_apply_from_the_first_request(kind, _provider_ca):
    spec = {"fail": {"share": 1.0, "status": 429, "reason": "QUOTA_EXCEEDED", "retry_after": 3}}
    if kind == "fcm":
        fake = FakeFcm(ca=_provider_ca)
        fake.set_faults(spec)
        fake.start()
        fake.projects.add(PROJECT)
        fake.access_tokens[ACCESS_TOKEN] = time.time() + 3600
    else:
        fake = FastFakeFcm(node=node_binary(), ca=_provider_ca)
        fake.start(static_tokens={ACCESS_TOKEN: time.time() + 3600}, faults=spec)
        fake.service_account(project_id=PROJECT)
    try:
        target = Target(kind, fake, fake.port, FCM_HEADERS)
        [answer] = run(send_one_by_one(target, [target.token()]))
    finally:
        fake.stop()

    assert answer.status == 429
    assert answer.header(b"retry-after") == b"3"
    assert json.loads(answer.body)["error"]["details"][0]["errorCode"] == "QUOTA_EXCEEDED"


def test_the_node_fakes_controls_reach_every_worker_and_their_counts_add_up(_node_fcm):
    target = _node_fcm
    target.reset()
    tokens = [target.token() for _ in range(8)]

    async def through_fresh_connections():
        # One connection per request: the cluster hands them to its workers in turn.
        answers = []
        for token in tokens:
            pool = target.pool()
            answers.append(await target.submit(pool, token))
            await pool.aclose()
        return answers

    target.fake.fail_share(1.0)
    refused = run(through_fresh_connections())
    target.fake.clear_faults()
    accepted = run(through_fresh_connections())
    received, accepted_by_token = target.fake.received_by_token(), target.fake.accepted_by_token()
    counts = target.counts()
    target.reset()

    assert {answer.status for answer in refused} == {503}
    names = [json.loads(answer.body)["name"] for answer in accepted]
    workers = {name.rsplit("/", 1)[1].split(":")[0] for name in names}
    assert len(workers) == 2
    assert received == dict.fromkeys(tokens, 2)
    assert accepted_by_token == dict.fromkeys(tokens, 1)
    assert (counts["requests"], counts["accepted"], counts["answered"]) == (16, 8, 8)
    assert target.fake.received_by_token() == {}  # reset reached every worker
