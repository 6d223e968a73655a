"""Prepare a fresh install: migrate, then create the admin account if it does not exist."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Migrate the database and create the superuser PUSHPORT_ADMIN_USERNAME if absent, with "
        "PUSHPORT_ADMIN_PASSWORD or a generated password printed once. Safe to run again."
    )

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=options["verbosity"])
        username = settings.PUSHPORT_ADMIN_USERNAME
        User = get_user_model()
        if User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
            self.stdout.write(f"Admin account “{username}” already exists; password unchanged.")
            return
        password = settings.PUSHPORT_ADMIN_PASSWORD
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        User.objects.create_superuser(**{User.USERNAME_FIELD: username}, password=password)
        if generated:
            # Printed once, here; only its hash is stored.
            self.stdout.write(
                self.style.SUCCESS(f"Created admin account “{username}” with password: {password}")
            )
            self.stdout.write("Store it now: it is not shown again.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created admin account “{username}” with the password from "
                    "PUSHPORT_ADMIN_PASSWORD."
                )
            )
