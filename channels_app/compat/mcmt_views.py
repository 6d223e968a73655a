"""`POST /apispaces/{apiSpaceId}/inject/mcmt`: Momentum's MCMT injection over HTTP (API key)."""

from django.db import OperationalError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, serializers
from rest_framework.response import Response

from channels_app.api_views import ERRORS, SpaceApiView
from portal.errors import ApiError
from portal.models import ApiKeyScope

from . import mcmt, mcmt_inject


class _RawParser(parsers.BaseParser):
    """The body as bytes: MCMT is read by the email package, not as form data."""

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class Rfc822Parser(_RawParser):
    media_type = "message/rfc822"


class MultipartParser(_RawParser):
    media_type = "multipart/*"


class McmtPartSerializer(serializers.Serializer):
    """One MIME part's outcome (documentation of the answer)."""

    index = serializers.IntegerField(help_text="The part's place in the message, from 0.")
    status = serializers.ChoiceField(["queued", "error", "skipped"])
    deliveryId = serializers.UUIDField(required=False)
    messageId = serializers.UUIDField(required=False)
    code = serializers.CharField(required=False, help_text="Why the part was refused.")
    message = serializers.CharField(required=False)
    contentType = serializers.CharField(required=False, help_text="The type of a skipped part.")


class McmtAnswerSerializer(serializers.Serializer):
    parts = McmtPartSerializer(many=True)


class McmtInjectView(SpaceApiView):
    parser_classes = [Rfc822Parser, MultipartParser]

    @extend_schema(
        operation_id="mcmt_inject",
        request={
            "message/rfc822": OpenApiTypes.BINARY,
            "multipart/mixed": OpenApiTypes.BINARY,
        },
        responses={
            200: OpenApiResponse(
                McmtAnswerSerializer,
                description="One entry per MIME part: queued with its delivery, or why not.",
            ),
            403: OpenApiResponse(description="The API key lacks the send scope."),
            503: OpenApiResponse(description="The database is unavailable; nothing was stored."),
            **ERRORS,
        },
        summary="Send the APNs parts of a Momentum MCMT message, payloads as given",
    )
    def post(self, request, space_id):
        if not request.auth.allows(ApiKeyScope.SEND):
            raise ApiError(
                "api_key_scope_missing",
                "This API key lacks the 'send' scope; use a key that has it.",
                status_code=403,
            )
        body = request.data
        # message/rfc822 carries its own headers; a multipart body's boundary is in ours.
        content_type = "" if request.content_type.startswith("message/") else request.content_type
        try:
            parts = mcmt.parse(body, content_type=content_type)
        except mcmt.McmtError as exc:
            raise ApiError(exc.code, exc.message) from exc
        try:
            outcomes = mcmt_inject.inject(space=self.space, parts=parts, via="http")
        except OperationalError as exc:
            raise ApiError(
                "database_unavailable",
                "The database is unavailable; nothing was stored. Try again.",
                status_code=503,
            ) from exc
        return Response({"parts": [outcome.as_json() for outcome in outcomes]})
