from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks to our customers: endpoints, events, deliveries."""

    name = "webhooks"
