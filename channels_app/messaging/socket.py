"""App Messaging's WebSocket: /apispaces/{apiSpaceId}/socket?token=<session token>.

The consumer accepts exactly the session tokens the REST routes accept, joins the group of
the session's profile, and relays the frames the services publish there. Clients send only
`echo` frames (every 60 s): they renew the profile's presence and are otherwise ignored.

The server closes the socket when its session expires or is ended (signed out, revoked by an
admin). The SDK reconnects after any close it did not ask for, and a reconnection first
re-authenticates when the cached token has expired (a token of an ended session is refused
there as on REST), so the client moves to a new session instead of listening on a dead one.
"""

import asyncio
import contextlib
import functools
import logging

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from portal.errors import ApiError
from sessions_app.authentication import verify_session_token
from sessions_app.sessions import SESSION_ENDED, socket_group

from . import presence
from .events import EVENT_TYPE, group_for
from .query import first, parse_raw

logger = logging.getLogger(__name__)

# Presence lives in the cache, not the database: off the one thread that runs every
# database call and HTTP view of the process, so a busy request never holds up an echo.
_in_cache = functools.partial(sync_to_async, thread_sensitive=False)

# Messages whose handlers touch no database. Channels' dispatch closes stale database
# connections before every handler, a trip through that same thread: each relayed frame
# waited for the HTTP request in progress there (a message to 100 participants, 100 trips).
_NO_DATABASE = {EVENT_TYPE, SESSION_ENDED, "websocket.receive"}

# An application close code (4000-4999): the session expired or ended. The SDK reconnects on
# any code.
SESSION_EXPIRED_CLOSE_CODE = 4401


@database_sync_to_async
def _session_for(*, space_id: str, token: str):
    try:
        session = verify_session_token(space_id=space_id, token=token)
    except ApiError as refused:
        logger.info("socket refused in space %s: %s", space_id, refused.code)
        return None
    return session.space_id, session.profile.profile_id, session.pk, session.expires_at


class MessagingConsumer(AsyncJsonWebsocketConsumer):
    """One SDK socket; its profile's group carries every frame meant for that profile."""

    group = None
    session_group = None
    expiry = None

    async def connect(self):
        # The SDK appends the token unencoded, and a session token may hold a '+': read it
        # from the raw query string, where a form parser would turn '+' into a space.
        query = parse_raw(self.scope.get("query_string", b"").decode("latin-1"))
        token = first(query, "token") or ""
        found = await _session_for(
            space_id=self.scope["url_route"]["kwargs"]["space_id"], token=token
        )
        if found is None:
            # Closing before accepting refuses the handshake; the SDK sees a close before open.
            await self.close()
            return
        self.space_id, self.profile_id, session_id, expires_at = found
        self.group = group_for(space_id=self.space_id, profile_id=self.profile_id)
        self.session_group = socket_group(session_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.session_group, self.channel_name)
        await _in_cache(presence.socket_opened)(space_id=self.space_id, profile_id=self.profile_id)
        await self.accept()
        self.expiry = asyncio.create_task(self._close_at(expires_at))

    async def _close_at(self, expires_at):
        # The session's expires_at bounds its token's exp: from then on REST answers 401 too.
        await asyncio.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()))
        logger.info("socket of %s in space %s: session expired", self.profile_id, self.space_id)
        await self.close(code=SESSION_EXPIRED_CLOSE_CODE)

    async def disconnect(self, code):
        if self.expiry is not None:
            self.expiry.cancel()
        if self.group is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.channel_layer.group_discard(self.session_group, self.channel_name)
        await _in_cache(presence.socket_closed)(space_id=self.space_id, profile_id=self.profile_id)

    async def dispatch(self, message):
        if message["type"] in _NO_DATABASE:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def receive_json(self, content, **kwargs):
        await _in_cache(presence.socket_alive)(space_id=self.space_id, profile_id=self.profile_id)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # A frame that is not JSON is ignored rather than closing the socket.
        with contextlib.suppress(ValueError):
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)

    async def messaging_event(self, event):
        """A frame published by a service (events.EVENT_TYPE)."""
        await self.send_json(event["frame"])

    async def session_ended(self, event):
        """The session was ended (sessions.end_session): its token no longer listens."""
        logger.info("socket of %s in space %s: session ended", self.profile_id, self.space_id)
        await self.close(code=SESSION_EXPIRED_CLOSE_CODE)
