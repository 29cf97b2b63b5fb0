from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Messages, their timelines, the send policy, pricing and providers."""

    name = "messaging"
