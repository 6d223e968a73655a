"""Momentum MCMT over SMTP: an aiosmtpd listener that sends the APNs parts of each message.

AUTH PLAIN with the apiSpaceId as user name and an API key (send scope) of that space as
password; with a certificate, STARTTLS comes first (AUTH is refused in clear). DATA is
answered after the parts are stored: 250 when at least one was queued (one reply line per
part), 554 when none could be (malformed MIME, or every APNs part refused), 451 when the
database is unavailable, so the client keeps the message and tries again.
"""

import ipaddress
import logging
import ssl
from base64 import b64decode

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import OperationalError, close_old_connections

from portal.apikeys import authenticate_api_key
from portal.models import ApiKeyScope

from . import mcmt, mcmt_inject

logger = logging.getLogger(__name__)

# SMTP reply lines are at most 512 octets; part messages are cut well below.
_LINE_CHARS = 400


def _api_key(login: bytes, password: bytes):
    """The active API key of the space named by `login`, or None."""
    close_old_connections()
    try:
        return authenticate_api_key(
            password.decode("utf-8", "replace"), space_id=login.decode("utf-8", "replace")
        )
    except Exception:  # a malformed space id, the database down: no authentication
        logger.exception("mcmt listener: could not check an API key")
        return None
    finally:
        close_old_connections()


def _inject(key, raw: bytes, mail_from: str) -> list[mcmt_inject.PartOutcome]:
    close_old_connections()
    try:
        parts = mcmt.parse(raw, mail_from=mail_from)
        return mcmt_inject.inject(space=key.space, parts=parts, via="smtp")
    finally:
        close_old_connections()


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode()[:_LINE_CHARS]


def _describe(outcome: mcmt_inject.PartOutcome) -> str:
    if outcome.status == mcmt_inject.QUEUED:
        return f"part {outcome.index} queued delivery {outcome.delivery_id}"
    if outcome.status == mcmt_inject.SKIPPED:
        return f"part {outcome.index} skipped ({outcome.content_type})"
    return f"part {outcome.index} {outcome.code}: {outcome.message}"


def reply(outcomes: list[mcmt_inject.PartOutcome]) -> str:
    """The DATA reply: one line per part, 250 if any part was queued, 554 if none."""
    queued = sum(o.status == mcmt_inject.QUEUED for o in outcomes)
    code, enhanced = ("250", "2.0.0") if queued else ("554", "5.6.0")
    summary = f"{queued} of {len(outcomes)} parts queued"
    lines = [f"{code}-{_ascii(_describe(o))}" for o in outcomes]
    return "\r\n".join([*lines, f"{code} {enhanced} {summary}"])


class McmtHandler:
    """aiosmtpd handler: AUTH PLAIN with an API key, DATA sends the message's APNs parts."""

    async def auth_PLAIN(self, server, args) -> AuthResult:
        """apiSpaceId and API key (RFC 4616); the key is checked in a thread (ORM)."""
        if len(args) == 1:
            credentials = await server.challenge_auth("")
            if not isinstance(credentials, bytes):
                return AuthResult(success=False)
        else:
            try:
                credentials = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        try:
            _, login, password = credentials.split(b"\x00")
        except ValueError:
            await server.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False, handled=True)
        key = await sync_to_async(_api_key, thread_sensitive=False)(login, password)
        if key is None:
            return AuthResult(
                success=False,
                handled=False,
                message="535 5.7.8 User name must be an apiSpaceId and password an API key "
                "of that space",
            )
        if not key.allows(ApiKeyScope.SEND):
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 This API key lacks the send scope"
            )
        return AuthResult(success=True, auth_data=key)

    async def handle_DATA(self, server, session, envelope) -> str:
        """Store the message's APNs parts, then answer; see the module's docstring."""
        raw = envelope.original_content or b""
        try:
            outcomes = await sync_to_async(_inject, thread_sensitive=False)(
                session.auth_data, raw, envelope.mail_from or ""
            )
        except mcmt.McmtError as exc:
            return f"554 5.6.0 {_ascii(f'{exc.code}: {exc.message}')}"
        except OperationalError:
            logger.exception("mcmt listener: database unavailable; message deferred")
            return "451 4.3.0 Database unavailable; nothing was stored, try again later"
        return reply(outcomes)


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """The server context STARTTLS uses."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def is_loopback(host: str) -> bool:
    """Whether a listening address stays on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def controller(*, host: str, port: int, cert_file: str = "", key_file: str = "") -> Controller:
    """An aiosmtpd Controller (its own thread and loop) serving MCMT; call start() and stop().

    Without a certificate AUTH is allowed in clear, which is only safe on loopback: the
    management command refuses another host without one.
    """
    context = tls_context(cert_file, key_file) if cert_file else None
    return Controller(
        McmtHandler(),
        hostname=host,
        port=port,
        tls_context=context,
        require_starttls=context is not None,
        auth_require_tls=context is not None,
        auth_required=True,
        # PLAIN only: LOGIN would be a second way to send the same secret.
        auth_exclude_mechanism=["LOGIN"],
        # Keep the payload's bytes (8BITMIME); the email package reads them.
        decode_data=False,
        # The same bound as an HTTP body. Recipients are not checked: Momentum's MCMT messages
        # went to an APNs domain of its own, and the parts name their devices.
        data_size_limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    )
