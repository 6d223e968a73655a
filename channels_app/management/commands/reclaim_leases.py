"""Sweep once: reclaim expired leases and queue what is due that nobody holds (cron, or by hand)."""

from django.core.management.base import BaseCommand

from channels_app import tasks


class Command(BaseCommand):
    help = (
        "Reclaim deliveries whose worker died (expired leases) and queue every due delivery "
        "nobody holds (retries, lost tasks); prints what it found by kind."
    )

    def handle(self, *args, **options):
        counts = tasks.sweep()
        self.stdout.write(
            f"reclaimed={counts['reclaimed']} gave_up={counts['gave_up']} queued={counts['queued']}"
        )
