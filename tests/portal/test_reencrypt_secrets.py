"""Key rotation: reencrypt_secrets moves every secret to the first key."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings

from channels_app.models import ApnsCredential
from portal.fields import encrypted_fields
from sessions_app.models import AppMessagingAuth
from tests.factories import ApnsCertificateCredentialFactory, AppMessagingAuthFactory
from tests.portal.test_fields import raw_column


def reencrypt() -> str:
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    return out.getvalue()


@pytest.fixture
def k1():
    return Fernet.generate_key().decode()


@pytest.fixture
def k2():
    return Fernet.generate_key().decode()


def test_rotation_moves_every_secret_to_the_first_key(db, k1, k2):
    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k1]):
        auth = AppMessagingAuthFactory()
        apns = ApnsCertificateCredentialFactory()
    before = raw_column(auth, "shared_secret")

    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k2, k1]):
        output = reencrypt()
    assert "sessions_app.AppMessagingAuth: 1 value re-encrypted" in output
    assert "channels_app.ApnsCredential: 2 values re-encrypted" in output
    assert raw_column(auth, "shared_secret") != before

    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k2]):
        assert AppMessagingAuth.objects.get(pk=auth.pk).shared_secret == auth.shared_secret
        apns_now = type(apns).objects.get(pk=apns.pk)
        assert apns_now.certificate_password == apns.certificate_password
        assert apns_now.p12_bytes == apns.p12_bytes
    with (
        override_settings(PUSHPORT_ENCRYPTION_KEYS=[k1]),
        pytest.raises(ImproperlyConfigured),
    ):
        AppMessagingAuth.objects.get(pk=auth.pk)


def test_rotation_is_safe_to_run_twice(db, k1, k2):
    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k1]):
        auth = AppMessagingAuthFactory()
    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k2, k1]):
        reencrypt()
        reencrypt()
    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k2]):
        assert AppMessagingAuth.objects.get(pk=auth.pk).shared_secret == auth.shared_secret


def test_a_secret_no_key_decrypts_stops_the_run_and_changes_nothing(db, k1, k2):
    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k1]):
        readable = AppMessagingAuthFactory()
        lost = AppMessagingAuthFactory()
    with override_settings(PUSHPORT_ENCRYPTION_KEYS=[k2]):
        AppMessagingAuth.objects.filter(pk=readable.pk).update(shared_secret="rewritten")
    before = raw_column(lost, "shared_secret")
    readable_before = raw_column(readable, "shared_secret")
    with (
        override_settings(PUSHPORT_ENCRYPTION_KEYS=[k2]),
        pytest.raises(CommandError, match="cannot be decrypted"),
    ):
        reencrypt()
    assert raw_column(lost, "shared_secret") == before
    assert raw_column(readable, "shared_secret") == readable_before


def test_the_command_finds_every_encrypted_field_itself():
    assert {f.name for f in encrypted_fields(ApnsCredential)} == {
        "key_p8",
        "certificate_p12",
        "certificate_password",
    }
    assert [f.name for f in encrypted_fields(AppMessagingAuth)] == ["shared_secret"]
