from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_app"
    verbose_name = "Push channels"

    def ready(self):
        # sessions_app cannot import this app; POST /sessions reaches device registration here.
        from sessions_app.push import set_push_registrar

        from .devices import (
            describe_push_details,
            register_push_details,
            unregister_push_details,
        )

        set_push_registrar(
            register=register_push_details,
            unregister=unregister_push_details,
            describe=describe_push_details,
        )

        # portal cannot import this app; its pages reach the space menu and overview here.
        from .web import getting_started, install_portal_hooks

        # First on the overview: what a new space still needs.
        getting_started.install()
        install_portal_hooks()
        from portal.extensions import add_menu_entry

        add_menu_entry(label="Campaigns", url_name="space-campaigns", menu="campaigns")

        # Without a broker, the first request a server handles starts its sweeper thread.
        from django.core.signals import request_started

        from .delivery.scheduler import ensure_started

        request_started.connect(ensure_started, dispatch_uid="pushport-embedded-scheduler")

        # The last app of INSTALLED_APPS: what the process has loaded now lives as long as it.
        from portal import collector

        collector.settle()
