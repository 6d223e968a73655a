"""Send again deliveries of workers that died mid-send, and overdue retries (cron or beat)."""

from django.core.management.base import BaseCommand

from channels_app import tasks


class Command(BaseCommand):
    help = "Queue again deliveries whose lease expired and retries that are overdue."

    def handle(self, *args, **options):
        count = tasks.reclaim_expired_leases()
        self.stdout.write(f"Queued {count} deliveries again (expired leases, overdue retries).")
