"""Route of Momentum's MCMT injection over HTTP."""

from django.urls import path

from . import mcmt_views

urlpatterns = [
    path(
        "apispaces/<uuid:space_id>/inject/mcmt",
        mcmt_views.McmtInjectView.as_view(),
        name="api-mcmt-inject",
    ),
]
