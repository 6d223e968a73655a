"""Send again the deliveries of workers that died mid-send (also a periodic Celery task)."""

from django.core.management.base import BaseCommand

from channels_app import tasks


class Command(BaseCommand):
    help = "Put deliveries whose lease expired back to retrying and queue them again."

    def handle(self, *args, **options):
        count = tasks.reclaim_expired_leases()
        self.stdout.write(f"Reclaimed {count} deliveries with expired leases.")
