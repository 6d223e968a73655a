"""A space's credentials cannot make the server reach its network (token_uri, APNs endpoint).

Each case runs through the real upload form, the admin or a real send, against an HTTP
listener on 127.0.0.1 that records every connection it accepts.
"""

import json
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import reverse

from channels_app.models import ApnsCredential, Delivery, FcmCredential
from channels_app.payloads import apns_payload, fcm_message
from channels_app.providers.apns import ApnsProvider
from channels_app.providers.base import Outcome, PushItem
from channels_app.providers.fcm import FcmProvider
from tests import keys
from tests.channels_app.test_views import error_text, fcm_fields, post, token_fields, upload
from tests.factories import (
    ApnsTokenCredentialFactory,
    FcmCredentialFactory,
    MessageFactory,
    UserFactory,
)
from tests.portal.conftest import signed_in

INTERNAL_SECRET = "internal-secret-7f3a"
INTERNAL_BYTES = INTERNAL_SECRET.encode()


class Listener:
    """An HTTP server on 127.0.0.1 that answers every request alike and counts connections."""

    def __init__(self, *, status=200, headers=(), body=b"answered: " + INTERNAL_BYTES):
        listener = self
        self.connections = 0
        self.requests: list[tuple[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                listener.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                listener.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def fcm_items(count=2):
    payload = fcm_message(MessageFactory.build(title="Hi"), package_name="com.example.app")
    return [
        PushItem(delivery_id=str(uuid.uuid4()), token=secrets.token_urlsafe(120), payload=payload)
        for _ in range(count)
    ]


def apns_items(count=2):
    payload = apns_payload(MessageFactory.build(title="Hi"), bundle_id="com.example.app")
    return [
        PushItem(delivery_id=str(uuid.uuid4()), token="ab" * 32, payload=payload)
        for _ in range(count)
    ]


def fcm_credential_naming(token_uri: str, **fields) -> FcmCredential:
    """A stored credential whose JSON names token_uri (as one saved before the policy would)."""
    info = keys.service_account_json(project_id="demo-project", token_uri=token_uri)
    return FcmCredentialFactory(
        service_account_json=json.dumps(info), project_id="demo-project", **fields
    )


@pytest.fixture
def fcm():
    provider = FcmProvider()
    yield provider
    provider.close()


@pytest.fixture
def apns():
    provider = ApnsProvider()
    yield provider
    provider.close()


class TestFcmTokenUri:
    def test_an_upload_naming_an_internal_token_uri_is_refused_with_a_named_error(
        self, owner_client, space, listener
    ):

        data = keys.service_account_bytes(token_uri=listener.url)
        response = post(
            owner_client,
            space,
            "fcm",
            **fcm_fields(service_account_file=upload("sa.json", data)),
        )
        assert "token_uri" in error_text(response)
        assert "PUSHPORT_FCM_TOKEN_URIS" in error_text(response)
        assert not FcmCredential.objects.filter(space=space).exists()
        assert listener.connections == 0

    def test_a_token_uri_the_operator_listed_is_accepted_at_upload(
        self, owner_client, space, listener, settings
    ):

        settings.PUSHPORT_FCM_TOKEN_URIS = [listener.url]
        data = keys.service_account_bytes(token_uri=listener.url)
        post(owner_client, space, "fcm", **fcm_fields(service_account_file=upload("sa.json", data)))
        assert FcmCredential.objects.filter(space=space).exists()

    def test_a_send_never_calls_a_stored_internal_token_uri(self, db, fcm, fcm_fake, listener):
        credential = fcm_credential_naming(listener.url)
        results = fcm.send(credential, fcm_items())
        assert {r.outcome for r in results} == {Outcome.CREDENTIAL_ERROR}
        assert "token_uri" in results[0].reason
        assert INTERNAL_SECRET not in results[0].reason
        assert listener.connections == 0

    @pytest.mark.django_db(transaction=True)
    def test_the_send_api_the_delivery_and_the_channels_page_never_show_what_answered(
        self, space, api_key, fcm_fake, pixel, owner_client, listener, settings
    ):
        # The operator listed an endpoint that turns out to answer with something else.
        settings.PUSHPORT_FCM_TOKEN_URIS = [listener.url]
        fcm_credential_naming(listener.url, space=space)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        body = {"to": {"profileId": "alice"}, "rules": ["nativePush"], "title": "Hi"}
        response = client.post(
            f"/apispaces/{space.pk}/messages", json.dumps(body), content_type="application/json"
        )
        assert response.status_code in (201, 202)
        assert INTERNAL_SECRET not in response.content.decode()
        delivery = Delivery.objects.get(device=pixel)
        assert INTERNAL_SECRET not in delivery.reason
        assert delivery.status != "delivered"
        page = owner_client.get(reverse("space-channels", kwargs={"space_id": space.id}))
        assert INTERNAL_SECRET not in page.content.decode()

    def test_the_token_call_never_follows_a_redirect(self, db, fcm, fcm_fake, settings):
        target = Listener()
        redirector = Listener(status=302, headers=[("Location", target.url)])
        try:
            settings.PUSHPORT_FCM_TOKEN_URIS = [redirector.url]
            credential = fcm_credential_naming(redirector.url)
            results = fcm.send(credential, fcm_items())
        finally:
            redirector.close()
            target.close()
        assert redirector.requests == [("POST", "/token")]
        assert target.connections == 0
        assert {r.outcome for r in results} == {Outcome.CREDENTIAL_ERROR}
        assert INTERNAL_SECRET not in results[0].reason

    def test_an_oauth_refusal_keeps_its_code_and_drops_its_description(
        self, db, fcm, fcm_fake, settings
    ):
        answer = {"error": "invalid_grant", "error_description": INTERNAL_SECRET}
        endpoint = Listener(status=400, body=json.dumps(answer).encode())
        try:
            settings.PUSHPORT_FCM_TOKEN_URIS = [endpoint.url]
            results = fcm.send(fcm_credential_naming(endpoint.url), fcm_items())
        finally:
            endpoint.close()
        assert results[0].outcome is Outcome.CREDENTIAL_ERROR
        assert "invalid_grant" in results[0].reason
        assert INTERNAL_SECRET not in results[0].reason

    def test_a_token_answer_that_is_not_oauth_json_is_retried_with_a_fixed_reason(
        self, db, fcm, fcm_fake, listener, settings
    ):
        settings.PUSHPORT_FCM_TOKEN_URIS = [listener.url]
        results = fcm.send(fcm_credential_naming(listener.url), fcm_items())
        assert {r.outcome for r in results} == {Outcome.RETRY}
        assert "usable token" in results[0].reason
        assert INTERNAL_SECRET not in results[0].reason

    def test_an_unreachable_token_endpoint_is_retried_with_a_fixed_reason(
        self, db, fcm, fcm_fake, settings
    ):
        closed = Listener()
        closed.close()
        settings.PUSHPORT_FCM_TOKEN_URIS = [closed.url]
        results = fcm.send(fcm_credential_naming(closed.url), fcm_items())
        assert {r.outcome for r in results} == {Outcome.RETRY}
        assert str(closed.port) not in results[0].reason
        assert "refused" not in results[0].reason.lower()

    def test_the_list_is_read_again_at_send_time(self, db, fcm, fcm_fake, listener, settings):
        settings.PUSHPORT_FCM_TOKEN_URIS = [listener.url]
        credential = fcm_credential_naming(listener.url)
        settings.PUSHPORT_FCM_TOKEN_URIS = []
        results = fcm.send(credential, fcm_items())
        assert results[0].outcome is Outcome.CREDENTIAL_ERROR
        assert listener.connections == 0

    def test_the_fakes_token_endpoint_still_works(self, db, fcm, fcm_credential):
        assert {r.outcome for r in fcm.send(fcm_credential, fcm_items())} == {Outcome.DELIVERED}


class TestApnsEndpoint:
    def test_the_form_refuses_an_endpoint_off_the_allow_list(self, owner_client, space):

        response = post(owner_client, space, "apns_token", **token_fields(endpoint="127.0.0.1:22"))
        assert "PUSHPORT_APNS_ENDPOINT_ALLOWLIST" in error_text(response)
        assert not ApnsCredential.objects.filter(space=space).exists()

    def test_the_form_accepts_an_endpoint_the_operator_listed(self, owner_client, space, settings):

        settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = ["apns-gateway.internal:443"]
        post(
            owner_client, space, "apns_token", **token_fields(endpoint="apns-gateway.internal:443")
        )
        assert ApnsCredential.objects.get(space=space).endpoint == "apns-gateway.internal:443"

    def test_a_send_never_connects_to_a_stored_endpoint_off_the_list(self, db, apns, listener):
        credential = ApnsTokenCredentialFactory(endpoint=listener.host)
        results = apns.send(credential, apns_items())
        assert {r.outcome for r in results} == {Outcome.CREDENTIAL_ERROR}
        assert "not allowed" in results[0].reason
        assert listener.connections == 0

    def test_a_closed_port_and_an_open_one_read_the_same(self, db, apns, listener, settings):
        closed = Listener()
        closed.close()
        settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = [listener.host, closed.host]
        open_result = apns.send(ApnsTokenCredentialFactory(endpoint=listener.host), apns_items(1))
        closed_result = apns.send(ApnsTokenCredentialFactory(endpoint=closed.host), apns_items(1))
        assert listener.connections >= 1
        assert open_result[0].outcome is closed_result[0].outcome
        assert open_result[0].reason == closed_result[0].reason


def admin_post(client, credential, **changes):
    """Post the credential's admin change form as shown, with `changes` applied."""
    url = reverse("admin:channels_app_apnscredential_change", args=[credential.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {name: value for name, value in data.items() if value is not None}
    return client.post(url, {**data, **changes})


@pytest.fixture
def superuser_client(db):
    return signed_in(UserFactory(is_staff=True, is_superuser=True))


class TestAdmin:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("endpoint", "169.254.169.254:80"),
            ("endpoint", "not a host"),
            ("max_connections", "32767"),
            ("max_connections", "0"),
            ("response_timeout", "1e9"),
            ("response_timeout", "0"),
        ],
    )
    def test_the_admin_refuses_what_the_portal_refuses(self, superuser_client, field, value):
        credential = ApnsTokenCredentialFactory()
        response = admin_post(superuser_client, credential, **{field: value})
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors
        before = getattr(credential, field)
        credential.refresh_from_db()
        assert getattr(credential, field) == before

    def test_the_admin_saves_values_within_bounds(self, superuser_client, settings):
        settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = ["apns-gateway.internal:443"]
        credential = ApnsTokenCredentialFactory()
        response = admin_post(
            superuser_client,
            credential,
            endpoint="apns-gateway.internal:443",
            max_connections="32",
            response_timeout="60",
        )
        assert response.status_code == 302
        credential.refresh_from_db()
        assert (credential.endpoint, credential.max_connections, credential.response_timeout) == (
            "apns-gateway.internal:443",
            32,
            60.0,
        )
