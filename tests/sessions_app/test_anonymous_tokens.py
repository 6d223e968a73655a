"""Anonymous tokens: who may mint them, throttling, the /cpaas form, and their use."""

import base64

import jwt
import pytest
from django.conf import settings
from django.test import override_settings

from portal.apikeys import create_api_key, revoke_api_key
from sessions_app.models import AnonymousTokenAccess
from sessions_app.throttles import client_ip
from tests.sessions_app.flows import base, basic, session_body, start

pytestmark = pytest.mark.django_db


def anon_url(space_id, *, user_id="visitor-1", nonce="n") -> str:
    return f"{base(space_id)}/sessions/tokens/anon?id={user_id}&nonce={nonce}"


def set_access(auth, access):
    auth.anonymous_token_access = access
    auth.save()


def test_an_api_key_of_the_space_mints_a_token_that_opens_a_session(api, auth, api_key):
    challenge = start(api, auth.space_id)

    response = api.get(
        anon_url(auth.space_id, user_id="web.visitor:42", nonce=challenge["nonce"]),
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )

    assert response.status_code == 200, response.content
    token = response.json()["token"]
    claims = jwt.decode(token, auth.shared_secret, algorithms=["HS256"], audience=auth.audience)
    assert claims["sub"] == "anon_web.visitor:42"
    assert claims["nonce"] == challenge["nonce"]
    session = api.post(
        f"{base(auth.space_id)}/sessions", session_body(challenge, token), format="json"
    )
    assert session.status_code == 201
    assert session.json()["session"]["profileId"] == "anon_web.visitor:42"


@pytest.mark.parametrize(
    ("authorization", "status", "code"),
    [
        (None, 401, "not_authenticated"),
        ("Bearer pp_unknown.secret", 401, "authentication_failed"),
        ("Bearer garbage", 401, "authentication_failed"),
        ("Basic Zm9vOmJhcg==", 401, "not_authenticated"),
    ],
)
def test_api_key_mode_refuses_callers_without_a_valid_key(api, auth, authorization, status, code):
    challenge = start(api, auth.space_id)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = api.get(anon_url(auth.space_id, nonce=challenge["nonce"]), **headers)

    assert response.status_code == status
    assert response.json()["code"] == code


