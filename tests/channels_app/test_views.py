"""The Channels page: real uploads save, bad ones show their error and save nothing."""

import base64
import datetime as dt
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels_app.models import ApnsCredential, ApnsKind, FcmCredential, Health
from portal.models import Role
from sessions_app.models import AppMessagingAuth
from tests import keys
from tests.factories import (
    ApnsCertificateCredentialFactory,
    ApnsTokenCredentialFactory,
    AppMessagingAuthFactory,
    FcmCredentialFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db


def page_url(space) -> str:
    return reverse("space-channels", kwargs={"space_id": space.id})


def post(client, space, section, **fields):
    """POST one section of the page, prefixing its fields like the page does."""
    data = {"section": section}
    for name, value in fields.items():
        data[name if name == "generate_secret" else f"{section}-{name}"] = value
    return client.post(page_url(space), data)


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def p12_file(*, password: bytes | None = b"s3cret", **certificate) -> SimpleUploadedFile:
    return upload("push.p12", keys.p12(*keys.apns_certificate(**certificate), password))


def error_text(response) -> str:
    """The text of every form error on the page."""
    html = response.content.decode()
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def client_for(space, role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(space=space, role=role).user)
    return client


def token_fields(**overrides):
    fields = {
        "key_file": upload("AuthKey_ABC123DEFG.p8", keys.p8(keys.ec_p256_key())),
        "key_id": "ABC123DEFG",
        "team_id": "TEAM123456",
        "bundle_id": "com.example.app",
        "environment": "production",
        "endpoint": "",
    }
    return fields | overrides


def fcm_fields(**overrides):
    fields = {
        "package_name": "com.example.app",
        "service_account_file": upload("sa.json", keys.service_account_bytes()),
    }
    return fields | overrides


def auth_fields(**overrides):
    fields = {
        "issuer": "https://auth.example.com/",
        "audience": "pushport",
        "shared_secret": "a-very-long-shared-secret-0123456789",
        "id_claim": "sub",
        "anonymous_token_lifetime": "86400",
        "anonymous_token_access": "api_key",
        "cors_origins": "",
    }
    return fields | overrides


class TestPage:
    def test_it_shows_every_section_to_the_owner(self, owner_client, space):
        response = owner_client.get(page_url(space))
        assert response.status_code == 200
        html = response.content.decode()
        for heading in ("App Messaging authentication", "Android (FCM)", "Apple (APNs)"):
            assert heading in html
        assert 'class="active" aria-current="page">Channels' in html

    def test_a_viewer_sees_the_page_without_forms(self, space):
        FcmCredentialFactory(space=space)
        response = client_for(space, Role.VIEWER).get(page_url(space))
        assert response.status_code == 200
        html = response.content.decode()
        assert "demo-project" in html
        assert 'name="section"' not in html
        assert "Remove</button>" not in html

    def test_another_space_answers_404(self, owner_client, other_space):
        assert owner_client.get(page_url(other_space)).status_code == 404

    def test_an_anonymous_visitor_is_sent_to_sign_in(self, space):
        response = Client().get(page_url(space))
        assert response.status_code == 302
        assert reverse("login") in response["Location"]

    def test_an_unknown_section_is_a_bad_request(self, owner_client, space):
        response = owner_client.post(page_url(space), {"section": "smtp"})
        assert response.status_code == 400


SECTION_POSTS = {
    "auth": auth_fields,
    "fcm": fcm_fields,
    "apns_token": token_fields,
    "apns_certificate": lambda: {
        "certificate_file": p12_file(),
        "password": "s3cret",
        "environment": "production",
    },
}


class TestAccess:
    @pytest.mark.parametrize("section", SECTION_POSTS)
    def test_a_viewer_cannot_save_any_section(self, space, section):
        response = post(client_for(space, Role.VIEWER), space, section, **SECTION_POSTS[section]())
        assert response.status_code == 403
        assert not AppMessagingAuth.objects.exists()
        assert not FcmCredential.objects.exists()
        assert not ApnsCredential.objects.exists()

    @pytest.mark.parametrize("section", SECTION_POSTS)
    def test_a_member_of_another_space_gets_404_on_every_section(
        self, owner_client, other_space, section
    ):
        response = post(owner_client, other_space, section, **SECTION_POSTS[section]())
        assert response.status_code == 404
        assert not AppMessagingAuth.objects.exists()
        assert not FcmCredential.objects.exists()
        assert not ApnsCredential.objects.exists()

    @pytest.mark.parametrize("section", SECTION_POSTS)
    def test_an_admin_member_can_save_every_section(self, space, section):
        response = post(client_for(space, Role.ADMIN), space, section, **SECTION_POSTS[section]())
        assert response.status_code == 302

    @pytest.mark.parametrize("channel", ["fcm", "apns"])
    def test_a_viewer_cannot_remove_a_channel(self, space, channel):
        FcmCredentialFactory(space=space)
        ApnsTokenCredentialFactory(space=space)
        url = reverse("space-channel-remove", kwargs={"space_id": space.id, "channel": channel})
        assert client_for(space, Role.VIEWER).post(url).status_code == 403
        assert FcmCredential.objects.filter(space=space).exists()
        assert ApnsCredential.objects.filter(space=space).exists()

    @pytest.mark.parametrize("channel", ["fcm", "apns"])
    def test_another_space_cannot_be_removed_from(self, owner_client, other_space, channel):
        FcmCredentialFactory(space=other_space)
        ApnsTokenCredentialFactory(space=other_space)
        url = reverse(
            "space-channel-remove", kwargs={"space_id": other_space.id, "channel": channel}
        )
        assert owner_client.post(url).status_code == 404
        assert FcmCredential.objects.filter(space=other_space).exists()
        assert ApnsCredential.objects.filter(space=other_space).exists()


class TestRemove:
    @pytest.mark.parametrize(
        ("channel", "model"), [("fcm", FcmCredential), ("apns", ApnsCredential)]
    )
    def test_the_owner_removes_a_channel(self, owner_client, space, other_space, channel, model):
        FcmCredentialFactory(space=space)
        ApnsTokenCredentialFactory(space=space)
        FcmCredentialFactory(space=other_space)
        ApnsTokenCredentialFactory(space=other_space)
        url = reverse("space-channel-remove", kwargs={"space_id": space.id, "channel": channel})
        response = owner_client.post(url)
        assert response.status_code == 302
        assert not model.objects.filter(space=space).exists()
        assert model.objects.filter(space=other_space).exists()

    def test_an_unknown_channel_is_not_found(self, owner_client, space):
        url = reverse("space-channel-remove", kwargs={"space_id": space.id, "channel": "sms"})
        assert owner_client.post(url).status_code == 404

    def test_removing_needs_a_post(self, owner_client, space):
        url = reverse("space-channel-remove", kwargs={"space_id": space.id, "channel": "fcm"})
        assert owner_client.get(url).status_code == 405


class TestAppMessagingAuth:
    def test_it_saves_the_settings(self, owner_client, space):
        response = post(owner_client, space, "auth", **auth_fields(id_claim="user_id"))
        assert response.status_code == 302
        auth = AppMessagingAuth.objects.get(space=space)
        assert auth.issuer == "https://auth.example.com/"
        assert auth.id_claim == "user_id"
        assert auth.shared_secret == "a-very-long-shared-secret-0123456789"

    def test_a_save_is_logged_without_the_secret(self, owner_client, space, caplog):
        caplog.set_level("INFO", logger="channels_app.views")
        post(owner_client, space, "auth", **auth_fields())
        assert f"space {space.id}: auth saved by user" in caplog.text
        assert "a-very-long-shared-secret" not in caplog.text

    def test_the_secret_never_appears_on_the_page(self, owner_client, space):
        auth = AppMessagingAuthFactory(space=space)
        html = owner_client.get(page_url(space)).content.decode()
        assert auth.shared_secret not in html
        assert f"set, last changed {auth.shared_secret_changed_at:%-d %b %Y}" in html

    def test_a_rejected_form_does_not_echo_the_typed_secret(self, owner_client, space):
        typed = "typed-secret-that-must-not-come-back"
        response = post(
            owner_client, space, "auth", **auth_fields(shared_secret=typed, id_claim="no spaces")
        )
        assert "A claim name is" in error_text(response)
        assert typed not in response.content.decode()
        assert not AppMessagingAuth.objects.exists()

    def test_an_empty_secret_keeps_the_stored_one(self, owner_client, space):
        auth = AppMessagingAuthFactory(space=space)
        before = auth.shared_secret_changed_at
        response = post(
            owner_client, space, "auth", **auth_fields(shared_secret="", audience="new-aud")
        )
        assert response.status_code == 302
        auth.refresh_from_db()
        assert auth.audience == "new-aud"
        assert auth.shared_secret == AppMessagingAuth.objects.get().shared_secret
        assert auth.shared_secret_changed_at == before

    def test_a_new_space_needs_a_secret(self, owner_client, space):
        response = post(owner_client, space, "auth", **auth_fields(shared_secret=""))
        assert "Enter the shared secret, or generate one." in error_text(response)
        assert not AppMessagingAuth.objects.exists()

    def test_a_short_secret_is_refused(self, owner_client, space):
        response = post(owner_client, space, "auth", **auth_fields(shared_secret="short"))
        assert "at least 16 characters" in error_text(response)
        assert not AppMessagingAuth.objects.exists()

    def test_generate_shows_the_new_secret_once_after_a_redirect(self, owner_client, space):
        auth = AppMessagingAuthFactory(space=space)
        old = auth.shared_secret
        response = post(
            owner_client, space, "auth", **auth_fields(shared_secret=""), generate_secret="1"
        )
        assert response.status_code == 302
        assert response["Location"] == f"{page_url(space)}#auth"
        assert "generated-secret" not in response.content.decode()
        auth.refresh_from_db()
        assert auth.shared_secret != old
        assert len(auth.shared_secret) >= 48
        assert auth.shared_secret_changed_at > timezone.now() - dt.timedelta(minutes=1)

        shown = owner_client.get(page_url(space))

        assert "no-store" in shown["Cache-Control"]
        secret = re.search(r'id="generated-secret">([^<]+)<', shown.content.decode())
        assert secret.group(1) == auth.shared_secret

    def test_a_reload_neither_shows_nor_replaces_the_generated_secret(self, owner_client, space):
        AppMessagingAuthFactory(space=space)
        post(owner_client, space, "auth", **auth_fields(shared_secret=""), generate_secret="1")
        owner_client.get(page_url(space))
        generated = AppMessagingAuth.objects.get(space=space)

        reload = owner_client.get(page_url(space))

        assert reload.status_code == 200
        assert "no-store" in reload["Cache-Control"]
        assert "generated-secret" not in reload.content.decode()
        assert generated.shared_secret not in reload.content.decode()
        stored = AppMessagingAuth.objects.get(space=space)
        assert stored.shared_secret == generated.shared_secret
        assert stored.shared_secret_changed_at == generated.shared_secret_changed_at

    def test_the_generated_secret_waits_in_the_session_encrypted(self, owner_client, space):
        AppMessagingAuthFactory(space=space)
        post(owner_client, space, "auth", **auth_fields(shared_secret=""), generate_secret="1")
        secret = AppMessagingAuth.objects.get(space=space).shared_secret
        assert secret not in str(dict(owner_client.session))

    def test_the_secret_is_shown_to_the_one_who_generated_it(self, owner_client, space):
        AppMessagingAuthFactory(space=space)
        post(owner_client, space, "auth", **auth_fields(shared_secret=""), generate_secret="1")
        colleague = client_for(space, Role.ADMIN)
        assert "generated-secret" not in colleague.get(page_url(space)).content.decode()
        assert "generated-secret" in owner_client.get(page_url(space)).content.decode()

    def test_cors_origins_are_validated_line_by_line(self, owner_client, space):
        origins = "https://app.example.com\nftp://files.example.com\nhttps://x.example.com/app"
        response = post(owner_client, space, "auth", **auth_fields(cors_origins=origins))
        errors = error_text(response)
        assert "Line 2: “ftp://files.example.com” is not an origin" in errors
        assert "Line 3: “https://x.example.com/app” has a path" in errors
        assert not AppMessagingAuth.objects.exists()

    def test_cors_origins_are_stored_normalised(self, owner_client, space):
        origins = "HTTPS://App.Example.com/\n\n*\nhttp://localhost:3000\nhttps://app.example.com"
        post(owner_client, space, "auth", **auth_fields(cors_origins=origins))
        auth = AppMessagingAuth.objects.get(space=space)
        assert auth.allowed_origins == ["https://app.example.com", "*", "http://localhost:3000"]

    def test_the_origins_of_hybrid_app_web_views_are_accepted(self, owner_client, space):
        origins = "capacitor://localhost\nIONIC://localhost\napp://localhost\ntauri://localhost"
        post(owner_client, space, "auth", **auth_fields(cors_origins=origins))
        auth = AppMessagingAuth.objects.get(space=space)
        assert auth.allowed_origins == [
            "capacitor://localhost",
            "ionic://localhost",
            "app://localhost",
            "tauri://localhost",
        ]


class TestFcm:
    def test_a_good_service_account_saves_and_shows_only_its_identity(self, owner_client, space):
        account = keys.service_account_json(project_id="acme-push")
        response = post(
            owner_client,
            space,
            "fcm",
            **fcm_fields(service_account_file=upload("sa.json", json.dumps(account).encode())),
        )
        assert response.status_code == 302
        credential = FcmCredential.objects.get(space=space)
        assert credential.project_id == "acme-push"
        assert credential.client_email == "pushport@acme-push.iam.gserviceaccount.com"
        assert json.loads(credential.service_account_json) == account
        html = owner_client.get(page_url(space)).content.decode()
        assert "acme-push" in html
        assert "pushport@acme-push.iam.gserviceaccount.com" in html
        assert "PRIVATE KEY" not in html
        key_body = account["private_key"].splitlines()[1]
        assert key_body not in html

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            (keys.service_account_bytes()[:300], "the file looks truncated"),
            (b"not json at all", "the file is not valid JSON"),
            (
                json.dumps(keys.service_account_json() | {"type": "authorized_user"}).encode(),
                "not &quot;service_account&quot;",
            ),
            (
                json.dumps(
                    {k: v for k, v in keys.service_account_json().items() if k != "token_uri"}
                ).encode(),
                "the service-account JSON lacks token_uri",
            ),
            (
                json.dumps(keys.service_account_json() | {"private_key": "garbage"}).encode(),
                "is not a readable PEM private key",
            ),
        ],
        ids=["truncated", "not-json", "wrong-type", "missing-field", "bad-private-key"],
    )
    def test_a_bad_file_shows_its_error_and_saves_nothing(self, owner_client, space, data, error):
        response = post(
            owner_client, space, "fcm", **fcm_fields(service_account_file=upload("sa.json", data))
        )
        assert response.status_code == 200
        assert error in error_text(response)
        assert not FcmCredential.objects.exists()

    def test_a_bad_file_leaves_the_stored_credential_unchanged(self, owner_client, space):
        credential = FcmCredentialFactory(space=space)
        response = post(
            owner_client,
            space,
            "fcm",
            **fcm_fields(
                package_name="com.changed.app",
                service_account_file=upload("sa.json", b'{"type": "service_account"'),
            ),
        )
        assert "truncated" in error_text(response)
        stored = FcmCredential.objects.get(space=space)
        assert stored.package_name == credential.package_name
        assert stored.service_account_json == credential.service_account_json

    def test_the_first_save_needs_a_file(self, owner_client, space):
        response = post(owner_client, space, "fcm", package_name="com.example.app")
        assert "Upload the service-account JSON key." in error_text(response)
        assert not FcmCredential.objects.exists()

    def test_saving_without_a_file_keeps_the_json(self, owner_client, space):
        credential = FcmCredentialFactory(space=space)
        response = post(owner_client, space, "fcm", package_name="com.example.other")
        assert response.status_code == 302
        stored = FcmCredential.objects.get(space=space)
        assert stored.package_name == "com.example.other"
        assert stored.service_account_json == credential.service_account_json
        assert stored.project_id == credential.project_id

    @pytest.mark.parametrize("name", ["example", "com..example", "com.1example", "com.ex-ample"])
    def test_a_package_name_must_look_like_a_java_package(self, owner_client, space, name):
        response = post(owner_client, space, "fcm", **fcm_fields(package_name=name))
        assert "A package name is two or more dot-separated parts" in error_text(response)
        assert not FcmCredential.objects.exists()

    def test_saving_a_new_key_replaces_needs_attention_with_unverified(self, owner_client, space):
        credential = FcmCredentialFactory(space=space)
        credential.mark_needs_attention("401 UNAUTHENTICATED")
        assert "needs attention" in owner_client.get(page_url(space)).content.decode()
        post(owner_client, space, "fcm", **fcm_fields())
        credential.refresh_from_db()
        assert credential.health == Health.UNVERIFIED
        assert credential.health_reason == ""


