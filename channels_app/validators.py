"""Validators of the credential settings a space's admin types in.

They sit on the model fields, so the portal forms and the Django admin apply the same rules;
the providers check the endpoint again before connecting (portal/outbound.py).
"""

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

from portal.outbound import OutboundHostRefused, check_apns_endpoint

# One process opens at most this many HTTP/2 connections per credential; each carries up to
# a few hundred streams, so more only costs the provider's patience and our sockets.
MAX_CONNECTIONS_RANGE = (1, 32)
# Seconds to wait for one answer: APNs and FCM answer in well under a second; a minute
# covers a slow gateway without letting a send hold its lease for hours.
RESPONSE_TIMEOUT_RANGE = (1.0, 60.0)

max_connections_validators = [
    MinValueValidator(MAX_CONNECTIONS_RANGE[0]),
    MaxValueValidator(MAX_CONNECTIONS_RANGE[1]),
]
response_timeout_validators = [
    MinValueValidator(RESPONSE_TIMEOUT_RANGE[0]),
    MaxValueValidator(RESPONSE_TIMEOUT_RANGE[1]),
]

_HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(\.{_HOST_LABEL})*$")


def validate_endpoint_syntax(value: str) -> None:
    """A host:port (or [IPv6]:port), written as a person can correct it."""
    host, colon, port = value.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(
            "Write host:port, e.g. apns-gateway.internal:443.", code="endpoint_syntax"
        )
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValidationError(
                f"“{host}” is not an IPv6 address.", code="endpoint_syntax"
            ) from None
    elif not HOSTNAME.match(host):
        raise ValidationError(
            f"“{host}” is not a host name or IPv4 address.", code="endpoint_syntax"
        )


def validate_apns_endpoint(value: str) -> None:
    """An APNs endpoint override: well formed, and on the operator's allow-list."""
    if not value:
        return
    validate_endpoint_syntax(value)
    try:
        check_apns_endpoint(value)
    except OutboundHostRefused as exc:
        raise ValidationError(str(exc), code=OutboundHostRefused.code) from exc