def test_an_api_key_of_another_space_is_refused(api, auth, other_space):
    _, other_key = create_api_key(space=other_space, name="other")
    challenge = start(api, auth.space_id)

    response = api.get(
        anon_url(auth.space_id, nonce=challenge["nonce"]), HTTP_AUTHORIZATION=f"Bearer {other_key}"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"


def test_a_revoked_key_is_refused(api, auth, space):
    key, secret = create_api_key(space=space, name="old")
    revoke_api_key(key=key)
    challenge = start(api, auth.space_id)

    response = api.get(
        anon_url(auth.space_id, nonce=challenge["nonce"]), HTTP_AUTHORIZATION=f"Bearer {secret}"
    )

    assert response.status_code == 401


def test_nobody_mode_refuses_even_a_valid_key(api, auth, api_key):
    set_access(auth, AnonymousTokenAccess.NOBODY)
    challenge = start(api, auth.space_id)

    response = api.get(
        anon_url(auth.space_id, nonce=challenge["nonce"]), HTTP_AUTHORIZATION=f"Bearer {api_key}"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "anonymous_tokens_disabled"


def test_anyone_mode_needs_no_credentials(api, auth):
    set_access(auth, AnonymousTokenAccess.ANYONE)
    challenge = start(api, auth.space_id)

    response = api.get(anon_url(auth.space_id, nonce=challenge["nonce"]))

    assert response.status_code == 200
    assert response.json()["token"]


@override_settings(PUSHPORT_ANON_TOKEN_RATE="3/min", PUSHPORT_ANON_TOKEN_SPACE_RATE="100/min")
def test_anyone_mode_is_throttled_per_client_ip(api, auth):
    set_access(auth, AnonymousTokenAccess.ANYONE)
    nonce = start(api, auth.space_id)["nonce"]
    url = anon_url(auth.space_id, nonce=nonce)

    statuses = [api.get(url, REMOTE_ADDR="10.0.0.1").status_code for _ in range(4)]
    throttled = api.get(url, REMOTE_ADDR="10.0.0.1")

    assert statuses == [200, 200, 200, 429]
    assert throttled.json()["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 61
    # Another client is not held back, and a forged X-Forwarded-For does not dodge the limit.
    assert api.get(url, REMOTE_ADDR="10.0.0.2").status_code == 200
    assert api.get(url, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4").status_code == 429


@override_settings(PUSHPORT_ANON_TOKEN_RATE="100/min", PUSHPORT_ANON_TOKEN_SPACE_RATE="2/min")
def test_anyone_mode_is_throttled_per_space(api, auth, other_auth):
    for each in (auth, other_auth):
        set_access(each, AnonymousTokenAccess.ANYONE)
    url = anon_url(auth.space_id, nonce=start(api, auth.space_id)["nonce"])
    other_url = anon_url(other_auth.space_id, nonce=start(api, other_auth.space_id)["nonce"])

    statuses = [api.get(url, REMOTE_ADDR=f"10.0.1.{n}").status_code for n in range(3)]

    assert statuses == [200, 200, 429]
    assert "Retry-After" in api.get(url, REMOTE_ADDR="10.0.2.1")
    assert api.get(other_url, REMOTE_ADDR="10.0.2.1").status_code == 200


@override_settings(PUSHPORT_ANON_TOKEN_RATE="1/min")
def test_api_key_mode_is_not_throttled(api, auth, api_key):
    url = anon_url(auth.space_id, nonce=start(api, auth.space_id)["nonce"])

    statuses = {api.get(url, HTTP_AUTHORIZATION=f"Bearer {api_key}").status_code for _ in range(3)}

    assert statuses == {200}


@pytest.mark.parametrize(
    "query",
    [
        "id=&nonce=x",
        "nonce=x",
        "id=has%20space&nonce=x",
        "id=slash/no&nonce=x",
        "id=" + "a" * 129 + "&nonce=x",
        "id=ok",
        "id=ok&nonce=" + "n" * 65,
    ],
)
def test_bad_query_parameters_are_a_400(api, auth, api_key, query):
    response = api.get(
        f"{base(auth.space_id)}/sessions/tokens/anon?{query}",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_nonce_that_is_no_open_challenge_is_refused(api, auth, api_key, other_auth):
    other_nonce = start(api, other_auth.space_id)["nonce"]

    for nonce in ("made-up", other_nonce):
        response = api.get(
            anon_url(auth.space_id, nonce=nonce), HTTP_AUTHORIZATION=f"Bearer {api_key}"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "nonce_unknown"


def test_the_cpaas_form_takes_basic_credentials(api, auth, api_key):
    nonce = start(api, auth.space_id)["nonce"]

    response = api.get(
        f"/cpaas/sessions/tokens/anon?id=u1&nonce={nonce}",
        HTTP_AUTHORIZATION=basic(auth.space_id, api_key),
    )

    assert response.status_code == 200
    claims = jwt.decode(
        response.json()["token"], auth.shared_secret, algorithms=["HS256"], audience=auth.audience
    )
    assert claims["sub"] == "anon_u1"


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic !!!", "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Bearer x"],
)
def test_the_cpaas_form_refuses_missing_or_malformed_credentials(api, auth, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = api.get("/cpaas/sessions/tokens/anon?id=u1&nonce=n", **headers)

    assert response.status_code == 401


def test_the_cpaas_form_refuses_a_key_with_another_space_id(api, auth, other_space, api_key):
    response = api.get(
        "/cpaas/sessions/tokens/anon?id=u1&nonce=n",
        HTTP_AUTHORIZATION=basic(other_space.id, api_key),
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [
        (None, "1.2.3.4", "10.0.0.9"),
        (1, "1.2.3.4, 5.6.7.8", "5.6.7.8"),
        (2, "1.2.3.4, 5.6.7.8", "1.2.3.4"),
        (5, "1.2.3.4", "1.2.3.4"),
        (1, "not-an-ip", None),
    ],
)
def test_the_client_ip_trusts_forwarded_headers_only_behind_configured_proxies(
    rf, num_proxies, forwarded, expected
):
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)

    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}):
        assert client_ip(request) == expected
