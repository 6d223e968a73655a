"""Prepare a fresh install: migrate, then create the admin account if it does not exist."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEFAULT_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = (
        "Migrate the database and create the superuser PUSHPORT_ADMIN_USERNAME if absent, with "
        "PUSHPORT_ADMIN_PASSWORD or a generated password printed once. Safe to run again. Ends "
        "with where to sign in, the user name and how to reset the password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default=DEFAULT_URL,
            help=f"The portal's address printed at the end (default {DEFAULT_URL}, runserver's).",
        )

    def handle(self, *args, url, **options):
        call_command("migrate", interactive=False, verbosity=options["verbosity"])
        username = settings.PUSHPORT_ADMIN_USERNAME
        User = get_user_model()
        if User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
            self.stdout.write(f"Admin account “{username}” already exists; password unchanged.")
            self._sign_in(url, username, "(unchanged)")
            return
        password = settings.PUSHPORT_ADMIN_PASSWORD
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        User.objects.create_superuser(**{User.USERNAME_FIELD: username}, password=password)
        self.stdout.write(self.style.SUCCESS(f"Created admin account “{username}”."))
        if generated:
            # Printed once, here; only its hash is stored.
            self.stdout.write("Store the password below now: it is not shown again.")
            self._sign_in(url, username, password)
        else:
            self._sign_in(url, username, "the one in PUSHPORT_ADMIN_PASSWORD")

    def _sign_in(self, url: str, username: str, password: str) -> None:
        # One fact a line, so each can be copied on its own.
        self.stdout.write("")
        self.stdout.write(f"URL:      {url}")
        self.stdout.write(f"username: {username}")
        self.stdout.write(f"password: {password}")
        self.stdout.write("")
        self.stdout.write(
            f"Forgot it? Set a new one with: python manage.py changepassword {username}"
        )
