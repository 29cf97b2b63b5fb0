from importlib import import_module

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Messages, their timelines, the send policy, pricing and providers."""

    name = "messaging"

    def import_models(self):
        """messaging's models, then each registered provider's own (its ledger, for one)."""
        super().import_models()
        from .providers.registry import provider_model_modules

        for module in provider_model_modules():
            import_module(module)

    def ready(self):
        """Plug into the hooks the lower apps offer (they may not import messaging)."""
        from webhooks.hooks import register_delivery_finished

        # The tasks register with Celery here, in every process: lifecycle publishes them by name.
        from . import tasks  # noqa: F401
        from .exports import register as register_exports
        from .numbers import register as register_number_story
        from .providers.registry import providers_ready
        from .retention import register as register_purges
        from .timeline import record_webhook_outcome

        register_delivery_finished(record_webhook_outcome)
        register_exports()
        register_number_story()
        register_purges()
        providers_ready()
