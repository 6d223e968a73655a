"""The outbound-host policy: which hosts a space's configuration may make this server reach.

A space's admin chooses two things that become outgoing connections: the `token_uri` inside
an FCM service-account JSON, and an APNs endpoint override. Left open, either one lets a
tenant point the server at its own network (loopback, link-local, private addresses) and
read what answers. So both are limited to the providers' own hosts plus the hosts the
operator lists in settings; an address is never judged by itself (no "is this IP
private?" test, which DNS can defeat), only by being on the operator's list.

The rules are checked when a credential is saved (a named form error) and again before
every connection (the operator may have shortened the list since). Webhook URLs follow a rule
of their own, at the end of this module.
"""

import ipaddress
import socket
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"

_DEFAULT_PORTS = {"https": 443, "http": 80}


class OutboundHostRefused(ValueError):
    """A host a space's configuration names is not one this server may reach."""

    code = "outbound_host_not_allowed"


def _uri_key(uri: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path) of an absolute http(s) URI, or None when it is not one."""
    try:
        parts: SplitResult = urlsplit(uri.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    # Credentials, a query or a fragment have no place in a token endpoint and could be
    # used to smuggle a different target past a careless comparison.
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], parts.path or "/"


def allowed_fcm_token_uris() -> list[str]:
    """The token endpoints a service account may name: Google's and the operator's."""
    return [GOOGLE_TOKEN_URI, *settings.PUSHPORT_FCM_TOKEN_URIS]


def fcm_token_uri_allowed(uri: str) -> bool:
    """Whether a service account's `token_uri` is one this server may call.

    Allowed: Google's token endpoint, an exact entry of PUSHPORT_FCM_TOKEN_URIS, or any path
    on the origin of PUSHPORT_FCM_BASE_URL (the operator already sends every message there,
    so a private gateway or a test fake that serves FCM may serve its tokens too).
    """
    key = _uri_key(uri)
    if key is None:
        return False
    if key in {_uri_key(allowed) for allowed in allowed_fcm_token_uris()}:
        return True
    base = _uri_key(settings.PUSHPORT_FCM_BASE_URL)
    return base is not None and base[:3] == key[:3]


def check_fcm_token_uri(uri: str) -> str:
    """The token URI unchanged, or OutboundHostRefused saying what the operator can allow."""
    if not fcm_token_uri_allowed(uri):
        raise OutboundHostRefused(
            f'"token_uri" must be {GOOGLE_TOKEN_URI}; this server does not fetch tokens from '
            "other endpoints unless its operator lists them in PUSHPORT_FCM_TOKEN_URIS"
        )
    return uri


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int] | None:
    """("host", port) of `host:port` or `[v6]:port`, host lower-cased; None when malformed.

    With a `default_port`, a plain host (no colon) takes it.
    """
    value = value.strip()
    if default_port is not None and value and ":" not in value:
        return value.lower(), default_port
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        # An IPv6 address must be bracketed, or its last group reads as the port.
        return None
    return host.lower(), int(port)


def allowed_apns_endpoints() -> list[str]:
    """Endpoint overrides a space may set: the APNs hosts in use and the operator's list."""
    return [
        settings.PUSHPORT_APNS_PRODUCTION_HOST,
        settings.PUSHPORT_APNS_SANDBOX_HOST,
        *settings.PUSHPORT_APNS_ENDPOINT_ALLOWLIST,
    ]


def apns_endpoint_allowed(endpoint: str) -> bool:
    """Whether an APNs endpoint override (host:port) is on the operator's allow-list."""
    key = split_host_port(endpoint)
    if key is None:
        return False
    return key in {split_host_port(allowed) for allowed in allowed_apns_endpoints()}


def check_apns_endpoint(endpoint: str) -> str:
    """The endpoint unchanged, or OutboundHostRefused saying what the operator can allow."""
    if not apns_endpoint_allowed(endpoint):
        raise OutboundHostRefused(
            f"{endpoint} is not an APNs host this server may use: leave the endpoint empty for "
            "Apple's hosts, or ask the operator to list it in PUSHPORT_APNS_ENDPOINT_ALLOWLIST"
        )
    return endpoint


# Webhooks. A webhook URL is the one outbound target a tenant names freely (its own receiver
# anywhere on the internet), so it cannot be an allow-list of hosts. Its rule is the other way
# round: any public address, and a loopback, link-local, private, shared or unspecified one
# only when the operator lists the host (or a network holding its addresses) in
# PUSHPORT_WEBHOOK_ALLOWED_HOSTS. The host is resolved and every address it resolves to is
# judged, at registration and again before each call; the call then connects to the address
# that was judged (see webhooks.py), so a DNS answer that changes in between cannot send it
# elsewhere. Plain http is accepted only for hosts the operator lists (a receiver in the same
# private network, a test server); anything else must be https.


class WebhookTarget(NamedTuple):
    """Where a webhook call may connect: the URL's parts and the addresses that were checked."""

    scheme: str
    host: str
    port: int
    # Every address the host resolved to, all of them checked, in the resolver's order.
    addresses: tuple[str, ...]

    @property
    def address(self) -> str:
        """The address to try first."""
        return self.addresses[0]


def _operator_allowed() -> tuple[set[str], list]:
    """The host names and networks of PUSHPORT_WEBHOOK_ALLOWED_HOSTS."""
    names: set[str] = set()
    networks = []
    for entry in settings.PUSHPORT_WEBHOOK_ALLOWED_HOSTS:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.strip("[]"))
    return names, networks


def _public(address) -> bool:
    # An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is.
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundHostRefused(f"{host} does not resolve: {exc}") from exc
    # Keep the resolver's order (it prefers what this host can reach), without repeats.
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_webhook_url(url: str) -> WebhookTarget:
    """The target a webhook URL may reach, or OutboundHostRefused saying why not.

    Resolves the host: every address must be public, or the host or the addresses listed in
    PUSHPORT_WEBHOOK_ALLOWED_HOSTS. The addresses returned are the only ones to connect to.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise OutboundHostRefused("this is not a valid URL") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise OutboundHostRefused("a webhook URL must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        # user:password@ would be sent nowhere and read by anyone who sees the URL.
        raise OutboundHostRefused("a webhook URL cannot carry a user name or password")
    port = port or _DEFAULT_PORTS[scheme]
    names, networks = _operator_allowed()
    addresses = _resolve(host, port)
    listed_by_name = host in names
    listed = [a for a in addresses if any(ipaddress.ip_address(a) in net for net in networks)]
    if not listed_by_name:
        refused = [a for a in addresses if a not in listed and not _public(ipaddress.ip_address(a))]
        if refused:
            raise OutboundHostRefused(
                f"{host} resolves to {refused[0]}, a loopback, link-local or private address; "
                "webhooks may reach such addresses only when the operator lists the host in "
                "PUSHPORT_WEBHOOK_ALLOWED_HOSTS"
            )
    if scheme != "https" and not (listed_by_name or len(listed) == len(addresses)):
        raise OutboundHostRefused(
            "a webhook URL must be an https:// URL (plain http only for hosts the operator "
            "lists in PUSHPORT_WEBHOOK_ALLOWED_HOSTS)"
        )
    return WebhookTarget(scheme=scheme, host=host, port=port, addresses=tuple(addresses))
