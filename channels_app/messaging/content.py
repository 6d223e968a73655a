"""Content uploaded for messages (the SDK's POST /content): stored, and read back by URL.

Files go through Django's storage API (STORAGES["content"]: the filesystem by default, an
object store such as S3 when configured), one folder per space, under a random name.

The answer's URL is signed and expires. The SDK puts it in a message part for the other
participants to fetch, as a plain link or an <img src>, which carries no Authorization
header; so the URL itself is the permission, as Comapi's own content URLs are. The signature
covers the space and the file, so a URL cannot be turned into another file's or another
space's. It stops working after PUSHPORT_CONTENT_URL_MAX_AGE seconds (or when SECRET_KEY
changes); until then a session token of the same space also opens the file, which lets an
app reload an old message's picture.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import storages
from django.utils import timezone
from rest_framework import status

from portal.errors import ApiError

from . import events
from .sniff import EXTENSIONS, HEAD_BYTES, TYPES, sniff

# Changing the salt would invalidate every URL handed out so far.
_SIGNER_SALT = "pushport.messaging.content"
FILE_ID = re.compile(r"^[A-Za-z0-9_-]{32}\.([a-z0-9]{2,4})$")
MAX_NAME = 255


@dataclass(frozen=True)
class StoredContent:
    """An uploaded file: where it is, and what the upload's answer says about it."""

    space_id: str
    file_id: str
    name: str
    content_type: str
    size: int
    created_on: datetime
    created_by: str


def storage():
    """The storage backend that holds content (STORAGES["content"])."""
    return storages["content"]


def too_large() -> ApiError:
    return ApiError(
        "content_too_large",
        f"Content may be at most {settings.PUSHPORT_CONTENT_MAX_BYTES} bytes.",
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def _clean_name(name: str, extension: str) -> str:
    # A display name only: the stored name is random, so a path in it reaches nothing.
    name = re.split(r"[\\/]", name or "")[-1].strip()[:MAX_NAME]
    return name or f"content.{extension}"


def store_content(*, space_id, upload: File, name: str, created_by: str) -> StoredContent:
    """Check an upload's size and type and store it in the space's folder.

    413 content_too_large over PUSHPORT_CONTENT_MAX_BYTES; 400 content_empty for no bytes;
    415 content_type_unsupported when the first bytes show no type of
    PUSHPORT_CONTENT_TYPES. The type answered (and served) is the one the bytes show; the
    client's is not trusted.
    """
    size = upload.size
    if size > settings.PUSHPORT_CONTENT_MAX_BYTES:
        raise too_large()
    if not size:
        raise ApiError("content_empty", "The uploaded content has no bytes.")
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    content_type = sniff(head)
    if content_type is None:
        raise ApiError(
            "content_type_unsupported",
            "The content's type could not be recognised from its first bytes.",
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    if content_type not in settings.PUSHPORT_CONTENT_TYPES:
        raise ApiError(
            "content_type_unsupported",
            f"This content is {content_type}, which this server does not accept.",
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    extension = EXTENSIONS[content_type]
    # 24 random bytes: a name nobody can guess or enumerate.
    wanted = f"{space_id}/{secrets.token_urlsafe(24)}.{extension}"
    saved = storage().save(wanted, upload)
    return StoredContent(
        space_id=str(space_id),
        file_id=saved.rsplit("/", 1)[-1],
        name=_clean_name(name, extension),
        content_type=content_type,
        size=size,
        created_on=timezone.now(),
        created_by=created_by,
    )


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SIGNER_SALT)


def sign(*, space_id, file_id: str) -> str:
    """The `sig` query value that lets anyone holding the URL read this file for a while."""
    value = f"{space_id}/{file_id}"
    return _signer().sign(value)[len(value) + 1 :]


def check_signature(*, space_id, file_id: str, signature: str) -> None:
    """403 content_link_expired after PUSHPORT_CONTENT_URL_MAX_AGE seconds, 403
    content_signature_invalid for a signature of another file or space (or none)."""
    try:
        _signer().unsign(
            f"{space_id}/{file_id}:{signature}", max_age=settings.PUSHPORT_CONTENT_URL_MAX_AGE
        )
    except signing.SignatureExpired:
        raise ApiError(
            "content_link_expired",
            "This content link has expired; ask for the message again or sign in to read it.",
            status_code=status.HTTP_403_FORBIDDEN,
        ) from None
    except signing.BadSignature:
        raise ApiError(
            "content_signature_invalid",
            "This content link is not valid for this file.",
            status_code=status.HTTP_403_FORBIDDEN,
        ) from None


def not_found() -> ApiError:
    return ApiError(
        "content_not_found",
        "This space has no content with this id.",
        status_code=status.HTTP_404_NOT_FOUND,
    )


def open_content(*, space_id, file_id: str) -> tuple[File, str]:
    """The stored file of this space and its MIME type; 404 content_not_found."""
    match = FILE_ID.match(file_id)
    if match is None or match.group(1) not in TYPES:
        raise not_found()
    name = f"{space_id}/{file_id}"
    backend = storage()
    if not backend.exists(name):
        raise not_found()
    return backend.open(name, "rb"), TYPES[match.group(1)]


def as_json(content: StoredContent, *, url: str) -> dict:
    """The upload's answer: the SDK's UploadedFile (its chat layer turns type, url, size and
    name into a message part)."""
    return {
        "id": content.file_id,
        "folder": "content",
        "name": content.name,
        "type": content.content_type,
        "size": content.size,
        "url": url,
        "_createdOn": events.iso(content.created_on),
        "_createdBy": content.created_by,
    }
