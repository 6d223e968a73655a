"""Server API: send messages, read their status and deliveries (API key of the URL's space)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.authentication import ApiKeyAuthentication, require_scope
from portal.errors import ApiError
from portal.fast_validation import NOT_SURE, compile_validator
from portal.models import ApiKeyScope
from sessions_app.serializers import ErrorSerializer

from . import sending
from .models import ApnsCredential, Delivery, DeliveryStatus, FcmCredential, Message
from .payloads import PayloadError, validate_message
from .serializers import (
    BatchItemSerializer,
    DeliverySerializer,
    MessageRequestSerializer,
    MessageSerializer,
    status_details,
)

IDEMPOTENCY_KEY_MAX = 200
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="A repeated POST with the same key answers the first result, sending nothing.",
)
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid request; nothing was stored."),
    401: OpenApiResponse(ErrorSerializer, description="No valid API key."),
    404: OpenApiResponse(ErrorSerializer, description="Not found in this space."),
}
# Codes our validators give; any other field error is reported as validation_error.
NAMED_CODES = frozenset({"unsupported_rule", "unknown_rule", "unsupported_field"})


class IsKeyOfSpace(permissions.BasePermission):
    """An API key of the URL's space with the view's scope; another space's key finds nothing."""

    def has_permission(self, request, view):
        if request.auth is None:
            return False
        if str(request.auth.space_id) != str(view.kwargs["space_id"]):
            raise NotFound("No such API space.")
        require_scope(request.auth, view.required_scope)
        return True


class SpaceApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsKeyOfSpace]
    # Messages and campaigns: sending, and reading back what was sent.
    required_scope = ApiKeyScope.SEND

    @property
    def space(self):
        return self.request.auth.space


def _first_error(errors, path=""):
    """The dotted path and ErrorDetail of the first error in DRF's nested error structure."""
    if isinstance(errors, dict):
        key, value = next(iter(errors.items()))
        return _first_error(value, f"{path}.{key}" if path else key)
    if isinstance(errors, list) and errors and isinstance(errors[0], (dict, list)):
        index = next(i for i, e in enumerate(errors) if e)
        return _first_error(errors[index], f"{path}[{index}]")
    return path, errors[0]


def _field_error(errors) -> dict:
    path, detail = _first_error(errors)
    code = detail.code if detail.code in NAMED_CODES else "validation_error"
    # Errors about a whole object sit under non_field_errors: name the object instead.
    label = path.removesuffix("non_field_errors").rstrip(".") or "message"
    return {"code": code, "message": f"{label}: {detail}", "details": errors}


def _payload_error(exc: PayloadError) -> dict:
    return {"code": exc.code, "message": exc.message}


def _package_name(space) -> str:
    return (
        FcmCredential.objects.filter(space=space).values_list("package_name", flat=True).first()
        or ""
    )


def _bundle_id(space) -> str:
    return (
        ApnsCredential.objects.filter(space=space).values_list("bundle_id", flat=True).first() or ""
    )


def _validated(item: dict, *, space, sent_by: str, bundle_id: str, package_name: str) -> Message:
    """An unsaved Message of a valid request item; PayloadError if no provider would take it.

    Checked for push even when appMessaging comes first: nativePush may be the fallback.
    """
    message = MessageRequestSerializer.to_message(item, space=space, sent_by=sent_by)
    validate_message(message, bundle_id=bundle_id, package_name=package_name)
    return message


def _sent_by(request) -> str:
    """Who sent, as a conversation message's context.sentBy says it: the API key."""
    return f"access:{request.auth.pk}"


def _idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApiError(
            "invalid_idempotency_key",
            f"Idempotency-Key is {len(key)} characters; use at most {IDEMPOTENCY_KEY_MAX}.",
        )
    return key


