from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_app"
    verbose_name = "Push channels"
