"""Server API for campaigns: create, list, read with progress, edit, delete, audience, sends.

Views validate, call one function of channels_app.campaigns, and render; a CampaignError
becomes the JSON error with its stable code and status.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from portal.errors import ApiError
from sessions_app.serializers import ErrorSerializer

from .. import campaigns
from ..api_views import ERRORS, SpaceApiView
from ..models import Campaign, CampaignStatus
from ..serializers import MessageSerializer, PlatformCountsSerializer

MAX_PAGE_SIZE = 1000
CONFLICT = {
    409: OpenApiResponse(ErrorSerializer, description="The campaign's live send has started.")
}


class CampaignRequestSerializer(serializers.Serializer):
    """A campaign: its name, the message (the send body without `to`), throttle, schedule."""

    name = serializers.CharField(max_length=255)
    message = serializers.DictField(
        help_text="The fields of POST messages without `to`: rules, title, body, metadata, "
        "expiresOn, channelOptions."
    )
    ratePerMinute = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10_000_000
    )
    sendAt = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Start the live send at this time."
    )


class CampaignPatchSerializer(CampaignRequestSerializer):
    name = serializers.CharField(max_length=255, required=False)
    message = serializers.DictField(required=False)


class ProgressSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Deliveries stored so far: one per device.")
    stored = serializers.BooleanField(help_text="Every delivery of the live send is stored.")
    platforms = serializers.DictField(child=PlatformCountsSerializer())


class CampaignSerializer(serializers.Serializer):
    campaignId = serializers.UUIDField(source="id")
    name = serializers.CharField()
    status = serializers.CharField(help_text="draft, scheduled, sending or sent.")
    sent = serializers.BooleanField()
    message = serializers.DictField()
    ratePerMinute = serializers.IntegerField(source="rate_per_minute", allow_null=True)
    sendAt = serializers.DateTimeField(source="send_at", allow_null=True)
    messageId = serializers.UUIDField(source="sent_message_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)


class CampaignDetailSerializer(CampaignSerializer):
    audience = serializers.IntegerField(help_text="Profile ids in the audience.")
    progress = ProgressSerializer()


class CampaignPageSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    size = serializers.IntegerField()
    total = serializers.IntegerField()
    campaigns = CampaignSerializer(many=True)


class RecipientsPageSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    size = serializers.IntegerField()
    total = serializers.IntegerField()
    profileIds = serializers.ListField(child=serializers.CharField())


class RecipientsChangedSerializer(serializers.Serializer):
    added = serializers.IntegerField(required=False)
    removed = serializers.IntegerField(required=False)
    total = serializers.IntegerField()


class TestSendSerializer(serializers.Serializer):
    profileId = serializers.CharField(max_length=255)


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, required=False, description="From 1 (default 1)."),
    OpenApiParameter("size", int, required=False, description="Default 100, at most 1000."),
]


def _page_params(request) -> tuple[int, int]:
    try:
        page = int(request.query_params.get("page", 1))
        size = int(request.query_params.get("size", 100))
    except ValueError as exc:
        raise ApiError("invalid_page", "page and size must be whole numbers.") from exc
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError("invalid_page", f"page starts at 1; size is 1 to {MAX_PAGE_SIZE}.")
    return page, size


def _refused(exc: campaigns.CampaignError) -> ApiError:
    return ApiError(exc.code, exc.message, status_code=exc.status, details=exc.details)


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        field, errors = next(iter(serializer.errors.items()))
        raise ApiError("validation_error", f"{field}: {errors[0]}", details=serializer.errors)
    return serializer.validated_data


def _detail(campaign: Campaign) -> dict:
    progress = campaigns.progress(campaign=campaign)
    campaign.audience = campaign.recipients.count()
    campaign.progress = progress
    return CampaignDetailSerializer(campaign).data


class CampaignView(SpaceApiView):
    def campaign(self, campaign_id) -> Campaign:
        campaign = Campaign.objects.filter(space=self.space, pk=campaign_id).first()
        if campaign is None:
            raise NotFound("No such campaign in this space.")
        return campaign


class CampaignListView(CampaignView):
    @extend_schema(
        operation_id="campaigns_list",
        parameters=[
            OpenApiParameter("sent", bool, required=False, description="true: sent ones only."),
            *PAGE_PARAMETERS,
        ],
        responses={200: CampaignPageSerializer, **ERRORS},
        summary="The space's campaigns, newest first",
    )
    def get(self, request, space_id):
        page, size = _page_params(request)
        found = Campaign.objects.filter(space=self.space).order_by("-created_at")
        if request.query_params.get("sent", "").lower() in ("true", "1"):
            found = found.filter(status=CampaignStatus.SENT)
        start = (page - 1) * size
        body = {
            "page": page,
            "size": size,
            "total": found.count(),
            "campaigns": CampaignSerializer(found[start : start + size], many=True).data,
        }
        return Response(body)

    @extend_schema(
        operation_id="campaigns_create",
        request=CampaignRequestSerializer,
        responses={201: CampaignDetailSerializer, **ERRORS},
        summary="Create a campaign (draft, or scheduled with sendAt)",
    )
    def post(self, request, space_id):
        data = _valid(CampaignRequestSerializer, request.data)
        try:
            campaign = campaigns.create_campaign(
                space=self.space,
                name=data["name"],
                message=request.data["message"],
                rate_per_minute=data.get("ratePerMinute"),
                send_at=data.get("sendAt"),
            )
        except campaigns.CampaignError as exc:
            raise _refused(exc) from exc
        return Response(_detail(campaign), status=status.HTTP_201_CREATED)


class CampaignDetailView(CampaignView):
    @extend_schema(
        operation_id="campaigns_retrieve",
        responses={200: CampaignDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]},
        summary="A campaign with its audience size and progress (sent, failed, pending, total)",
    )
    def get(self, request, space_id, campaign_id):
        return Response(_detail(self.campaign(campaign_id)))

    @extend_schema(
        operation_id="campaigns_update",
        request=CampaignPatchSerializer,
        responses={200: CampaignDetailSerializer, **ERRORS, **CONFLICT},
        summary="Change an unsent campaign (the fields given)",
    )
    def patch(self, request, space_id, campaign_id):
        campaign = self.campaign(campaign_id)
        data = _valid(CampaignPatchSerializer, request.data)
        names = {"name": "name", "ratePerMinute": "rate_per_minute", "sendAt": "send_at"}
        fields = {names[key]: value for key, value in data.items() if key in names}
        if "message" in data:
            fields["message"] = request.data["message"]
        try:
            campaigns.update_campaign(campaign=campaign, **fields)
        except campaigns.CampaignError as exc:
            raise _refused(exc) from exc
        return Response(_detail(campaign))

    @extend_schema(
        operation_id="campaigns_delete",
        responses={204: None, 401: ERRORS[401], 404: ERRORS[404]},
        summary="Delete a campaign and its audience",
    )
    def delete(self, request, space_id, campaign_id):
        campaigns.delete_campaign(campaign=self.campaign(campaign_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _ids_from(request) -> list:
    """Profile ids from a JSON list body, {"profileIds": [...]}, or ?id=a&id=b."""
    data = request.data
    if isinstance(data, dict) and "profileIds" in data:
        data = data["profileIds"]
    if not data and request.query_params.getlist("id"):
        data = request.query_params.getlist("id")
    if not isinstance(data, list):
        raise ApiError("body_not_array", "Send the profile ids as a JSON array of strings.")
    return data


class CampaignRecipientsView(CampaignView):
    @extend_schema(
        operation_id="campaigns_recipients_list",
        parameters=PAGE_PARAMETERS,
        responses={200: RecipientsPageSerializer, **ERRORS},
        summary="The audience's profile ids, in order, one page",
    )
    def get(self, request, space_id, campaign_id):
        campaign = self.campaign(campaign_id)
        page, size = _page_params(request)
        ids, total = campaigns.recipients_page(campaign=campaign, page=page, size=size)
        return Response({"page": page, "size": size, "total": total, "profileIds": ids})

    @extend_schema(
        operation_id="campaigns_recipients_add",
        request={"application/json": {"type": "array", "items": {"type": "string"}}},
        responses={200: RecipientsChangedSerializer, **ERRORS, **CONFLICT},
        summary="Add profile ids to the audience (ids already there are skipped)",
    )
    def post(self, request, space_id, campaign_id):
        campaign = self.campaign(campaign_id)
        try:
            added = campaigns.add_recipients(campaign=campaign, profile_ids=_ids_from(request))
        except campaigns.CampaignError as exc:
            raise _refused(exc) from exc
        return Response({"added": added, "total": campaign.recipients.count()})

    @extend_schema(
        operation_id="campaigns_recipients_remove",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.STR, many=True, required=False),
        ],
        request={"application/json": {"type": "array", "items": {"type": "string"}}},
        responses={200: RecipientsChangedSerializer, **ERRORS, **CONFLICT},
        summary="Remove profile ids (?id=a&id=b, or a JSON array body)",
    )
    def delete(self, request, space_id, campaign_id):
        campaign = self.campaign(campaign_id)
        try:
            removed = campaigns.remove_recipients(campaign=campaign, profile_ids=_ids_from(request))
        except campaigns.CampaignError as exc:
            raise _refused(exc) from exc
        return Response({"removed": removed, "total": campaign.recipients.count()})


class CampaignTestSendView(CampaignView):
    @extend_schema(
        operation_id="campaigns_test_send",
        request=TestSendSerializer,
        responses={201: MessageSerializer, **ERRORS},
        summary="Send the campaign's message to one profile's devices now",
    )
    def post(self, request, space_id, campaign_id):
        campaign = self.campaign(campaign_id)
        data = _valid(TestSendSerializer, request.data)
        try:
            message = campaigns.test_send(campaign=campaign, profile_id=data["profileId"])
        except campaigns.CampaignError as exc:
            raise _refused(exc) from exc
        message.refresh_from_db()
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class CampaignSendView(CampaignView):
    @extend_schema(
        operation_id="campaigns_send",
        request=None,
        responses={202: CampaignDetailSerializer, **ERRORS, **CONFLICT},
        summary="Start the live send: each device of the audience gets the message once",
        description="A second call answers 409 campaign_already_sent.",
    )
    def post(self, request, space_id, campaign_id):
        campaign = self.campaign(campaign_id)
        try:
            campaigns.start_live_send(campaign=campaign)
        except campaigns.CampaignError as exc:
            raise _refused(exc) from exc
        return Response(_detail(campaign), status=status.HTTP_202_ACCEPTED)
