"""PowerAuth Push Server routes: each unwraps the request, calls one function, wraps the answer.

Authentication is a Pushport API key of the space (Bearer, or HTTP Basic with the apiSpaceId
as user name), with the scope the route needs: devices, send (messages and campaigns) or
admin. PowerAuth leaves its device and message routes open; Pushport does not.
"""

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions
from rest_framework.views import APIView

from portal.authentication import (
    ApiKeyAuthentication,
    BasicApiKeyAuthentication,
    require_scope,
)
from portal.models import ApiKeyScope

from . import applications, campaigns, devices, envelope, messages
from .envelope import PowerAuthError, flag, number, obj, ok, request_object, text

SERVICE = {
    "applicationName": "powerauth-push",
    "applicationDisplayName": "PowerAuth Push Server",
    "applicationEnvironment": "",
    # The release whose API this surface speaks.
    "version": "2021.03",
}
# Answered as buildTime: Pushport has no build stamp, so the time this process started.
STARTED = timezone.now()
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000


class HasKeyScope(permissions.BasePermission):
    """A valid API key carrying the view's scope (any key when the view names none)."""

    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated("a Pushport API key is required.")
        if view.required_scope:
            require_scope(request.auth, view.required_scope)
        return True


@extend_schema(exclude=True)
class PowerAuthView(APIView):
    authentication_classes = [ApiKeyAuthentication, BasicApiKeyAuthentication]
    permission_classes = [HasKeyScope]
    required_scope = ""

    def get_exception_handler(self):
        return envelope.exception_handler

    @property
    def space(self):
        return self.request.auth.space

    @property
    def actor(self) -> str:
        return self.request.auth.prefix

    def body(self, **options):
        return request_object(self.request.data, **options)

    def app(self, data: dict, *names: str) -> int:
        """The caller's appId from the first of `names` present; refused if not its space's."""
        for name in names:
            if data.get(name) not in (None, ""):
                return applications.require_app(self.space, number(data, name))
        raise PowerAuthError(f"The field {names[0]} is required.")


class ServiceStatusView(PowerAuthView):
    def get(self, request):
        now = timezone.now()
        return ok(
            {
                **SERVICE,
                "buildTime": _stamp(STARTED),
                "timestamp": _stamp(now),
            }
        )


def _stamp(moment: dt.datetime) -> str:
    # PowerAuth's own format: 2019-01-22T15:00:28.399+0000
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


# --- devices -----------------------------------------------------------------------------


class DeviceCreateView(PowerAuthView):
    required_scope = ApiKeyScope.DEVICES
    multi = False

    def post(self, request):
        data = obj(self.body())
        self.app(data, "appId")
        platform = devices.platform_of(text(data, "platform"))
        if self.multi:
            activation_ids = devices.activation_ids_of(data.get("activationIds"))
        else:
            activation_ids = [text(data, "activationId", max_length=64)]
        devices.register(
            space=self.space,
            token=text(data, "token", max_length=512),
            platform=platform,
            activation_ids=activation_ids,
            user_id=text(data, "userId", required=False),
            environment=devices.environment_of(text(data, "environment", required=False)),
        )
        return ok()


class DeviceRemoveView(PowerAuthView):
    required_scope = ApiKeyScope.DEVICES

    def delete(self, request):
        data = obj(self.body())
        self.app(data, "appId")
        devices.remove(space=self.space, token=text(data, "token", max_length=512))
        return ok()

    post = delete  # the later release's POST /push/device/delete


class DeviceStatusView(PowerAuthView):
    required_scope = ApiKeyScope.DEVICES

    def post(self, request):
        data = obj(self.body(bare_allowed=True))
        devices.update_status(
            space=self.space,
            activation_id=text(data, "activationId", max_length=64),
            status=text(data, "activationStatus", required=False),
        )
        return ok()


# --- messages ----------------------------------------------------------------------------


class MessageSendView(PowerAuthView):
    required_scope = ApiKeyScope.SEND

    def post(self, request):
        data = obj(self.body())
        self.app(data, "appId")
        if "message" not in data:
            raise PowerAuthError("The field message is required.")
        result = messages.send(
            space=self.space, items=[data["message"]], priority=messages.priority_of(data)
        )
        return ok({"result": result})


class MessageBatchView(PowerAuthView):
    required_scope = ApiKeyScope.SEND

    def post(self, request):
        data = obj(self.body())
        self.app(data, "appId")
        batch = data.get("batch")
        if not isinstance(batch, list) or not batch:
            raise PowerAuthError("The field batch must be a non-empty list of messages.")
        result = messages.send(space=self.space, items=batch, priority=messages.priority_of(data))
        return ok({"result": result})


# --- campaigns ---------------------------------------------------------------------------


class CampaignView(PowerAuthView):
    required_scope = ApiKeyScope.SEND

    def app_id(self) -> int:
        app_id = applications.app_id_of(self.space)
        if app_id is None:
            raise PowerAuthError("This space has no PowerAuth appId yet.")
        return app_id


