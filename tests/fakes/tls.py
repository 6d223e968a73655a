"""A certificate authority made at test time, and TLS contexts for the fake providers."""

import datetime as dt
import ipaddress
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class TestCA:
    """A throwaway CA and one server certificate for 127.0.0.1 and localhost, as files."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, directory: str | None = None):
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="pushport-ca-")
        self.directory = Path(directory or self._tmp.name)
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pushport test CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file = str(self.directory / "ca.pem")
        self.cert_file = str(self.directory / "server.pem")
        self.key_file = str(self.directory / "server-key.pem")
        Path(self.ca_file).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        Path(self.cert_file).write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
        Path(self.key_file).write_bytes(_pem_key(server_key))

    def server_context(self, *, client_ca_pems: list[bytes] = ()) -> ssl.SSLContext:
        """A server context speaking h2; it asks for client certificates issued by the PEMs."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        context.set_alpn_protocols(["h2"])
        if client_ca_pems:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cadata=b"".join(client_ca_pems).decode())
        return context

    def cleanup(self):
        if self._tmp is not None:
            self._tmp.cleanup()
