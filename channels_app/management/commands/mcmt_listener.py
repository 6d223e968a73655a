"""Serve Momentum MCMT over SMTP until interrupted (see channels_app/compat/mcmt_smtp.py)."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels_app.compat import mcmt_smtp


class Command(BaseCommand):
    help = (
        "Accept Momentum MCMT messages over SMTP (AUTH PLAIN: apiSpaceId and an API key) and "
        "send their APNs parts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.PUSHPORT_MCMT_HOST)
        parser.add_argument("--port", type=int, default=settings.PUSHPORT_MCMT_PORT)
        parser.add_argument(
            "--tls-cert",
            default=settings.PUSHPORT_MCMT_TLS_CERT,
            help="PEM certificate (chain) for STARTTLS; AUTH then needs STARTTLS first.",
        )
        parser.add_argument("--tls-key", default=settings.PUSHPORT_MCMT_TLS_KEY)

    def handle(self, *args, host, port, tls_cert, tls_key, **options):
        if bool(tls_cert) != bool(tls_key):
            raise CommandError("--tls-cert and --tls-key go together")
        if not tls_cert and not mcmt_smtp.is_loopback(host):
            # Without TLS the API key crosses the network in clear.
            raise CommandError(f"listening on {host} needs --tls-cert and --tls-key")
        try:
            server = mcmt_smtp.controller(
                host=host, port=port, cert_file=tls_cert, key_file=tls_key
            )
            server.start()
        except (OSError, RuntimeError) as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from exc
        tls = "STARTTLS required" if tls_cert else "no TLS"
        self.stdout.write(f"MCMT listener on {host}:{port} ({tls}); Ctrl-C stops it")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
