"""The Celery tasks that send due webhook calls and prune old ones (beat runs them; the
embedded scheduler too).

Celery autodiscovers only `tasks` modules: channels_app/tasks.py imports this one.
"""

from celery import shared_task

from . import webhooks


@shared_task(name="channels_app.webhook_tasks.deliver_webhooks")
def deliver_webhooks() -> dict:
    """POST the webhook calls that are due; the outcomes by kind."""
    return dict(webhooks.deliver_due())


@shared_task(name="channels_app.webhook_tasks.prune_webhook_calls")
def prune_webhook_calls() -> int:
    """Delete the finished calls older than PUSHPORT_WEBHOOK_CALLS_KEPT_DAYS; how many."""
    return webhooks.prune()
