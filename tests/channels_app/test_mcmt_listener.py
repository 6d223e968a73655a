"""manage.py mcmt_listener: it never listens beyond loopback with AUTH in clear."""

import pytest
from django.core.management import CommandError, call_command


def test_it_refuses_a_public_address_without_a_certificate():
    with pytest.raises(CommandError, match="needs --tls-cert"):
        call_command("mcmt_listener", host="0.0.0.0", port=2525, tls_cert="", tls_key="")


def test_a_certificate_needs_its_key():
    with pytest.raises(CommandError, match="go together"):
        call_command("mcmt_listener", tls_cert="cert.pem", tls_key="")
