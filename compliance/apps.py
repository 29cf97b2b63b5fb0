from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Consent, suppressions, quiet hours and exports."""

    name = "compliance"
