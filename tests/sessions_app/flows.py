"""Helpers that walk the Session API flow as an SDK does, for tests of every app."""

import base64
import time
import uuid

import jwt
from rest_framework.test import APIClient

from sessions_app.models import AppMessagingAuth


def app_jwt(auth: AppMessagingAuth, *, nonce: str, algorithm: str = "HS256", **claims) -> str:
    """A JWT as an app's server would sign it; claims given as None are left out."""
    now = int(time.time())
    payload = {
        "iss": auth.issuer,
        "aud": auth.audience,
        auth.id_claim: "user-1",
        "nonce": nonce,
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    payload = {key: value for key, value in payload.items() if value is not None}
    return jwt.encode(payload, auth.shared_secret, algorithm=algorithm)


def basic(space_id, key) -> str:
    """HTTP Basic credentials as dotdigital's /cpaas routes take them."""
    return "Basic " + base64.b64encode(f"{space_id}:{key}".encode()).decode()


def base(space_id) -> str:
    return f"/apispaces/{space_id}"


def start(client: APIClient, space_id) -> dict:
    """GET sessions/start; the challenge's JSON."""
    response = client.get(f"{base(space_id)}/sessions/start")
    assert response.status_code == 200, response.content
    return response.json()


def session_body(challenge: dict, token: str, **extra) -> dict:
    return {
        "authenticationId": challenge["authenticationId"],
        "authenticationToken": token,
        "deviceId": str(uuid.uuid4()),
        "platform": "javascript",
        "platformVersion": "Node : test",
        "sdkType": "native",
        "sdkVersion": "1.3.0.46",
        **extra,
    }


def create_session(client: APIClient, auth: AppMessagingAuth, *, profile_id="user-1", **extra):
    """The whole flow (start, sign, POST sessions); the POST response."""
    challenge = start(client, auth.space_id)
    token = app_jwt(auth, nonce=challenge["nonce"], sub=profile_id)
    return client.post(
        f"{base(auth.space_id)}/sessions", session_body(challenge, token, **extra), format="json"
    )


def open_session(auth: AppMessagingAuth, *, profile_id="user-1", **extra) -> tuple[APIClient, dict]:
    """A client carrying a fresh session token, and the session's JSON."""
    client = APIClient()
    response = create_session(client, auth, profile_id=profile_id, **extra)
    assert response.status_code == 201, response.content
    body = response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    return client, body["session"]
