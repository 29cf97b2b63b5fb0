from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    """Tenancy, tokens, senders, the error catalogue and the audit log."""

    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"
