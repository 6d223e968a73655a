"""Every API route answers errors as JSON {code, message}; portal pages keep their HTML."""

import json

import pytest
from django.test import Client
from django.urls import path

from portal import errors
from portal.urls import urlpatterns as root_patterns
from tests.factories import AppMessagingAuthFactory
from tests.sessions_app.flows import open_session

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("a bug")


# The real URLs plus a view that fails, under an API prefix and under a portal prefix.
urlpatterns = [
    path("apispaces/boom", boom),
    path("portal-boom", boom),
    *root_patterns,
]
handler404 = errors.handler404
handler500 = errors.handler500


def assert_json_error(response, status: int, code: str):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["message"]


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize(
    "url",
    [
        "/apispaces/{space}/nothing-here",
        "/apispaces/{space}/messages/not-a-uuid",
        "/apispaces/not-a-uuid/messages",
        "/apispaces/{space}/messages/{space}/nothing",
        "/apispaces",
        "/cpaas/nothing",
        "/api/nothing",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_an_unknown_api_path_is_a_json_404(space, debug, url, method):
    response = getattr(Client(), method)(url.format(space=space.pk))
    assert_json_error(response, 404, "not_found")
    assert b"URLconf" not in response.content


def test_a_portal_page_that_does_not_exist_stays_html(debug):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def server_post(space, api_key):
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key}"), f"/apispaces/{space.pk}/messages"


def batch_post(space, api_key):
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key}"), f"/apispaces/{space.pk}/messages/batch"


def session_post(space, api_key):
    AppMessagingAuthFactory(space=space)
    return Client(), f"/apispaces/{space.pk}/sessions"


def profile_put(space, api_key):
    client, _ = open_session(AppMessagingAuthFactory(space=space), profile_id="alice")
    return client, f"/apispaces/{space.pk}/profiles/alice"


@pytest.mark.parametrize("route", [server_post, batch_post, session_post, profile_put])
def test_a_body_over_the_size_limit_is_a_json_413(space, api_key, settings, route):
    client, url = route(space, api_key)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"to": {"profileId": "a"}, "rules": ["nativePush"], "body": "x" * 2000})
    method = client.put if route is profile_put else client.post
    response = method(url, body, content_type="application/json")
    assert_json_error(response, 413, "body_too_large")


@pytest.mark.urls(__name__)
def test_a_bug_under_an_api_prefix_is_a_json_500_without_the_debug_page(debug):
    response = Client(raise_request_exception=False).get("/apispaces/boom")
    assert_json_error(response, 500, "server_error")
    assert b"a bug" not in response.content


@pytest.mark.urls(__name__)
def test_a_bug_on_a_portal_page_is_not_turned_into_json(settings):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/portal-boom")
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")


def test_api_paths_are_told_from_portal_pages():
    assert errors.is_api_path("/apispaces/x/sessions")
    assert errors.is_api_path("/cpaas/sessions/x")
    assert errors.is_api_path("/api/schema/")
    assert errors.is_api_path("/api")
    assert not errors.is_api_path("/apisomething")
    assert not errors.is_api_path("/spaces/")
    assert not errors.is_api_path("/admin/")
