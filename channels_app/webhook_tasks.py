"""The Celery task that sends due webhook calls (beat runs it; the embedded scheduler too).

Celery autodiscovers only `tasks` modules: channels_app/tasks.py imports this one.
"""

from celery import shared_task

from . import webhooks


@shared_task(name="channels_app.webhook_tasks.deliver_webhooks")
def deliver_webhooks() -> dict:
    """POST the webhook calls that are due; the outcomes by kind."""
    return dict(webhooks.deliver_due())
