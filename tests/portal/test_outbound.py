"""The outbound-host policy: which hosts a space's configuration may make the server reach."""

import pytest

from portal.outbound import (
    GOOGLE_TOKEN_URI,
    OutboundHostRefused,
    apns_endpoint_allowed,
    check_apns_endpoint,
    check_fcm_token_uri,
    fcm_token_uri_allowed,
    split_host_port,
)


@pytest.fixture
def operator(settings):
    settings.PUSHPORT_FCM_BASE_URL = "https://fcm.googleapis.com"
    settings.PUSHPORT_FCM_TOKEN_URIS = []
    settings.PUSHPORT_APNS_PRODUCTION_HOST = "api.push.apple.com:443"
    settings.PUSHPORT_APNS_SANDBOX_HOST = "api.sandbox.push.apple.com:443"
    settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = []
    return settings


class TestFcmTokenUri:
    def test_googles_token_endpoint_is_allowed(self, operator):
        assert fcm_token_uri_allowed(GOOGLE_TOKEN_URI)
        assert fcm_token_uri_allowed("https://OAUTH2.googleapis.com:443/token")

    @pytest.mark.parametrize(
        "uri",
        [
            "http://127.0.0.1:8080/token",
            "http://oauth2.googleapis.com/token",
            "https://oauth2.googleapis.com:8443/token",
            "https://oauth2.googleapis.com/other",
            "https://oauth2.googleapis.com@127.0.0.1/token",
            "https://user@oauth2.googleapis.com/token",
            "https://oauth2.googleapis.com/token?next=http://169.254.169.254/",
            "https://oauth2.googleapis.com/token#x",
            "https://169.254.169.254/computeMetadata/v1/",
            "file:///etc/passwd",
            "https://[::1]/token",
            "https://oauth2.googleapis.com:99999/token",
            "not a uri",
            "",
        ],
    )
    def test_anything_else_is_refused(self, operator, uri):
        assert not fcm_token_uri_allowed(uri)

    def test_the_operator_may_add_token_endpoints(self, operator):
        operator.PUSHPORT_FCM_TOKEN_URIS = ["https://gateway.internal:8443/oauth/token"]
        assert fcm_token_uri_allowed("https://gateway.internal:8443/oauth/token")
        assert not fcm_token_uri_allowed("https://gateway.internal:8443/other")
        assert not fcm_token_uri_allowed("https://gateway.internal/oauth/token")

    def test_the_origin_the_operator_sends_to_may_serve_tokens(self, operator):
        operator.PUSHPORT_FCM_BASE_URL = "https://fcm-gateway.internal:8443"
        assert fcm_token_uri_allowed("https://fcm-gateway.internal:8443/token")
        assert not fcm_token_uri_allowed("http://fcm-gateway.internal:8443/token")
        assert not fcm_token_uri_allowed("https://fcm-gateway.internal:8444/token")

    def test_the_refusal_names_the_setting(self, operator):
        with pytest.raises(OutboundHostRefused, match="PUSHPORT_FCM_TOKEN_URIS"):
            check_fcm_token_uri("http://127.0.0.1:1/token")
        assert check_fcm_token_uri(GOOGLE_TOKEN_URI) == GOOGLE_TOKEN_URI


class TestApnsEndpoint:
    def test_apples_hosts_are_allowed(self, operator):
        assert apns_endpoint_allowed("api.push.apple.com:443")
        assert apns_endpoint_allowed("API.sandbox.push.apple.com:443")

    @pytest.mark.parametrize(
        "endpoint",
        [
            "127.0.0.1:443",
            "localhost:2195",
            "169.254.169.254:80",
            "10.0.0.1:443",
            "[::1]:443",
            "api.push.apple.com:80",
            "api.push.apple.com",
            "::1:443",
        ],
    )
    def test_any_other_endpoint_is_refused_by_default(self, operator, endpoint):
        assert not apns_endpoint_allowed(endpoint)

    def test_the_operator_may_allow_a_gateway(self, operator):
        operator.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = ["apns-gateway.internal:443", "[::1]:8443"]
        assert apns_endpoint_allowed("apns-gateway.internal:443")
        assert apns_endpoint_allowed("[::1]:8443")
        assert not apns_endpoint_allowed("apns-gateway.internal:444")

    def test_the_refusal_names_the_setting(self, operator):
        with pytest.raises(OutboundHostRefused, match="PUSHPORT_APNS_ENDPOINT_ALLOWLIST"):
            check_apns_endpoint("127.0.0.1:22")


@pytest.mark.parametrize(
    ("value", "default_port", "expected"),
    [
        ("API.push.apple.com:443", None, ("api.push.apple.com", 443)),
        ("[::1]:2197", None, ("::1", 2197)),
        ("api.push.apple.com", None, None),
        ("api.push.apple.com", 443, ("api.push.apple.com", 443)),
        ("::1:443", None, None),
        ("host:99999", 443, None),
    ],
)
def test_a_host_and_port_are_read_strictly(value, default_port, expected):
    assert split_host_port(value, default_port=default_port) == expected
