"""Throttles of the open Session API routes, per client IP and per space.

Anonymous tokens when anyone may mint them, and sessions/start, which writes a challenge row
per call.
"""

import ipaddress

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .spaces import parse_space_id


def client_ip(request) -> str | None:
    """The caller's IP: REMOTE_ADDR, or from X-Forwarded-For behind NUM_PROXIES trusted proxies.

    Unlike DRF's default, an unset NUM_PROXIES trusts no forwarded header, so a client cannot
    pick its own identity to dodge the per-IP limit.
    """
    address = request.META.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-min(num_proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class _SettingRateThrottle(SimpleRateThrottle):
    """A cache-backed throttle whose rate is read from a setting at request time."""

    rate_setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)


class _PerClientIpThrottle(_SettingRateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class _PerSpaceThrottle(_SettingRateThrottle):
    def get_cache_key(self, request, view):
        space_id = parse_space_id(view.kwargs["space_id"])
        return self.cache_format % {"scope": self.scope, "ident": space_id}


class AnonTokenIpThrottle(_PerClientIpThrottle):
    scope = "anon_token_ip"
    rate_setting = "PUSHPORT_ANON_TOKEN_RATE"


class AnonTokenSpaceThrottle(_PerSpaceThrottle):
    scope = "anon_token_space"
    rate_setting = "PUSHPORT_ANON_TOKEN_SPACE_RATE"


class SessionStartIpThrottle(_PerClientIpThrottle):
    scope = "session_start_ip"
    rate_setting = "PUSHPORT_SESSION_START_RATE"


class SessionStartSpaceThrottle(_PerSpaceThrottle):
    scope = "session_start_space"
    rate_setting = "PUSHPORT_SESSION_START_SPACE_RATE"
