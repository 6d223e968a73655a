"""Content routes: the SDK's upload (POST /apispaces/{id}/content, session token), its /cpaas
twin for back ends (API key), and the signed URL that serves a file back."""

import base64
import binascii
import io
from urllib.parse import quote

from django.conf import settings
from django.core.files.base import ContentFile
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.authentication import require_scope
from portal.errors import ApiError
from portal.models import ApiKeyScope
from portal.parsers import JSONParser
from sessions_app.authentication import SessionTokenRejected, verify_session_token
from sessions_app.spaces import parse_space_id
from sessions_app.views import CpaasApiView, SessionApiView, errors

from . import content
from .conversations import caller_id

APP_MESSAGING = ["App Messaging"]
# Room for the multipart envelope, or the JSON around the base64 text.
_ENVELOPE_BYTES = 64 * 1024
# Served inline where a browser shows it safely; anything else is downloaded.
_INLINE = ("image/", "audio/", "video/")


class Base64ContentSerializer(serializers.Serializer):
    """The SDK's ContentData.createFromBase64: {data, name, type}; `type` is not trusted."""

    data = serializers.CharField(allow_blank=True, trim_whitespace=True)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    type = serializers.CharField(required=False, allow_blank=True, default="")


def _decoded(text: str) -> bytes:
    # A data: URL is what browsers hand apps (FileReader.readAsDataURL); keep only its data.
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("content_invalid", "`data` is not valid base64.") from None


class UploadMixin:
    """Reads an upload in either of the SDK's forms and answers the SDK's UploadedFile."""

    parser_classes = [parsers.MultiPartParser]

    def upload(self, request, *, space_id, created_by: str) -> Response:
        limit = settings.PUSHPORT_CONTENT_MAX_BYTES
        is_json = request.content_type.split(";")[0].strip().lower() == "application/json"
        # Refused before the body is read: base64 is 4 bytes for every 3.
        body_limit = (limit + 2) // 3 * 4 if is_json else limit
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > body_limit + _ENVELOPE_BYTES:
            raise content.too_large()
        if is_json:
            upload, name = self._from_json(request, body_limit)
        else:
            upload, name = self._from_multipart(request)
        stored = content.store_content(
            space_id=space_id, upload=upload, name=name, created_by=created_by
        )
        path = reverse(
            "content-file", kwargs={"space_id": stored.space_id, "file_id": stored.file_id}
        )
        sig = content.sign(space_id=stored.space_id, file_id=stored.file_id)
        url = request.build_absolute_uri(f"{path}?sig={quote(sig, safe='')}")
        # The SDK takes only exactly 200 as success: a 201 would reject its promise.
        return Response(content.as_json(stored, url=url), status=status.HTTP_200_OK)

    def _from_json(self, request, body_limit: int):
        # Read here rather than by DRF's parser, whose limit (DATA_UPLOAD_MAX_MEMORY_SIZE) is
        # the one for API bodies, not the content limit.
        raw = request.stream.read(body_limit + _ENVELOPE_BYTES + 1) if request.stream else b""
        if len(raw) > body_limit + _ENVELOPE_BYTES:
            raise content.too_large()
        parsed = JSONParser().parse(io.BytesIO(raw))
        serializer = Base64ContentSerializer(data=parsed)
        serializer.is_valid(raise_exception=True)
        data = _decoded(serializer.validated_data["data"])
        name = serializer.validated_data["name"]
        return ContentFile(data, name=name or "content"), name

    def _from_multipart(self, request):
        if not request.content_type.lower().startswith("multipart/form-data"):
            raise ApiError(
                "content_body_unsupported",
                "Upload content as multipart/form-data (field `file`) or as JSON "
                '{"data": "<base64>", "name": "...", "type": "..."}.',
                status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        upload = request.FILES.get("file")
        if upload is None:
            raise ApiError("content_file_missing", "The multipart body has no `file` field.")
        return upload, upload.name or ""


def upload_doc(summary: str):
    """The OpenAPI description of an upload route."""
    return extend_schema(
        tags=APP_MESSAGING,
        summary=summary,
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
            "application/json": Base64ContentSerializer,
        },
        responses={200: OpenApiTypes.OBJECT, **errors(400, 401, 403, 413, 415)},
    )


class ContentUploadView(UploadMixin, SessionApiView):
    @upload_doc("Upload content for a message (multipart `file`, or JSON with base64 data)")
    def post(self, request, space_id):
        return self.upload(
            request, space_id=request.auth.space_id, created_by=caller_id(request.auth)
        )


class CpaasContentUploadView(UploadMixin, CpaasApiView):
    @upload_doc("Upload content as a back end (Basic: apiSpaceId and an API key with send)")
    def post(self, request):
        require_scope(request.auth, ApiKeyScope.SEND)
        return self.upload(
            request, space_id=request.auth.space_id, created_by=f"access:{request.auth.id}"
        )


class ContentFileView(APIView):
    """Serves an uploaded file to whoever holds its signed URL (or a session of its space)."""

    authentication_classes = []
    permission_classes = []

    @extend_schema(
        tags=APP_MESSAGING,
        summary="Read uploaded content (the signed URL the upload answered)",
        parameters=[OpenApiParameter("sig", str, required=False)],
        responses={(200, "*/*"): OpenApiTypes.BINARY, **errors(403, 404)},
    )
    def get(self, request, space_id, file_id):
        space = str(parse_space_id(space_id))
        self._check_access(request, space_id=space, file_id=file_id)
        handle, content_type = content.open_content(space_id=space, file_id=file_id)
        response = FileResponse(
            handle,
            content_type=content_type,
            as_attachment=not content_type.startswith(_INLINE),
            filename=file_id,
        )
        # Served as what the bytes showed, never as what a browser might guess.
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=3600"
        # Apps show pictures from this server on their own origin.
        response["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

    def _check_access(self, request, *, space_id: str, file_id: str) -> None:
        signature = request.GET.get("sig", "")
        refusal = None
        if signature:
            try:
                content.check_signature(space_id=space_id, file_id=file_id, signature=signature)
                return
            except ApiError as exc:
                refusal = exc
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            try:
                verify_session_token(space_id=space_id, token=token.strip())
                return
            except SessionTokenRejected:
                pass
        raise refusal or ApiError(
            "content_signature_invalid",
            "Reading content needs its signed URL or a session token of its space.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
