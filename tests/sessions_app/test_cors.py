"""CORS on the Session API: preflights answered as the SDK needs, origins a space setting."""

import pytest

from tests.sessions_app.flows import base, open_session

pytestmark = pytest.mark.django_db

ORIGIN = "https://app.example.com"


@pytest.fixture
def auth(auth):
    auth.cors_origins = f"{ORIGIN}/\nhttps://other.example.com"
    auth.save()
    return auth


def preflight(api, url, origin=ORIGIN, method="PUT"):
    return api.options(
        url,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,cache-control,content-type,"
        "if-match,if-modified-since,pragma",
    )


@pytest.mark.parametrize(
    "path", ["sessions/start", "sessions", "sessions/abc", "sessions/abc/push", "profiles/p1"]
)
def test_a_preflight_from_an_allowed_origin_names_what_the_sdk_sends(api, auth, path):
    response = preflight(api, f"{base(auth.space_id)}/{path}")

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Methods"] == "GET, POST, PUT, PATCH, DELETE"
    assert response["Access-Control-Allow-Headers"] == (
        "content-type, authorization, cache-control, pragma, if-modified-since, if-match"
    )
    assert response["Access-Control-Expose-Headers"] == "ETag"
    assert "Origin" in response["Vary"]


def test_a_preflight_from_another_origin_is_refused(api, auth):
    response = preflight(api, f"{base(auth.space_id)}/sessions", origin="https://evil.example")

    assert response.status_code == 403
    assert response.json()["code"] == "cors_origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_for_a_space_allowing_no_origin_is_refused(api, auth, other_auth):
    response = preflight(api, f"{base(other_auth.space_id)}/sessions")

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_a_star_allows_any_origin(api, auth):
    auth.cors_origins = "*"
    auth.save()

    response = preflight(api, f"{base(auth.space_id)}/sessions", origin="http://localhost:8080")

    assert response["Access-Control-Allow-Origin"] == "http://localhost:8080"


def test_answers_to_allowed_origins_expose_the_etag(auth):
    client, _ = open_session(auth, profile_id="alice")

    response = client.get(f"{base(auth.space_id)}/profiles/alice", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Expose-Headers"] == "ETag"
    assert response["ETag"]


def test_answers_to_other_origins_carry_no_cors_headers(api, auth):
    response = api.get(f"{base(auth.space_id)}/sessions/start", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("space_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_preflight_for_an_unknown_space_gets_no_cors_headers(api, auth, space_id):
    response = preflight(api, f"/apispaces/{space_id}/sessions")

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_other_routes_are_left_alone(api, auth):
    response = api.options(
        "/api/schema/", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("origin", ["capacitor://localhost", "ionic://localhost"])
def test_a_hybrid_apps_web_view_origin_may_call_the_session_api(api, auth, origin):
    auth.cors_origins = origin
    auth.save()

    response = preflight(api, f"{base(auth.space_id)}/sessions", origin=origin, method="POST")

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == origin
