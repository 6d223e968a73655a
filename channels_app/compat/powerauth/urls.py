"""PowerAuth Push Server routes under /powerauth-push-server/: a caller changes its base URL
(and adds an API key), nothing else. Any other path there answers the PowerAuth error body."""

from django.urls import path, re_path

from . import envelope, views

campaign = "push/campaign/<str:campaign_id>"

urlpatterns = [
    path("push/service/status", views.ServiceStatusView.as_view()),
    path("push/device/create", views.DeviceCreateView.as_view()),
    path("push/device/create/multi", views.DeviceCreateView.as_view(multi=True)),
    path("push/device/remove", views.DeviceRemoveView.as_view()),
    path("push/device/delete", views.DeviceRemoveView.as_view()),
    path("push/device/status/update", views.DeviceStatusView.as_view()),
    path("push/message/send", views.MessageSendView.as_view()),
    path("push/message/batch/send", views.MessageBatchView.as_view()),
    path("push/campaign/create", views.CampaignCreateView.as_view()),
    path("push/campaign/list", views.CampaignListView.as_view()),
    path("push/campaign/send/test/<str:campaign_id>", views.CampaignTestSendView.as_view()),
    path("push/campaign/send/live/<str:campaign_id>", views.CampaignLiveSendView.as_view()),
    path(f"{campaign}/delete", views.CampaignDeleteView.as_view()),
    path(f"{campaign}/detail", views.CampaignDetailView.as_view()),
    path(f"{campaign}/user/add", views.CampaignUsersView.as_view()),
    path(f"{campaign}/user/list", views.CampaignUsersListView.as_view()),
    path(f"{campaign}/user/delete", views.CampaignUsersDeleteView.as_view()),
    path("admin/app/list", views.AppListView.as_view()),
    path("admin/app/unconfigured/list", views.AppUnconfiguredListView.as_view()),
    path("admin/app/detail", views.AppDetailView.as_view()),
    path("admin/app/create", views.AppCreateView.as_view()),
    path("admin/app/ios/update", views.AppIosView.as_view(http_method_names=["put", "post"])),
    path("admin/app/ios/remove", views.AppIosView.as_view(http_method_names=["delete"])),
    path("admin/app/apns", views.AppIosView.as_view()),
    path(
        "admin/app/android/update",
        views.AppAndroidView.as_view(http_method_names=["put", "post"]),
    ),
    path("admin/app/android/remove", views.AppAndroidView.as_view(http_method_names=["delete"])),
    path("admin/app/fcm", views.AppAndroidView.as_view()),
    re_path(r"^.*$", envelope.not_found),
]
