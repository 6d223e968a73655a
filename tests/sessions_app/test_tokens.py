"""JWT verification at session creation, anonymous tokens, and the session token's encoding."""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from sessions_app.models import AuthChallenge, Profile, Session
from sessions_app.tokens import (
    decode_session_token,
    issue_anonymous_token,
    issue_session_token,
    verify_app_token,
)
from tests import keys
from tests.factories import ProfileFactory
from tests.sessions_app.flows import app_jwt, base, session_body, start

pytestmark = pytest.mark.django_db


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict, claims: dict, secret: str) -> str:
    """A JWT built without PyJWT: HMAC-SHA256 over base64url(header).base64url(claims)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def post_session(api, auth, challenge, token):
    return api.post(
        f"{base(auth.space_id)}/sessions", session_body(challenge, token), format="json"
    )


def now() -> int:
    return int(time.time())


def claims(auth, challenge) -> dict:
    return {
        "iss": auth.issuer,
        "aud": auth.audience,
        "sub": "u",
        "nonce": challenge["nonce"],
        "exp": now() + 60,
    }


def signed_with(key, algorithm: str):
    """A maker of otherwise valid tokens signed with another key or algorithm."""
    return lambda a, c, c2, b: jwt.encode(claims(a, c), key() if callable(key) else key, algorithm)


def replace_segment(index: int, value: str):
    """A maker of valid tokens with one segment replaced."""

    def make(a, c, c2, b):
        parts = app_jwt(a, nonce=c["nonce"]).split(".")
        parts[index] = value
        return ".".join(parts)

    return make


def signed_payload_not_json(a, c, c2, b) -> str:
    header = b64url(json.dumps({"alg": "HS256"}).encode())
    signing_input = f"{header}.{b64url(b'this is not json')}"
    digest = hmac.new(a.shared_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(digest)}"


def tampered_payload(a, c, c2, b) -> str:
    header, _, signature = app_jwt(a, nonce=c["nonce"]).split(".")
    other_payload = app_jwt(a, nonce=c["nonce"], sub="root").split(".")[1]
    return f"{header}.{other_payload}.{signature}"


def with_claims(**overrides):
    """A maker of tokens signed by the space, with claims changed (None removes one; a
    callable is the value made when the token is, for a time that must not go stale while
    the suite runs)."""

    def make(a, c, c2, b):
        made = {name: value() if callable(value) else value for name, value in overrides.items()}
        return app_jwt(a, nonce=c["nonce"], **made)

    return make


# Each case: a name, a maker (auth, challenge, another challenge, other space's auth) -> token,
# and the code the refusal carries.
BAD_TOKENS = [
    ("wrong secret", signed_with("not-the-shared-secret-" * 3, "HS256"), "token_signature_invalid"),
    (
        "issuer differing only in case",
        lambda a, c, c2, b: app_jwt(a, nonce=c["nonce"], iss=a.issuer.upper()),
        "token_issuer_mismatch",
    ),
    ("wrong audience", with_claims(aud="someone-else"), "token_audience_mismatch"),
    ("audience list without ours", with_claims(aud=["x", "y"]), "token_audience_mismatch"),
    ("expired", with_claims(iat=now() - 7200, exp=now() - 3600), "token_expired"),
    ("nbf in the future", with_claims(nbf=now() + 3600), "token_not_yet_valid"),
    ("iat in milliseconds", with_claims(iat=now() * 1000), "token_not_yet_valid"),
    ("exp in milliseconds", with_claims(iat=None, exp=now() * 1000), "token_claim_invalid"),
    ("exp missing", with_claims(exp=None), "token_claim_missing"),
    ("iss missing", with_claims(iss=None), "token_claim_missing"),
    ("nonce missing", lambda a, c, c2, b: app_jwt(a, nonce=None), "nonce_missing"),
    (
        "nonce of another authenticationId",
        lambda a, c, c2, b: app_jwt(a, nonce=c2["nonce"]),
        "nonce_mismatch",
    ),
    ("ID claim missing", with_claims(sub=None), "id_claim_missing"),
    ("ID claim empty", with_claims(sub=""), "id_claim_invalid"),
    ("ID claim not a string", with_claims(sub=12345), "id_claim_invalid"),
    ("ID claim too long", with_claims(sub="x" * 256), "id_claim_invalid"),
    ("ID claim a lone surrogate", with_claims(sub="\ud800"), "id_claim_invalid"),
    ("ID claim with a NUL", with_claims(sub="a\x00b"), "id_claim_invalid"),
    ("exp a numeric string", with_claims(exp=lambda: str(now() + 60)), "token_claim_invalid"),
    ("alg none", signed_with(None, "none"), "token_algorithm_not_allowed"),
    (
        "an RS256 header",
        signed_with(
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
        ),
        "token_algorithm_not_allowed",
    ),
    ("an ES256 header", signed_with(keys.ec_p256_key, "ES256"), "token_algorithm_not_allowed"),
    (
        "truncated",
        lambda a, c, c2, b: app_jwt(a, nonce=c["nonce"]).rsplit(".", 1)[0],
        "token_malformed",
    ),
    ("payload altered after signing", tampered_payload, "token_signature_invalid"),
    ("not a JWT at all", lambda a, c, c2, b: "hello", "token_malformed"),
    ("header not base64", replace_segment(0, "!!!"), "token_malformed"),
    ("header base64 but not JSON", replace_segment(0, b64url(b"not json")), "token_malformed"),
    ("payload not base64", replace_segment(1, "%%%%"), "token_malformed"),
    ("payload not JSON, correctly signed", signed_payload_not_json, "token_malformed"),
    (
        "a token of space B sent to space A",
        lambda a, c, c2, b: app_jwt(b, nonce=c["nonce"]),
        "token_signature_invalid",
    ),
]


@pytest.mark.parametrize(
    ("make_token", "code"),
    [pytest.param(make, code, id=name) for name, make, code in BAD_TOKENS],
)
def test_it_refuses_a_bad_jwt_with_a_specific_code(api, auth, other_auth, make_token, code):
    other_auth.issuer, other_auth.audience = auth.issuer, auth.audience
    challenge, other_challenge = start(api, auth.space_id), start(api, auth.space_id)
    token = make_token(auth, challenge, other_challenge, other_auth)

    response = post_session(api, auth, challenge, token)

    assert response.status_code == 403, response.content
    assert response.json()["code"] == code
    assert not Session.objects.exists()
    assert not Profile.objects.exists()
    # A refused token does not burn the challenge: the app may fix its token and retry.
    assert AuthChallenge.objects.get(pk=challenge["authenticationId"]).used_at is None


def test_it_refuses_a_reused_authentication_id(api, auth):
    challenge = start(api, auth.space_id)
    token = app_jwt(auth, nonce=challenge["nonce"])
    assert post_session(api, auth, challenge, token).status_code == 201

    response = post_session(api, auth, challenge, token)

    assert response.status_code == 403
    assert response.json()["code"] == "authentication_used"
    assert Session.objects.count() == 1


def test_it_refuses_an_expired_authentication_id(api, auth):
    challenge = start(api, auth.space_id)
    AuthChallenge.objects.filter(pk=challenge["authenticationId"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = post_session(api, auth, challenge, app_jwt(auth, nonce=challenge["nonce"]))

    assert response.status_code == 403
    assert response.json()["code"] == "authentication_expired"


@pytest.mark.parametrize("authentication_id", ["not-a-uuid", str(uuid.uuid4())])
def test_it_refuses_an_unknown_authentication_id(api, auth, authentication_id):
    challenge = start(api, auth.space_id)
    token = app_jwt(auth, nonce=challenge["nonce"])

    response = post_session(api, auth, {"authenticationId": authentication_id}, token)

    assert response.status_code == 403
    assert response.json()["code"] == "authentication_unknown"


def test_it_refuses_a_challenge_of_another_space(api, auth, other_auth):
    challenge = start(api, other_auth.space_id)

    response = post_session(api, auth, challenge, app_jwt(auth, nonce=challenge["nonce"]))

    assert response.status_code == 403
    assert response.json()["code"] == "authentication_unknown"


def test_it_accepts_a_jwt_built_by_hand_without_a_jwt_library(api, auth):
    challenge = start(api, auth.space_id)
    token = hand_signed(
        {"alg": "HS256", "typ": "JWT"},
        {
            "iss": auth.issuer,
            "aud": auth.audience,
            "sub": "hand-made",
            "nonce": challenge["nonce"],
            "iat": now(),
            "exp": now() + 120,
        },
        auth.shared_secret,
    )

    response = post_session(api, auth, challenge, token)

    assert response.status_code == 201, response.content
    assert response.json()["session"]["profileId"] == "hand-made"


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_it_accepts_each_hmac_algorithm(api, auth, algorithm):
    challenge = start(api, auth.space_id)

    token = app_jwt(auth, nonce=challenge["nonce"], algorithm=algorithm)

    assert post_session(api, auth, challenge, token).status_code == 201


def test_it_accepts_an_audience_list_containing_ours_and_a_little_clock_skew(api, auth):
    challenge = start(api, auth.space_id)
    token = app_jwt(
        auth, nonce=challenge["nonce"], aud=["other", auth.audience], iat=now() + 5, exp=now() - 5
    )

    assert post_session(api, auth, challenge, token).status_code == 201


def test_the_id_claim_setting_names_the_profile(api, auth):
    auth.id_claim = "email"
    auth.save()
    challenge = start(api, auth.space_id)
    token = app_jwt(auth, nonce=challenge["nonce"], sub="ignored", email="ada@example.com")

    response = post_session(api, auth, challenge, token)

    assert response.json()["session"]["profileId"] == "ada@example.com"


def test_an_anonymous_token_passes_verification_with_its_prefixed_id(auth):
    token = issue_anonymous_token(auth=auth, user_id="device.42", nonce="n0nce")

    assert verify_app_token(auth=auth, token=token, nonce="n0nce") == "anon_device.42"
    claims = jwt.decode(token, auth.shared_secret, algorithms=["HS256"], audience=auth.audience)
    assert claims["exp"] - claims["iat"] == auth.anonymous_token_lifetime
    assert claims["iss"] == auth.issuer
    assert claims["jti"]


def strict_b64decode(segment: str) -> bytes:
    """Standard base64 as atob() reads it: '-' and '_' are invalid; padding may be missing."""
    return base64.b64decode(segment + "=" * (-len(segment) % 4), validate=True)


AWKWARD_IDS = ["a>b?c~d", ">>>???~~~", "ünïcödé-ÿ", "emoji 🎉 id", 'quote" back\\slash', "~" * 200]


def test_session_token_payloads_decode_with_a_strict_standard_base64_decoder(space):
    sessions = []
    for index in range(400):
        profile_id = (
            AWKWARD_IDS[index % len(AWKWARD_IDS)] + secrets.token_urlsafe(index % 17)
            if index % 2
            else "".join(chr(secrets.randbelow(0x2FF) + 0x21) for _ in range(1 + index % 60))
        )
        profile = ProfileFactory.build(space=space, profile_id=profile_id)
        sessions.append(
            Session(
                space=space,
                profile=profile,
                created_at=timezone.now(),
                expires_at=timezone.now() + timedelta(seconds=index + 60),
            )
        )

    for session in sessions:
        token = issue_session_token(session=session)
        payload = token.split(".")[1]
        assert "-" not in payload and "_" not in payload
        claims = json.loads(strict_b64decode(payload))
        assert claims["sub"] == session.profile.profile_id
        assert claims["apiSpaceId"] == str(space.id)
        # Still a strict JWT: a JWT library verifies the signature and reads the same claims.
        assert decode_session_token(token) == claims
