"""Cron check: APNs certificates expired or expiring soon, and credentials a provider refused."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels_app.credential_health import credential_concerns


class Command(BaseCommand):
    help = (
        "List APNs certificates expired or expiring within --days days and credentials marked "
        "needs attention; exit non-zero when there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.PUSHPORT_CREDENTIAL_WARNING_DAYS,
            help="Warn about certificates expiring within this many days "
            "(default PUSHPORT_CREDENTIAL_WARNING_DAYS).",
        )

    def handle(self, *args, days, **options):
        if days < 0:
            raise CommandError("--days cannot be negative")
        concerns = credential_concerns(days=days)
        if not concerns:
            self.stdout.write("all credentials OK")
            return
        for concern in concerns:
            self.stdout.write(str(concern))
        raise CommandError(f"{len(concerns)} credential(s) need attention")
