"""Server API routes of campaigns."""

from django.urls import path

from . import campaigns

campaign = "apispaces/<uuid:space_id>/campaigns/<uuid:campaign_id>"

urlpatterns = [
    path(
        "apispaces/<uuid:space_id>/campaigns",
        campaigns.CampaignListView.as_view(),
        name="api-campaigns",
    ),
    path(campaign, campaigns.CampaignDetailView.as_view(), name="api-campaign"),
    path(
        f"{campaign}/recipients",
        campaigns.CampaignRecipientsView.as_view(),
        name="api-campaign-recipients",
    ),
    path(f"{campaign}/test", campaigns.CampaignTestSendView.as_view(), name="api-campaign-test"),
    path(f"{campaign}/send", campaigns.CampaignSendView.as_view(), name="api-campaign-send"),
]
