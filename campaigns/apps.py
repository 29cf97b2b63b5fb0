from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Contacts, templates and broadcasts."""

    name = "campaigns"

    def ready(self):
        """Plug into messaging's hooks: a contact's time zone decides its quiet hours; a reply
        with a campaign's opt-out word suppresses the number for that campaign; a paused
        campaign's messages are held at the claim (a stopped one's canceled)."""
        from messaging.hooks import (
            register_campaign_gate,
            register_inbound_handler,
            register_timezone_lookup,
        )
        from workspaces.retention import register_file_purge

        from . import tasks  # noqa: F401 - registers them: lower modules publish them by name
        from .exports import register as register_exports
        from .imports.report import import_path
        from .selectors import contact_timezone
        from .services.lifecycle import campaign_gate
        from .services.opt_out import campaign_opt_out

        register_timezone_lookup(contact_timezone)
        register_inbound_handler(campaign_opt_out)
        register_campaign_gate(campaign_gate)  # a paused or stopped campaign sends nothing
        register_exports()  # the `contacts` export kind
        register_file_purge(
            "campaigns.import_files",
            lambda: import_path("x").parent,
            "RETENTION_IMPORT_FILES_DAYS",
        )
