from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Consent, suppressions, quiet hours and exports."""

    name = "compliance"

    def ready(self):
        """Register the tasks with Celery, in every process: exports publishes them by name."""
        from . import tasks  # noqa: F401
        from .exports import number  # noqa: F401 - registers the `number` evidence bundle
