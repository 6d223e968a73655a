"""Parsing uploaded credentials: real keys in, specific errors out."""

import datetime as dt
import json
import ssl

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12

from channels_app.credentials import (
    CredentialError,
    p12_tls_pem,
    parse_p8,
    parse_p12,
    parse_service_account,
)
from tests import keys


def error_of(func, *args) -> str:
    with pytest.raises(CredentialError) as caught:
        func(*args)
    return str(caught.value)


class TestServiceAccount:
    def test_it_reads_a_good_service_account(self):
        account = parse_service_account(keys.service_account_bytes(project_id="acme-push"))
        assert account.project_id == "acme-push"
        assert account.client_email == "pushport@acme-push.iam.gserviceaccount.com"
        assert account.token_uri == "https://oauth2.googleapis.com/token"
        assert account.info["type"] == "service_account"

    def test_it_says_a_truncated_file_is_truncated_with_its_position(self):
        data = keys.service_account_bytes()[:200]
        message = error_of(parse_service_account, data)
        assert "truncated" in message
        assert "line 1, column" in message

    def test_it_says_a_file_cut_between_values_is_truncated(self):
        data = b'{\n  "type": "service_account",\n  "project_id": '
        message = error_of(parse_service_account, data)
        assert "truncated" in message
        assert "line 3, column 17" in message

    def test_it_names_the_syntax_error_of_broken_json(self):
        message = error_of(parse_service_account, b'{"type": "service_account",, "x": 1}')
        assert "not valid JSON" in message
        assert "line 1, column 28" in message

    def test_it_rejects_a_json_array(self):
        assert "not an object" in error_of(parse_service_account, b"[1, 2]")

    def test_it_rejects_an_empty_file(self):
        assert "empty" in error_of(parse_service_account, b"  \n")

    def test_it_rejects_bytes_that_are_not_utf8(self):
        assert "not UTF-8" in error_of(parse_service_account, b"\xff\xfe\x00garbage")

    def test_it_rejects_another_type_of_google_credential(self):
        info = keys.service_account_json()
        info["type"] = "authorized_user"
        message = error_of(parse_service_account, json.dumps(info).encode())
        assert '"authorized_user"' in message
        assert "service_account" in message

    def test_it_lists_every_missing_field(self):
        info = keys.service_account_json()
        del info["client_email"]
        info["token_uri"] = ""
        message = error_of(parse_service_account, json.dumps(info).encode())
        assert "client_email" in message
        assert "token_uri" in message
        assert "project_id" not in message

    def test_it_rejects_a_private_key_that_is_not_pem(self):
        info = keys.service_account_json()
        info["private_key"] = "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"
        message = error_of(parse_service_account, json.dumps(info).encode())
        assert "not a readable PEM private key" in message

    def test_it_rejects_a_private_key_that_is_not_rsa(self):
        info = keys.service_account_json()
        info["private_key"] = keys.p8(keys.ec_p256_key()).decode()
        message = error_of(parse_service_account, json.dumps(info).encode())
        assert "EC secp256r1" in message
        assert "RSA" in message


class TestP8:
    def test_it_reads_an_ec_p256_key(self):
        key = keys.ec_p256_key()
        parsed = parse_p8(keys.p8(key))
        assert parsed.private_numbers() == key.private_numbers()

    def test_it_says_an_rsa_key_is_rsa(self):
        message = error_of(parse_p8, keys.p8(keys.rsa_key()))
        assert message == "this key is RSA; APNs needs an EC P-256 key"

    def test_it_says_a_traditional_rsa_pem_is_rsa(self):
        pem = keys.rsa_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        assert error_of(parse_p8, pem) == "this key is RSA; APNs needs an EC P-256 key"

    def test_it_names_another_curve(self):
        message = error_of(parse_p8, keys.p8(keys.ec_p384_key()))
        assert message == "this key is on curve secp384r1; APNs needs P-256"

    def test_it_names_an_edwards_key(self):
        message = error_of(parse_p8, keys.p8(ed25519.Ed25519PrivateKey.generate()))
        assert message == "this key is Ed25519; APNs needs an EC P-256 key"

    def test_it_says_garbage_is_not_a_p8(self):
        assert "not a PEM .p8 key" in error_of(parse_p8, b"hello, this is not a key")

    def test_it_says_a_corrupt_key_block_is_not_a_p8(self):
        pem = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        assert "not a PEM .p8 key" in error_of(parse_p8, pem)

    def test_it_has_its_own_message_for_an_encrypted_key(self):
        pem = keys.ec_p256_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
        assert "encrypted with a passphrase" in error_of(parse_p8, pem)

    def test_it_asks_for_pkcs8_when_given_a_sec1_key(self):
        pem = keys.ec_p256_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        assert "PKCS#8" in error_of(parse_p8, pem)

    def test_it_rejects_an_empty_file(self):
        assert "empty" in error_of(parse_p8, b"")


