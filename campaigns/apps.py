from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Contacts, templates and broadcasts."""

    name = "campaigns"