class TestApnsToken:
    def test_a_p256_key_saves(self, owner_client, space):
        key = keys.ec_p256_key()
        response = post(
            owner_client,
            space,
            "apns_token",
            **token_fields(key_file=upload("k.p8", keys.p8(key)), key_id="abc123defg"),
        )
        assert response.status_code == 302
        credential = ApnsCredential.objects.get(space=space)
        assert credential.kind == ApnsKind.TOKEN
        assert credential.key_id == "ABC123DEFG"
        assert credential.key_p8 == keys.p8(key).decode()
        html = owner_client.get(page_url(space)).content.decode()
        assert "ABC123DEFG" in html
        assert keys.p8(key).decode().splitlines()[1] not in html

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            (lambda: keys.p8(keys.rsa_key()), "this key is RSA; APNs needs an EC P-256 key"),
            (
                lambda: keys.p8(keys.ec_p384_key()),
                "this key is on curve secp384r1; APNs needs P-256",
            ),
            (lambda: b"\x00\x01garbage", "not a PEM .p8 key"),
        ],
        ids=["rsa", "p384", "garbage"],
    )
    def test_a_bad_key_shows_its_error_and_saves_nothing(self, owner_client, space, data, error):
        response = post(
            owner_client, space, "apns_token", **token_fields(key_file=upload("k.p8", data()))
        )
        assert error in error_text(response)
        assert not ApnsCredential.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value", "error"),
        [
            ("key_id", "ABC123", "A Key ID is 10 letters and digits"),
            ("team_id", "TEAM-12345", "A Team ID is 10 letters and digits"),
            ("bundle_id", "com example", "A bundle ID is letters, digits and hyphens"),
            ("endpoint", "gateway.internal", "Write host:port"),
            ("endpoint", "bad_host:443", "is not a host name"),
            ("endpoint", "gateway:70000", "Write host:port"),
        ],
    )
    def test_bad_fields_are_refused(self, owner_client, space, field, value, error):
        response = post(owner_client, space, "apns_token", **token_fields(**{field: value}))
        assert error in error_text(response)
        assert not ApnsCredential.objects.exists()

    def test_an_endpoint_override_the_operator_allows_is_saved(self, owner_client, space, settings):
        settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST = ["[::1]:8443"]
        post(owner_client, space, "apns_token", **token_fields(endpoint="[::1]:8443"))
        assert ApnsCredential.objects.get(space=space).endpoint == "[::1]:8443"

    def test_saving_without_a_file_keeps_the_key(self, owner_client, space):
        credential = ApnsTokenCredentialFactory(space=space)
        response = post(
            owner_client,
            space,
            "apns_token",
            **token_fields(key_file="", environment="sandbox", key_id="NEWKEY0001"),
        )
        assert response.status_code == 302
        stored = ApnsCredential.objects.get(space=space)
        assert stored.key_p8 == credential.key_p8
        assert stored.key_id == "NEWKEY0001"
        assert stored.environment == "sandbox"

    def test_the_first_save_needs_a_key(self, owner_client, space):
        response = post(owner_client, space, "apns_token", **token_fields(key_file=""))
        assert "Upload the .p8 auth key." in error_text(response)
        assert not ApnsCredential.objects.exists()


