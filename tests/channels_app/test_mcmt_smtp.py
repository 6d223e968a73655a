"""MCMT over SMTP: AUTH PLAIN after STARTTLS, APNs parts sent as given, replies per outcome."""

import contextlib
import smtplib
import socket
import ssl

import pytest
from django.db import OperationalError

from channels_app.compat import mcmt_inject, mcmt_smtp
from channels_app.models import Message
from portal.apikeys import create_api_key
from tests.channels_app.mcmt_examples import EXAMPLE, PAYLOAD, TOKEN, apn_part, message
from tests.fakes.tls import TestCA

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def certificate():
    ca = TestCA()
    yield ca
    ca.cleanup()


@pytest.fixture
def listener(certificate):
    """The listener with STARTTLS on a free loopback port, in its own thread."""
    port = free_port()
    server = mcmt_smtp.controller(
        host="127.0.0.1", port=port, cert_file=certificate.cert_file, key_file=certificate.key_file
    )
    server.start()
    yield port
    server.stop()


@pytest.fixture
def smtp(listener, certificate):
    """Open a session to the listener, STARTTLS done (trusting the test CA)."""
    opened = []

    def connect(*, starttls=True) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", listener, timeout=30)
        opened.append(client)
        client.ehlo()
        if starttls:
            client.starttls(context=ssl.create_default_context(cafile=certificate.ca_file))
            client.ehlo()
        return client

    yield connect
    for client in opened:
        with contextlib.suppress(smtplib.SMTPException):
            client.quit()


def send(client: smtplib.SMTP, raw: bytes, *, mail_from="apps@example.com") -> tuple[int, str]:
    """MAIL, RCPT, DATA (lines ended by CRLF, as SMTP wants); the DATA reply whatever its code."""
    client.mail(mail_from)
    client.rcpt("push@apn.example.com")
    try:
        code, text = client.data(raw.replace(b"\n", b"\r\n"))
    except smtplib.SMTPDataError as exc:
        code, text = exc.smtp_code, exc.smtp_error
    return code, text.decode()


def test_the_documented_example_sends_one_notification_with_the_payload_as_given(
    smtp, space, api_key, apns_credential, apns_fake
):
    client = smtp()
    client.login(str(space.pk), api_key)

    code, text = send(client, EXAMPLE)

    assert code == 250, text
    assert "part 0 queued delivery" in text
    assert apns_fake.received_by_token() == {TOKEN: 1}
    (sent,) = apns_fake.notifications
    # The payload went over SMTP with CRLF line ends, and is sent exactly as it arrived.
    assert (sent.token, sent.body) == (TOKEN, PAYLOAD.replace(b"\n", b"\r\n"))
    stored = Message.objects.get()
    assert stored.metadata == {
        "source": "mcmt",
        "via": "smtp",
        "returnPath": "apps@example.com",
    }


def test_auth_before_starttls_is_refused(smtp, space, api_key, apns_credential):
    client = smtp(starttls=False)
    with pytest.raises(smtplib.SMTPException):
        client.login(str(space.pk), api_key)
    code, _ = client.docmd("AUTH", "PLAIN")
    assert code == 530


def test_mail_without_auth_is_refused(smtp, apns_credential):
    client = smtp()
    code, _ = client.mail("apps@example.com")
    assert code == 530
    assert not Message.objects.exists()


def test_another_spaces_api_key_is_refused(smtp, space, other_space, apns_credential):
    other_key = create_api_key(space=other_space, name="other")[1]
    client = smtp()
    with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
        client.login(str(space.pk), other_key)
    assert caught.value.smtp_code == 535


def test_a_key_without_the_send_scope_is_refused(smtp, space, apns_credential):
    key, secret = create_api_key(space=space, name="devices only")
    key.scopes = ["devices"]
    key.save()
    with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
        smtp().login(str(space.pk), secret)
    assert b"send scope" in caught.value.smtp_error


def test_malformed_mime_is_refused_with_5xx_and_nothing_is_stored(
    smtp, space, api_key, apns_credential
):
    client = smtp()
    client.login(str(space.pk), api_key)
    code, text = send(client, b"Content-Type: multipart/mixed; boundary=X\n\nno parts")
    assert code == 554
    assert "mcmt_malformed" in text
    assert not Message.objects.exists()


def test_bad_parts_are_listed_and_the_good_one_is_still_sent(
    smtp, space, api_key, apns_credential, apns_fake
):
    client = smtp()
    client.login(str(space.pk), api_key)
    raw = message(
        apn_part(token=""),
        apn_part(token="not-hex"),
        apn_part(payload=b"{not json"),
        # SMTP lines stop at 1,000 octets, so the oversized payload spans lines.
        apn_part(
            payload=b'{"aps":{},"pad":[\n' + b",\n".join([b'"' + b"x" * 60 + b'"'] * 80) + b"]}"
        ),
        apn_part(),
    )
    code, text = send(client, raw)
    assert code == 250, text
    for expected in (
        "part 0 missing_device_token",
        "part 1 device_token_not_hex",
        "part 2 payload_not_json",
        "part 3 apns_payload_too_large",
        "part 4 queued",
    ):
        assert expected in text
    assert apns_fake.received_by_token() == {TOKEN: 1}


def test_a_message_of_refused_parts_only_is_refused(smtp, space, api_key, apns_credential):
    client = smtp()
    client.login(str(space.pk), api_key)
    code, text = send(client, message(apn_part(payload=b"[]")))
    assert code == 554
    assert "payload_not_object" in text


def test_an_unavailable_database_defers_the_message(
    smtp, space, api_key, apns_credential, monkeypatch
):
    client = smtp()
    client.login(str(space.pk), api_key)

    def unavailable(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(mcmt_inject, "inject", unavailable)
    code, _ = send(client, EXAMPLE)
    assert code == 451
