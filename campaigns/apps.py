from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Contacts, templates and broadcasts."""

    name = "campaigns"

    def ready(self):
        """A contact's time zone decides its quiet hours (messaging asks through its hook)."""
        from messaging.services import TIMEZONE_LOOKUPS

        from .selectors import contact_timezone

        if contact_timezone not in TIMEZONE_LOOKUPS:
            TIMEZONE_LOOKUPS.append(contact_timezone)