class TestApnsCertificate:
    def test_a_password_protected_p12_saves(self, owner_client, space):
        data = keys.p12(*keys.apns_certificate(bundle_id="com.acme.news"), b"s3cret")
        response = post(
            owner_client,
            space,
            "apns_certificate",
            certificate_file=upload("push.p12", data),
            password="s3cret",
            environment="sandbox",
        )
        assert response.status_code == 302
        credential = ApnsCredential.objects.get(space=space)
        assert credential.kind == ApnsKind.CERTIFICATE
        assert credential.p12_bytes == data
        assert credential.certificate_password == "s3cret"
        assert credential.topic == credential.bundle_id == "com.acme.news"
        assert "UID=com.acme.news" in credential.subject
        assert credential.not_after > timezone.now() + dt.timedelta(days=300)
        html = owner_client.get(page_url(space)).content.decode()
        assert "com.acme.news" in html
        assert "s3cret" not in html
        assert base64.b64encode(data).decode()[:40] not in html

    def test_a_p12_without_password_saves(self, owner_client, space):
        response = post(
            owner_client,
            space,
            "apns_certificate",
            certificate_file=p12_file(password=None),
            password="",
            environment="production",
        )
        assert response.status_code == 302
        assert ApnsCredential.objects.get(space=space).certificate_password == ""

    @pytest.mark.parametrize(
        ("make_file", "password", "error"),
        [
            (lambda: p12_file(), "wrong", "the password does not open this .p12"),
            (lambda: p12_file(), "", "this .p12 needs a password"),
            (lambda: upload("x.p12", b"\x00garbage"), "", "not a PKCS#12 (.p12) file"),
            (
                lambda: p12_file(not_before=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), days_valid=30),
                "s3cret",
                "this certificate expired on 2024-01-31 00:00 UTC",
            ),
        ],
        ids=["wrong-password", "missing-password", "garbage", "expired"],
    )
    def test_a_bad_p12_shows_its_error_and_saves_nothing(
        self, owner_client, space, make_file, password, error
    ):
        response = post(
            owner_client,
            space,
            "apns_certificate",
            certificate_file=make_file(),
            password=password,
            environment="production",
        )
        assert error in error_text(response)
        assert not ApnsCredential.objects.exists()

    def test_a_bad_p12_leaves_the_stored_certificate_unchanged(self, owner_client, space):
        stored = ApnsCertificateCredentialFactory(space=space, environment="production")
        response = post(
            owner_client,
            space,
            "apns_certificate",
            certificate_file=p12_file(),
            password="wrong",
            environment="sandbox",
        )
        assert "the password does not open this .p12" in error_text(response)
        after = ApnsCredential.objects.get(space=space)
        assert after.environment == "production"
        assert after.certificate_p12 == stored.certificate_p12
        assert after.certificate_password == stored.certificate_password

    def test_the_password_typed_is_not_echoed_after_an_error(self, owner_client, space):
        response = post(
            owner_client,
            space,
            "apns_certificate",
            certificate_file=p12_file(),
            password="typed-wrong-password",
            environment="production",
        )
        assert "typed-wrong-password" not in response.content.decode()

    def test_the_page_warns_when_the_certificate_expires_soon(self, owner_client, space):
        ApnsCertificateCredentialFactory(
            space=space, not_after=timezone.now() + dt.timedelta(days=10)
        )
        html = owner_client.get(page_url(space)).content.decode()
        assert 'class="badge expiring"' in html
        assert "expires within 30 days" in html

    def test_the_page_does_not_warn_for_a_distant_expiry(self, owner_client, space):
        ApnsCertificateCredentialFactory(
            space=space, not_after=timezone.now() + dt.timedelta(days=200)
        )
        html = owner_client.get(page_url(space)).content.decode()
        assert "badge expiring" not in html
        assert "badge expired" not in html

    def test_the_page_says_expired_once_it_has(self, owner_client, space):
        ApnsCertificateCredentialFactory(
            space=space, not_after=timezone.now() - dt.timedelta(days=1)
        )
        html = owner_client.get(page_url(space)).content.decode()
        assert '<span class="badge expired">expired</span>' in html

    def test_the_warning_window_follows_the_setting(self, owner_client, space, settings):
        settings.PUSHPORT_CREDENTIAL_WARNING_DAYS = 5
        ApnsCertificateCredentialFactory(
            space=space, not_after=timezone.now() + dt.timedelta(days=10)
        )
        assert "badge expiring" not in owner_client.get(page_url(space)).content.decode()

    def test_the_health_reason_is_shown(self, owner_client, space):
        credential = ApnsCertificateCredentialFactory(space=space)
        credential.mark_needs_attention("403 BadCertificate")
        html = owner_client.get(page_url(space)).content.decode()
        assert "needs attention</span> 403 BadCertificate" in html


