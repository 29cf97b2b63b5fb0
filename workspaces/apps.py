from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    """Tenancy, tokens, senders, the error catalogue and the audit log."""

    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        """Mail written to files (the embedded default's backend) is kept RETENTION_MAIL_DAYS."""
        from pathlib import Path

        from django.conf import settings

        from .retention import register_file_purge

        register_file_purge(
            "workspaces.mail_files",
            lambda: Path(getattr(settings, "EMAIL_FILE_PATH", settings.VAR_DIR / "mail")),
            "RETENTION_MAIL_DAYS",
        )