class CampaignCreateView(CampaignView):
    def post(self, request):
        data = obj(self.body())
        self.app(data, "appId")
        if "message" not in data:
            raise PowerAuthError("The field message is required.")
        campaign = campaigns.create(space=self.space, message=data["message"])
        return ok({"id": str(campaign.pk)})


class CampaignDeleteView(CampaignView):
    def delete(self, request, campaign_id):
        try:
            campaign = campaigns.find(self.space, campaign_id)
        except PowerAuthError:
            return ok({"deleted": False})
        campaign.delete()
        return ok({"deleted": True})

    post = delete


class CampaignDetailView(CampaignView):
    def get(self, request, campaign_id):
        campaign = campaigns.find(self.space, campaign_id)
        return ok(campaigns.describe(campaign, app_id=self.app_id()))


class CampaignListView(CampaignView):
    def get(self, request):
        include_unsent = request.query_params.get("all", "false").lower() == "true"
        app_id = self.app_id()
        return ok(
            [
                campaigns.describe(campaign, app_id=app_id)
                for campaign in campaigns.listing(self.space, include_unsent=include_unsent)
            ]
        )


class CampaignUsersView(CampaignView):
    def put(self, request, campaign_id):
        campaign = campaigns.find(self.space, campaign_id)
        campaigns.add_users(campaign=campaign, users=campaigns.user_ids(self.body()))
        return ok()

    post = put


class CampaignUsersDeleteView(CampaignView):
    def delete(self, request, campaign_id):
        campaign = campaigns.find(self.space, campaign_id)
        campaigns.remove_users(campaign=campaign, users=campaigns.user_ids(self.body()))
        return ok()

    post = delete


class CampaignUsersListView(CampaignView):
    def get(self, request, campaign_id):
        campaign = campaigns.find(self.space, campaign_id)
        query = request.query_params
        page = number(query, "page", required=False) or 0
        size = number(query, "size", required=False) or DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            raise PowerAuthError(f"size is at most {MAX_PAGE_SIZE}.")
        users = campaigns.users_page(campaign=campaign, page=page, size=size)
        return ok({"campaignId": str(campaign.pk), "users": users}, page=page, size=size)


class CampaignTestSendView(CampaignView):
    def post(self, request, campaign_id):
        campaign = campaigns.find(self.space, campaign_id)
        data = obj(self.body())
        campaigns.send_test(campaign=campaign, user_id=text(data, "userId"))
        return ok()


class CampaignLiveSendView(CampaignView):
    def post(self, request, campaign_id):
        campaigns.send_live(campaign=campaigns.find(self.space, campaign_id))
        return ok()


# --- administration ----------------------------------------------------------------------


class AdminView(PowerAuthView):
    required_scope = ApiKeyScope.ADMIN


class AppListView(AdminView):
    def get(self, request):
        entry = applications.summary(self.space)
        return ok({"applicationList": [entry] if entry else []})


class AppUnconfiguredListView(AdminView):
    def get(self, request):
        return ok({"applicationList": applications.unconfigured(self.space)})


class AppDetailView(AdminView):
    def post(self, request):
        data = obj(self.body())
        answer = applications.detail(
            self.space,
            self.app(data, "id", "appId"),
            include_ios=flag(data, "includeIos") or flag(data, "includeApns"),
            include_android=flag(data, "includeAndroid") or flag(data, "includeFcm"),
        )
        return ok(answer)


class AppCreateView(AdminView):
    def post(self, request):
        data = obj(self.body())
        app = applications.set_app_id(space=self.space, app_id=number(data, "appId"))
        return ok({"id": app.app_id})


class AppIosView(AdminView):
    """/admin/app/ios/update and /remove, and the later release's /admin/app/apns."""

    def put(self, request):
        data = obj(self.body())
        applications.update_ios(
            space=self.space,
            app_id=self.app(data, "id", "appId"),
            bundle=text(data, "bundle"),
            key_id=text(data, "keyId"),
            team_id=text(data, "teamId"),
            private_key_base64=text(data, "privateKeyBase64", max_length=100_000),
            environment=devices.environment_of(text(data, "environment", required=False)),
            actor=self.actor,
        )
        return ok()

    post = put

    def delete(self, request):
        data = obj(self.body())
        applications.remove_ios(
            space=self.space, app_id=self.app(data, "id", "appId"), actor=self.actor
        )
        return ok()


class AppAndroidView(AdminView):
    """/admin/app/android/update and /remove, and the later release's /admin/app/fcm."""

    def put(self, request):
        data = obj(self.body())
        applications.update_android(
            space=self.space,
            app_id=self.app(data, "id", "appId"),
            project_id=text(data, "projectId"),
            private_key_base64=text(data, "privateKeyBase64", max_length=100_000),
            actor=self.actor,
        )
        return ok()

    post = put

    def delete(self, request):
        data = obj(self.body())
        applications.remove_android(
            space=self.space, app_id=self.app(data, "id", "appId"), actor=self.actor
        )
        return ok()
