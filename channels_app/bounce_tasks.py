"""The Celery task that sends due bounces (beat runs it; the embedded scheduler too).

Celery autodiscovers only `tasks` modules: channels_app/tasks.py imports this one.
"""

from celery import shared_task

from . import bounces


@shared_task(name="channels_app.bounce_tasks.send_bounces")
def send_bounces() -> dict:
    """Send the bounces (DSNs) that are due through the relay; the outcomes by kind."""
    return dict(bounces.send_due())
