"""What every bench's server processes share: production settings, and a clean stop."""

import secrets
import subprocess

from cryptography.fernet import Fernet


def production_environment(database_url: str) -> dict[str, str]:
    """Settings of a production deployment on this database, with secrets of the run's own.

    Production refuses development secrets; the callers speak plain HTTP to the servers, as
    from behind a TLS proxy.
    """
    return {
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PUSHPORT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PUSHPORT_SESSION_TOKEN_KEY": secrets.token_urlsafe(32),
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate the processes, killing any that has not ended after 20 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
