from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Contacts, templates and broadcasts."""

    name = "campaigns"

    def ready(self):
        """Plug into messaging's hooks: a contact's time zone decides its quiet hours; a reply
        with a campaign's opt-out word suppresses the number for that campaign; a paused
        campaign's messages are held at the claim (a stopped one's canceled)."""
        from messaging.hooks import CAMPAIGN_GATES, INBOUND_HANDLERS, TIMEZONE_LOOKUPS

        from .selectors import contact_timezone
        from .services import campaign_gate, campaign_opt_out

        if contact_timezone not in TIMEZONE_LOOKUPS:
            TIMEZONE_LOOKUPS.append(contact_timezone)
        if campaign_opt_out not in INBOUND_HANDLERS:
            INBOUND_HANDLERS.append(campaign_opt_out)
        if campaign_gate not in CAMPAIGN_GATES:  # a paused or stopped campaign sends nothing
            CAMPAIGN_GATES.append(campaign_gate)
