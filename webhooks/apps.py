from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks to our customers: endpoints, events, deliveries."""

    name = "webhooks"

    def ready(self):
        """Register what webhooks may purge (CONTRACT §13), and its tasks with Celery."""
        # The tasks register here, in every process: events publishes them by name.
        from . import tasks  # noqa: F401
        from .retention import register

        register()
