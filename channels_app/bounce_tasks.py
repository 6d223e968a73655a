"""The Celery tasks that send due bounces and prune old ones (beat runs them; the embedded
scheduler too).

Celery autodiscovers only `tasks` modules: channels_app/tasks.py imports this one.
"""

from celery import shared_task

from . import bounces


@shared_task(name="channels_app.bounce_tasks.send_bounces")
def send_bounces() -> dict:
    """Send the bounces (DSNs) that are due through the relay; the outcomes by kind."""
    return dict(bounces.send_due())


@shared_task(name="channels_app.bounce_tasks.prune_bounces")
def prune_bounces() -> int:
    """Delete the sent and failed bounces older than PUSHPORT_MCMT_BOUNCES_KEPT_DAYS; how many."""
    return bounces.prune()