class TestSwitchingKinds:
    def test_token_to_certificate_needs_confirmation(self, owner_client, space):
        token = ApnsTokenCredentialFactory(space=space)
        fields = {"password": "s3cret", "environment": "production"}
        response = post(
            owner_client, space, "apns_certificate", certificate_file=p12_file(), **fields
        )
        assert "This space uses an APNs token key" in error_text(response)
        stored = ApnsCredential.objects.get(space=space)
        assert stored.kind == ApnsKind.TOKEN
        assert stored.key_p8 == token.key_p8

        response = post(
            owner_client,
            space,
            "apns_certificate",
            certificate_file=p12_file(),
            replace="on",
            **fields,
        )
        assert response.status_code == 302
        stored = ApnsCredential.objects.get(space=space)
        assert stored.kind == ApnsKind.CERTIFICATE
        assert stored.pk == token.pk
        assert (stored.key_p8, stored.key_id, stored.team_id) == ("", "", "")

    def test_certificate_to_token_needs_confirmation(self, owner_client, space):
        certificate = ApnsCertificateCredentialFactory(space=space)
        response = post(owner_client, space, "apns_token", **token_fields())
        assert "This space uses an APNs certificate" in error_text(response)
        assert ApnsCredential.objects.get(space=space).p12_bytes == certificate.p12_bytes

        response = post(owner_client, space, "apns_token", **token_fields(replace="on"))
        assert response.status_code == 302
        stored = ApnsCredential.objects.get(space=space)
        assert stored.kind == ApnsKind.TOKEN
        assert stored.certificate_p12 == stored.certificate_password == ""
        assert stored.subject == stored.topic == ""
        assert stored.not_after is None
        assert ApnsCredential.objects.count() == 1

    def test_switching_needs_the_new_kinds_file(self, owner_client, space):
        ApnsCertificateCredentialFactory(space=space)
        response = post(
            owner_client, space, "apns_token", **token_fields(key_file="", replace="on")
        )
        assert "Upload the .p8 auth key." in error_text(response)
        assert ApnsCredential.objects.get(space=space).kind == ApnsKind.CERTIFICATE
