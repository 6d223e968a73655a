"""Celery tasks of campaigns: store a live send's deliveries, and the periodic campaign run.

Registered through channels_app.tasks (Celery autodiscovers only `tasks` modules). Like the
engine's chunks, a queued store is only a hint: run_campaigns() finds a live send whose
deliveries were not all stored and stores the rest.
"""

from celery import shared_task

from . import campaigns
from .models import Campaign


@shared_task(name="channels_app.campaign_tasks.store_campaign")
def store_campaign(campaign_id: str) -> int:
    """Store the missing deliveries of a campaign's live send; how many were stored."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    return campaigns.store_deliveries(campaign=campaign)


@shared_task(name="channels_app.campaign_tasks.run_campaigns")
def run_campaigns() -> dict:
    """Start scheduled campaigns that are due, resume interrupted ones, settle finished ones."""
    return campaigns.run_campaigns()
