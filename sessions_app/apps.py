from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sessions_app"
    verbose_name = "App Messaging sessions"

    def ready(self):
        # Registers the OpenAPI descriptions of the authentication schemes.
        from . import schema  # noqa: F401