class MessageCreateView(SpaceApiView):
    @extend_schema(
        operation_id="messages_send",
        request=MessageRequestSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MessageSerializer, **ERRORS},
        summary="Send a message through the first channel of its rules that accepts it",
        description=(
            "appMessaging accepts when the profile has had an App Messaging session in the "
            "space, nativePush when it has an active device. statusDetails.channelId names "
            "the channel used (null when none accepted, and the message is failed)."
        ),
    )
    def post(self, request, space_id):
        if not isinstance(request.data, dict):
            raise ApiError("body_not_object", "The body must be a JSON object (one message).")
        key = _idempotency_key(request)
        serializer = MessageRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise ApiError(**_field_error(serializer.errors))
        try:
            message = _validated(
                serializer.validated_data,
                space=self.space,
                sent_by=_sent_by(request),
                bundle_id=_bundle_id(self.space),
                package_name=_package_name(self.space),
            )
        except PayloadError as exc:
            raise ApiError(**_payload_error(exc)) from exc
        message, created = sending.submit(message=message, idempotency_key=key)
        # Sent in process, the deliveries are already settled: answer the final state.
        message.refresh_from_db()
        response = Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class MessageBatchView(SpaceApiView):
    @extend_schema(
        operation_id="messages_send_batch",
        request=MessageRequestSerializer(many=True),
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: BatchItemSerializer(many=True), **ERRORS},
        summary="Send up to PUSHPORT_BATCH_MAX_MESSAGES messages",
        description=(
            "All or nothing: if any item is invalid, the answer is 400 with every problem "
            "listed by index in details, and nothing is stored or sent."
        ),
    )
    def post(self, request, space_id):
        items = request.data
        if not isinstance(items, list):
            raise ApiError("body_not_array", "The body must be a JSON array of messages.")
        limit = settings.PUSHPORT_BATCH_MAX_MESSAGES
        if not 1 <= len(items) <= limit:
            raise ApiError(
                "batch_size", f"A batch holds 1 to {limit} messages; this one has {len(items)}."
            )
        key = _idempotency_key(request)
        # One serializer validates every item: its fields are built once, not per item, and
        # the plainly valid items take its fast path.
        validator = MessageRequestSerializer()
        fast = compile_validator(validator)
        bundle_id, package_name = _bundle_id(self.space), _package_name(self.space)
        sent_by = _sent_by(request)
        messages, problems = [], []
        for index, item in enumerate(items):
            try:
                data = fast(item)
                if data is NOT_SURE:
                    data = validator.run_validation(item)
                messages.append(
                    _validated(
                        data,
                        space=self.space,
                        sent_by=sent_by,
                        bundle_id=bundle_id,
                        package_name=package_name,
                    )
                )
            except ValidationError as exc:
                problems.append({"index": index, **_field_error(exc.detail)})
            except PayloadError as exc:
                problems.append({"index": index, **_payload_error(exc)})
        if problems:
            raise ApiError(
                "invalid_batch",
                f"{len(problems)} of {len(items)} messages are invalid; nothing was sent.",
                details=problems,
            )
        keys = [f"{key}:{index}" if key else "" for index in range(len(messages))]
        messages, _ = sending.submit_batch(
            space=self.space, messages=messages, idempotency_keys=keys
        )
        body = [
            {"index": i, "messageId": str(m.pk), "statusDetails": status_details(m)}
            for i, m in enumerate(messages)
        ]
        return Response(body, status=status.HTTP_202_ACCEPTED)


class MessageDetailView(SpaceApiView):
    @extend_schema(
        operation_id="messages_retrieve",
        responses={200: MessageSerializer, 401: ERRORS[401], 404: ERRORS[404]},
        summary="A message's status and per-platform counts",
    )
    def get(self, request, space_id, message_id):
        message = Message.objects.filter(space=self.space, pk=message_id).first()
        if message is None:
            raise NotFound("No such message in this space.")
        return Response(MessageSerializer(message).data)


class DeliveryPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000


class MessageDeliveriesView(SpaceApiView, generics.ListAPIView):
    serializer_class = DeliverySerializer
    pagination_class = DeliveryPagination

    @extend_schema(
        operation_id="messages_deliveries",
        parameters=[
            OpenApiParameter("status", enum=DeliveryStatus.values, required=False),
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False, description="Page size (max 1000)."),
        ],
        responses={200: DeliverySerializer(many=True), **ERRORS},
        summary="A message's deliveries, one per device (paginated)",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        message = Message.objects.filter(space=self.space, pk=self.kwargs["message_id"]).first()
        if message is None:
            raise NotFound("No such message in this space.")
        deliveries = Delivery.objects.filter(message=message).select_related("device")
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in DeliveryStatus.values:
                raise ApiError(
                    "invalid_status",
                    f"status must be one of {', '.join(DeliveryStatus.values)}.",
                )
            deliveries = deliveries.filter(status=wanted)
        return deliveries