class TestP12:
    def test_it_reads_a_password_protected_p12(self):
        key, cert = keys.apns_certificate(bundle_id="com.acme.news")
        bundle = parse_p12(keys.p12(key, cert, b"s3cret"), "s3cret")
        assert bundle.topic == "com.acme.news"
        assert "UID=com.acme.news" in bundle.subject
        assert bundle.not_after == cert.not_valid_after_utc
        assert bundle.not_after.tzinfo is not None
        assert bundle.certificate == cert

    def test_it_reads_a_p12_without_password(self):
        key, cert = keys.apns_certificate()
        assert parse_p12(keys.p12(key, cert, None), "").topic == "com.example.app"

    def test_it_leaves_the_topic_empty_without_a_uid(self):
        key, cert = keys.apns_certificate()
        plain_cert = (
            keys.x509.CertificateBuilder()
            .subject_name(keys.x509.Name([keys.x509.NameAttribute(keys.NameOID.COMMON_NAME, "x")]))
            .issuer_name(cert.issuer)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(cert.not_valid_before_utc)
            .not_valid_after(cert.not_valid_after_utc)
            .sign(key, keys.hashes.SHA256())
        )
        assert parse_p12(keys.p12(key, plain_cert, None), "").topic == ""

    def test_it_says_the_password_is_wrong(self):
        data = keys.p12(*keys.apns_certificate(), b"s3cret")
        assert error_of(parse_p12, data, "wrong") == "the password does not open this .p12"

    def test_it_asks_for_the_password_when_none_is_given(self):
        data = keys.p12(*keys.apns_certificate(), b"s3cret")
        assert error_of(parse_p12, data, "") == "this .p12 needs a password"

    def test_it_says_when_a_password_is_given_for_a_p12_without_one(self):
        data = keys.p12(*keys.apns_certificate(), None)
        assert "has no password" in error_of(parse_p12, data, "something")

    def test_it_says_garbage_is_not_a_p12(self):
        assert error_of(parse_p12, b"\x00garbage bytes", "") == "not a PKCS#12 (.p12) file"

    def test_it_says_a_pem_is_not_a_p12(self):
        assert "PEM file, not a .p12" in error_of(parse_p12, keys.p8(keys.rsa_key()), "")

    def test_it_says_the_certificate_expired_and_when(self):
        start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        key, cert = keys.apns_certificate(not_before=start, days_valid=30)
        message = error_of(parse_p12, keys.p12(key, cert, b"pw"), "pw")
        assert message == "this certificate expired on 2024-01-31 00:00 UTC"

    def test_it_rejects_a_p12_without_a_private_key(self):
        _, cert = keys.apns_certificate()
        data = pkcs12.serialize_key_and_certificates(
            b"push", None, cert, None, serialization.NoEncryption()
        )
        assert "no private key" in error_of(parse_p12, data, "")

    def test_it_rejects_a_p12_without_a_certificate(self):
        data = pkcs12.serialize_key_and_certificates(
            b"push", keys.rsa_key(), None, None, serialization.NoEncryption()
        )
        assert "no certificate" in error_of(parse_p12, data, "")

    def test_it_rejects_a_key_that_does_not_match_the_certificate(self):
        _, cert = keys.apns_certificate()
        data = pkcs12.serialize_key_and_certificates(
            b"push", keys.rsa_key(), None, [cert], serialization.NoEncryption()
        )
        assert "does not match" in error_of(parse_p12, data, "")


class TestTlsPem:
    def test_it_gives_a_pem_pair_a_tls_context_loads(self, tmp_path):
        key, cert = keys.apns_certificate(key=ec.generate_private_key(ec.SECP256R1()))
        cert_pem, key_pem = p12_tls_pem(keys.p12(key, cert, b"pw"), "pw")
        assert cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")
        assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
        (tmp_path / "cert.pem").write_bytes(cert_pem)
        (tmp_path / "key.pem").write_bytes(key_pem)
        context = ssl.create_default_context()
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    def test_it_refuses_what_parse_p12_refuses(self):
        data = keys.p12(*keys.apns_certificate(), b"pw")
        assert error_of(p12_tls_pem, data, "nope") == "the password does not open this .p12"
