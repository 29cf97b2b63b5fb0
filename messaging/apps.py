from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Messages, their timelines, the send policy, pricing and providers."""

    name = "messaging"

    def ready(self):
        """Plug into the hooks the lower apps offer (they may not import messaging)."""
        from webhooks.hooks import register_delivery_finished

        from .exports import register as register_exports
        from .retention import register as register_purges
        from .timeline import record_webhook_outcome

        register_delivery_finished(record_webhook_outcome)
        register_exports()
        register_purges()
