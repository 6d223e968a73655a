"""Portal routes of campaigns."""

from django.urls import path

from . import campaigns

space = "spaces/<uuid:space_id>/campaigns/"
one = f"{space}<uuid:campaign_id>/"

urlpatterns = [
    path(space, campaigns.campaign_list, name="space-campaigns"),
    path(f"{space}new/", campaigns.campaign_create, name="space-campaign-create"),
    path(one, campaigns.campaign_detail, name="space-campaign"),
    path(f"{one}edit/", campaigns.campaign_edit, name="space-campaign-edit"),
    path(f"{one}progress/", campaigns.campaign_progress, name="space-campaign-progress"),
    path(f"{one}audience/paste/", campaigns.campaign_add_pasted, name="space-campaign-paste"),
    path(f"{one}audience/upload/", campaigns.campaign_upload, name="space-campaign-upload"),
    path(f"{one}audience/remove/", campaigns.campaign_remove, name="space-campaign-remove"),
    path(f"{one}test/", campaigns.campaign_test_send, name="space-campaign-test"),
    path(f"{one}send/", campaigns.campaign_send, name="space-campaign-send"),
    path(f"{one}delete/", campaigns.campaign_delete, name="space-campaign-delete"),
]
