"""The session flow: a challenge (sessions/start), a verified JWT, a session and its token."""

import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from portal.errors import ApiError
from portal.layers import send_after_commit

from .models import AppMessagingAuth, AuthChallenge, Profile, Session
from .push import register_push, unregister_push
from .spaces import as_uuid
from .tokens import InvalidAppToken, issue_session_token, verify_app_token

logger = logging.getLogger(__name__)

# An expired challenge is kept this long so its late use is told "expired", not "unknown".
EXPIRED_CHALLENGE_KEPT = timedelta(hours=1)
# Writing on every request would serialize a busy profile on one row; a minute is precise enough.
ACTIVITY_PRECISION = timedelta(minutes=1)


def start_authentication(*, auth: AppMessagingAuth) -> AuthChallenge:
    """A fresh single-use nonce for the space, valid for PUSHPORT_AUTH_CHALLENGE_LIFETIME.

    Anyone may ask for one, so each call also clears the space's long-dead challenges, which
    keeps the table bounded by the recent request rate.
    """
    now = timezone.now()
    AuthChallenge.objects.filter(
        space=auth.space, expires_at__lt=now - EXPIRED_CHALLENGE_KEPT
    ).delete()
    return AuthChallenge.objects.create(
        space=auth.space,
        nonce=secrets.token_urlsafe(24),
        expires_at=now + timedelta(seconds=settings.PUSHPORT_AUTH_CHALLENGE_LIFETIME),
    )


def open_challenge_exists(*, auth: AppMessagingAuth, nonce: str) -> bool:
    """Whether the nonce belongs to an unused, unexpired challenge of the space."""
    return AuthChallenge.objects.filter(
        space=auth.space, nonce=nonce, used_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()


def _challenge(*, auth: AppMessagingAuth, authentication_id: str) -> AuthChallenge:
    challenge = AuthChallenge.objects.filter(
        pk=as_uuid(authentication_id), space=auth.space
    ).first()
    if challenge is None:
        raise InvalidAppToken(
            "authentication_unknown",
            "This authenticationId was not issued by sessions/start of this space.",
        )
    if challenge.used_at is not None:
        raise InvalidAppToken(
            "authentication_used", "This authenticationId was already used; start again."
        )
    if challenge.expires_at <= timezone.now():
        raise InvalidAppToken(
            "authentication_expired", "This authenticationId has expired; start again."
        )
    return challenge


def create_session(
    *,
    auth: AppMessagingAuth,
    authentication_id: str,
    authentication_token: str,
    device: dict,
    source_ip: str | None,
    push: dict | None = None,
    api_space_id: str | None = None,
) -> tuple[Session, str]:
    """Verify the app's JWT for a challenge and open a session; returns it with its token.

    `device` holds the session's device_id, platform, platform_version, sdk_type and
    sdk_version. The profile named by the ID claim is created when new. The challenge, the
    session and its push registration are saved together or not at all. `api_space_id` is
    the space id as the URL spelled it, repeated in the token.
    """
    challenge = _challenge(auth=auth, authentication_id=authentication_id)
    profile_id = verify_app_token(auth=auth, token=authentication_token, nonce=challenge.nonce)
    now = timezone.now()
    with transaction.atomic():
        # The conditional update makes the challenge single-use even under concurrent requests.
        claimed = AuthChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not claimed:
            raise InvalidAppToken(
                "authentication_used", "This authenticationId was already used; start again."
            )
        profile, created = Profile.objects.get_or_create(space=auth.space, profile_id=profile_id)
        Profile.objects.filter(pk=profile.pk).update(last_seen_at=now)
        session = Session.objects.create(
            space=auth.space,
            profile=profile,
            source_ip=source_ip,
            expires_at=now + timedelta(seconds=settings.PUSHPORT_SESSION_TOKEN_LIFETIME),
            **device,
        )
        if push:
            register_push(session=session, push=push)
    logger.info(
        "session %s opened in space %s (new profile: %s)", session.id, auth.space_id, created
    )
    return session, issue_session_token(session=session, api_space_id=api_space_id)


def find_session(*, space_id, session_id: str) -> Session | None:
    """The space's session with this id (live or not), or None; any string is a valid question."""
    return (
        Session.objects.select_related("profile", "space")
        .filter(pk=as_uuid(session_id), space_id=space_id)
        .first()
    )


def session_for_push(*, caller: Session, session_id: str) -> Session:
    """The session a PUT or DELETE sessions/{session_id}/push acts on: the caller's own.

    The URL normally names the caller's session. The JS SDK, when a call answers 401 (a
    revoked or ended session), signs in again and repeats the same request, URL included,
    with the new token: the URL then names the caller's previous session. That is accepted
    when the named session is of the same space and profile and, where both sessions know
    their deviceId, of the same device; the push details then belong to the caller's new
    session. Any other session answers 403 session_forbidden.
    """
    if str(caller.id) == session_id:
        return caller
    named = find_session(space_id=caller.space_id, session_id=session_id)
    same_device = not (named and named.device_id and caller.device_id) or (
        named.device_id == caller.device_id
    )
    if named is None or named.profile_id != caller.profile_id or not same_device:
        raise ApiError(
            "session_forbidden",
            "A session token may only act on its own session.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    logger.info("push details for ended session %s go to its successor %s", named.id, caller.id)
    return caller


def note_activity(*, session: Session) -> None:
    """Record that the session's profile was active now (at most one write a minute)."""
    profile = session.profile
    now = timezone.now()
    if profile.last_seen_at is None or now - profile.last_seen_at > ACTIVITY_PRECISION:
        Profile.objects.filter(pk=profile.pk).update(last_seen_at=now)
        profile.last_seen_at = now


def close_device(*, auth: AppMessagingAuth, profile_id: str, device_id: str) -> int:
    """End a profile's sessions from one device (the SDK's deviceId); how many there were.

    Their push tokens are released too. 0 means the profile has no such device.
    """
    with transaction.atomic():
        sessions = list(
            Session.objects.select_for_update().filter(
                space=auth.space, profile__profile_id=profile_id, device_id=device_id
            )
        )
        for session in sessions:
            end_session(session=session)
            unregister_push(session=session)
    return len(sessions)


# What a session's open sockets (App Messaging's) receive from the channel layer when it ends.
SESSION_ENDED = "session.ended"


def socket_group(session_id) -> str:
    """The channel-layer group a session's sockets join."""
    return f"session.{uuid.UUID(str(session_id)).hex}"


def end_session(*, session: Session) -> None:
    """End a session: its token stops working and its open sockets close; its profile and
    devices stay."""
    Session.objects.filter(pk=session.pk, is_active=True).update(
        is_active=False, ended_at=timezone.now()
    )
    session.is_active = False
    send_after_commit([socket_group(session.pk)], {"type": SESSION_ENDED})
