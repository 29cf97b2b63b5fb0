from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks to our customers: endpoints, events, deliveries."""

    name = "webhooks"

    def ready(self):
        """Register what webhooks may purge (CONTRACT §13)."""
        from .retention import register

        register()
