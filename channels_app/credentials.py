"""Parsing of uploaded provider credentials: FCM service-account JSON, APNs .p8 and .p12.

Every function takes the uploaded bytes and either returns what the rest of Pushport needs or
raises CredentialError with a message the person who uploaded the file can act on.
"""

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from portal.outbound import OutboundHostRefused, check_fcm_token_uri

SERVICE_ACCOUNT_FIELDS = ("project_id", "client_email", "token_uri", "private_key")


class CredentialError(ValueError):
    """An uploaded credential cannot be used; the message says why."""


class PasswordError(CredentialError):
    """The password given for a .p12 does not fit it."""


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A parsed Google service-account key file."""

    info: dict[str, Any]
    project_id: str
    client_email: str
    token_uri: str


@dataclass(frozen=True, slots=True)
class P12Bundle:
    """The key and certificate of an APNs .p12, with what the portal shows about them."""

    private_key: Any
    certificate: x509.Certificate
    additional_certificates: tuple[x509.Certificate, ...]
    subject: str
    topic: str
    not_after: dt.datetime


def _key_kind(key) -> str:
    """A short human name for a key's algorithm."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "Ed448"
    return type(key).__name__


def parse_service_account(data: bytes) -> ServiceAccount:
    """Validate a service-account JSON file completely (JSON, fields, RSA private key)."""
    if not data.strip():
        raise CredentialError("the file is empty; upload the service-account JSON key")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CredentialError(
            "the file is not UTF-8 text; upload the service-account JSON key "
            "downloaded from the Google Cloud console"
        ) from exc
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        # A string never closed also runs into the end of the text: JSON strings hold no newlines.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise CredentialError(
                f"the JSON stops in the middle ({exc.msg}, {where}): the file looks "
                "truncated; download the key again"
            ) from exc
        raise CredentialError(f"the file is not valid JSON: {exc.msg} ({where})") from exc
    if not isinstance(info, dict):
        raise CredentialError("the JSON is not an object; upload the service-account key file")
    kind = info.get("type")
    if kind != "service_account":
        raise CredentialError(
            f'"type" is {json.dumps(kind)}, not "service_account": upload a service-account '
            "key (IAM > Service accounts > Keys), not an OAuth client or user credential"
        )
    missing = [
        field
        for field in SERVICE_ACCOUNT_FIELDS
        if not isinstance(info.get(field), str) or not info[field].strip()
    ]
    if missing:
        raise CredentialError(f"the service-account JSON lacks {', '.join(missing)}")
    try:
        # google-auth posts the signed assertion to token_uri: a tenant must not choose it.
        check_fcm_token_uri(info["token_uri"])
    except OutboundHostRefused as exc:
        raise CredentialError(str(exc)) from exc
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CredentialError('"private_key" is not a readable PEM private key') from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError(
            f'"private_key" is an {_key_kind(key)} key; Google service accounts use RSA'
        )
    return ServiceAccount(
        info=info,
        project_id=info["project_id"],
        client_email=info["client_email"],
        token_uri=info["token_uri"],
    )


def parse_p8(data: bytes) -> ec.EllipticCurvePrivateKey:
    """Validate an APNs auth key: a PKCS#8 PEM EC private key on P-256."""
    if not data.strip():
        raise CredentialError("the file is empty; upload the .p8 key Apple gave you")
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data:
        raise CredentialError(
            "this key is encrypted with a passphrase; upload the unencrypted .p8 Apple issued"
        )
    if b"-----BEGIN RSA PRIVATE KEY-----" in data:
        raise CredentialError("this key is RSA; APNs needs an EC P-256 key")
    if b"-----BEGIN EC PRIVATE KEY-----" in data:
        raise CredentialError(
            "this is a SEC1 EC key, not a PKCS#8 .p8; convert it with "
            "openssl pkcs8 -topk8 -nocrypt or upload the .p8 Apple issued"
        )
    if b"-----BEGIN PRIVATE KEY-----" not in data:
        raise CredentialError("not a PEM .p8 key (no -----BEGIN PRIVATE KEY----- block)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise CredentialError(
            "this key is encrypted with a passphrase; upload the unencrypted .p8 Apple issued"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CredentialError("not a PEM .p8 key (the key block cannot be read)") from exc
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise CredentialError(f"this key is on curve {key.curve.name}; APNs needs P-256")
        return key
    raise CredentialError(f"this key is {_key_kind(key)}; APNs needs an EC P-256 key")


def _looks_like_pkcs12(data: bytes) -> bool:
    """Whether data starts like a DER PFX: SEQUENCE { INTEGER 3, ... }."""
    if len(data) < 5 or data[0] != 0x30:
        return False
    length_byte = data[1]
    offset = 2 if length_byte < 0x80 else 2 + (length_byte & 0x7F)
    return data[offset : offset + 3] == b"\x02\x01\x03"


def _load_p12(data: bytes, password: str):
    """Open a .p12 with its password, telling a wrong password from a file that is not one."""
    if not data:
        raise CredentialError("the file is empty; upload the .p12 exported from Keychain Access")
    if b"-----BEGIN" in data[:1024]:
        raise CredentialError(
            "this is a PEM file, not a .p12; export the certificate with its private key "
            "as a .p12 (Personal Information Exchange)"
        )
    if not _looks_like_pkcs12(data):
        raise CredentialError("not a PKCS#12 (.p12) file")
    secret = password.encode() if password else None
    try:
        return pkcs12.load_pkcs12(data, secret)
    except ValueError:
        pass
    if not password:
        raise PasswordError("this .p12 needs a password")
    try:
        pkcs12.load_pkcs12(data, None)
    except ValueError:
        raise PasswordError("the password does not open this .p12") from None
    raise PasswordError("this .p12 has no password; leave the password empty")


def _public_bytes(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def parse_p12(data: bytes, password: str) -> P12Bundle:
    """Validate an APNs certificate .p12: opens, one key and its certificate, not expired."""
    loaded = _load_p12(data, password)
    if loaded.key is None:
        raise CredentialError(
            "this .p12 holds no private key; export the certificate together with its key"
        )
    if loaded.cert is None:
        # OpenSSL pairs the key with its certificate; a certificate left over belongs elsewhere.
        if loaded.additional_certs:
            raise CredentialError("the private key in this .p12 does not match its certificate")
        raise CredentialError("this .p12 holds no certificate")
    certificate = loaded.cert.certificate
    if _public_bytes(loaded.key.public_key()) != _public_bytes(certificate.public_key()):
        raise CredentialError("the private key in this .p12 does not match its certificate")
    not_after = certificate.not_valid_after_utc
    if not_after <= dt.datetime.now(dt.UTC):
        raise CredentialError(f"this certificate expired on {not_after:%Y-%m-%d %H:%M} UTC")
    uids = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    return P12Bundle(
        private_key=loaded.key,
        certificate=certificate,
        additional_certificates=tuple(extra.certificate for extra in loaded.additional_certs),
        subject=certificate.subject.rfc4514_string(),
        topic=str(uids[0].value) if uids else "",
        not_after=not_after,
    )


def p12_tls_pem(data: bytes, password: str) -> tuple[bytes, bytes]:
    """The .p12 as (certificate chain PEM, unencrypted PKCS#8 key PEM) for a TLS client."""
    bundle = parse_p12(data, password)
    cert_pem = b"".join(
        cert.public_bytes(serialization.Encoding.PEM)
        for cert in (bundle.certificate, *bundle.additional_certificates)
    )
    key_pem = bundle.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem
