"""Real keys and certificates generated at test time with `cryptography`."""

import datetime as dt
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

UID = NameOID.USER_ID


def p8(key) -> bytes:
    """A key as an Apple-style .p8 (PKCS#8 PEM, unencrypted)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ec_p256_key():
    return ec.generate_private_key(ec.SECP256R1())


def ec_p384_key():
    return ec.generate_private_key(ec.SECP384R1())


def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def apns_certificate(
    *,
    bundle_id: str = "com.example.app",
    days_valid: int = 365,
    not_before: dt.datetime | None = None,
    key=None,
):
    """A self-signed certificate shaped like Apple's push certificates (UID = bundle id)."""
    key = key or rsa_key()
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    name = x509.Name(
        [
            x509.NameAttribute(UID, bundle_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {bundle_id}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Ltd"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days_valid))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def p12(key, cert, password: bytes | None) -> bytes:
    """Key and certificate as a PKCS#12 file, encrypted with the password when given."""
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"push", key, cert, None, encryption)


def service_account_json(
    *,
    key=None,
    project_id: str = "demo-project",
    token_uri: str = "https://oauth2.googleapis.com/token",
) -> dict:
    """A Google service-account JSON document around a fresh RSA key."""
    key = key or rsa_key()
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "0123456789abcdef",
        "private_key": p8(key).decode(),
        "client_email": f"pushport@{project_id}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }


def service_account_bytes(**kwargs) -> bytes:
    return json.dumps(service_account_json(**kwargs)).encode()
