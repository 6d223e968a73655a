"""Channel forms on their own: the rules the page tests do not reach."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.forms import (
    MAX_UPLOAD_BYTES,
    ApnsCertificateForm,
    ApnsTokenForm,
    FcmCredentialForm,
)
from channels_app.models import ApnsCredential, ApnsKind, Health
from sessions_app.forms import AppMessagingAuthForm, generate_shared_secret
from tests import keys
from tests.factories import (
    ApnsCertificateCredentialFactory,
    ApnsTokenCredentialFactory,
    AppMessagingAuthFactory,
)

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "upload.bin") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def certificate_form(space, *, data: bytes | None = None, password: str = "", **fields):
    files = {"certificate_file": upload(data, "push.p12")} if data is not None else {}
    values = {"password": password, "environment": "production", "bundle_id": ""} | fields
    return ApnsCertificateForm(values, files, space=space)


def p12_without_uid(password: bytes | None = None) -> bytes:
    key, cert = keys.apns_certificate()
    name = x509.Name([x509.NameAttribute(keys.NameOID.COMMON_NAME, "legacy push")])
    bare = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
        .sign(key, hashes.SHA256())
    )
    return keys.p12(key, bare, password)


class TestAppMessagingAuthForm:
    def auth_data(self, **overrides):
        return {
            "issuer": "Acme-Issuer",
            "audience": "pushport",
            "shared_secret": "0123456789abcdef",
            "id_claim": "sub",
            "anonymous_token_lifetime": 3600,
            "anonymous_token_access": "nobody",
            "cors_origins": "",
        } | overrides

    def test_the_issuer_keeps_its_case(self, space):
        form = AppMessagingAuthForm(self.auth_data(), space=space)
        assert form.is_valid(), form.errors
        assert form.save().issuer == "Acme-Issuer"

    @pytest.mark.parametrize(
        ("origin", "error"),
        [
            ("https://user@app.example.com", "holds a user name"),
            ("https://app.example.com:99999", "has an invalid port"),
            ("https://app.example.com?x=1", "has a path"),
            ("app.example.com", "is not an origin"),
        ],
    )
    def test_a_bad_origin_is_named(self, space, origin, error):
        form = AppMessagingAuthForm(self.auth_data(cors_origins=origin), space=space)
        assert not form.is_valid()
        assert error in form.errors["cors_origins"][0]
        assert form.errors["cors_origins"][0].startswith("Line 1: ")

    def test_an_ipv6_origin_keeps_its_brackets(self, space):
        form = AppMessagingAuthForm(self.auth_data(cors_origins="http://[::1]:8080"), space=space)
        assert form.is_valid(), form.errors
        assert form.save().allowed_origins == ["http://[::1]:8080"]

    @pytest.mark.parametrize("lifetime", [59, 30 * 86400 + 1])
    def test_the_anonymous_token_lifetime_is_bounded(self, space, lifetime):
        form = AppMessagingAuthForm(self.auth_data(anonymous_token_lifetime=lifetime), space=space)
        assert not form.is_valid()
        assert "Between 60 seconds and 30 days" in form.errors["anonymous_token_lifetime"][0]

    def test_generate_replaces_a_typed_secret(self, space):
        form = AppMessagingAuthForm(self.auth_data(), space=space, generate_secret=True)
        assert form.is_valid(), form.errors
        assert form.save().shared_secret == form.generated_secret != "0123456789abcdef"

    def test_it_edits_only_its_own_space(self, space, other_space):
        theirs = AppMessagingAuthFactory(space=other_space)
        form = AppMessagingAuthForm(self.auth_data(audience="mine"), space=space)
        assert form.is_valid(), form.errors
        assert form.save().space == space
        theirs.refresh_from_db()
        assert theirs.audience == "pushport"

    def test_generated_secrets_are_long_and_distinct(self):
        first, second = generate_shared_secret(), generate_shared_secret()
        assert len(first) >= 64
        assert first != second


class TestFcmCredentialForm:
    def test_a_file_too_big_to_be_a_key_is_refused_before_parsing(self, space):
        form = FcmCredentialForm(
            {"package_name": "com.example.app"},
            {"service_account_file": upload(b" " * (MAX_UPLOAD_BYTES + 1))},
            space=space,
        )
        assert not form.is_valid()
        assert "is it the right file?" in form.errors["service_account_file"][0]


class TestApnsTokenForm:
    def token_data(self, **overrides):
        return {
            "key_id": "ABC123DEFG",
            "team_id": "TEAM123456",
            "bundle_id": "com.example.app",
            "environment": "production",
            "endpoint": "",
        } | overrides

    @pytest.mark.parametrize(
        ("pem", "error"),
        [
            (
                lambda: keys.ec_p256_key().private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                ),
                "not a PKCS#8 .p8",
            ),
            (
                lambda: keys.ec_p256_key().private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(b"pass"),
                ),
                "encrypted with a passphrase",
            ),
        ],
        ids=["sec1", "encrypted"],
    )
    def test_a_key_in_the_wrong_form_is_named(self, space, pem, error):
        form = ApnsTokenForm(self.token_data(), {"key_file": upload(pem())}, space=space)
        assert not form.is_valid()
        assert error in form.errors["key_file"][0]

    def test_it_stores_only_the_key_block_of_the_upload(self, space):
        key = keys.ec_p256_key()
        data = b"Apple auth key, keep safe\n" + keys.p8(key) + b"\n"
        form = ApnsTokenForm(self.token_data(), {"key_file": upload(data)}, space=space)
        assert form.is_valid(), form.errors
        assert form.save().key_p8 == keys.p8(key).decode()

    def test_saving_replaces_needs_attention_with_unverified(self, space):
        credential = ApnsTokenCredentialFactory(space=space)
        credential.mark_needs_attention("403 InvalidProviderToken")
        form = ApnsTokenForm(self.token_data(), space=space)
        assert form.is_valid(), form.errors
        saved = form.save()
        saved.refresh_from_db()
        assert (saved.health, saved.health_reason) == (Health.UNVERIFIED, "")
        assert saved.health_changed_at is not None

    def test_the_replace_box_appears_only_when_switching(self, space):
        assert "replace" not in ApnsTokenForm(space=space).fields
        ApnsCertificateCredentialFactory(space=space)
        assert "replace" in ApnsTokenForm(space=space).fields
        assert "replace" not in ApnsCertificateForm(space=space).fields


class TestApnsCertificateForm:
    def test_a_certificate_without_uid_needs_a_bundle_id(self, space):
        form = certificate_form(space, data=p12_without_uid())
        assert not form.is_valid()
        assert "names no bundle ID" in form.errors["bundle_id"][0]

    def test_a_certificate_without_uid_saves_with_a_bundle_id(self, space):
        form = certificate_form(space, data=p12_without_uid(), bundle_id="com.legacy.app")
        assert form.is_valid(), form.errors
        saved = form.save()
        assert (saved.bundle_id, saved.topic) == ("com.legacy.app", "")

    def test_a_password_for_a_p12_without_one_is_named_on_the_password(self, space):
        data = keys.p12(*keys.apns_certificate(), None)
        form = certificate_form(space, data=data, password="oops")
        assert not form.is_valid()
        assert "has no password" in form.errors["password"][0]
        assert "certificate_file" not in form.errors

    def test_a_key_that_does_not_match_is_refused(self, space):
        _, cert = keys.apns_certificate()
        data = serialization.pkcs12.serialize_key_and_certificates(
            b"push", keys.rsa_key(), None, [cert], serialization.NoEncryption()
        )
        form = certificate_form(space, data=data)
        assert not form.is_valid()
        assert "does not match its certificate" in form.errors["certificate_file"][0]

    def test_a_password_alone_does_not_change_the_stored_p12(self, space):
        ApnsCertificateCredentialFactory(space=space)
        form = certificate_form(space, password="new-password")
        assert not form.is_valid()
        assert "upload the file again" in form.errors["password"][0]

    def test_resaving_without_a_file_keeps_the_certificate_and_bundle_id(self, space):
        stored = ApnsCertificateCredentialFactory(space=space, bundle_id="com.kept.app")
        form = certificate_form(space, environment="sandbox")
        assert form.is_valid(), form.errors
        form.save()
        saved = ApnsCredential.objects.get(space=space)
        assert saved.kind == ApnsKind.CERTIFICATE
        assert saved.environment == "sandbox"
        assert saved.bundle_id == "com.kept.app"
        assert saved.certificate_p12 == stored.certificate_p12
        assert saved.certificate_password == stored.certificate_password

    def test_the_p12_is_stored_as_base64_of_the_upload(self, space):
        data = keys.p12(*keys.apns_certificate(), b"pw")
        form = certificate_form(space, data=data, password="pw")
        assert form.is_valid(), form.errors
        assert form.save().certificate_p12 == base64.b64encode(data).decode()
