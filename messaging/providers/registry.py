"""Which provider serves a message: test → simulator, else the workspace's, else settings."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import Provider

PROVIDERS = {
    "simulator": "messaging.providers.simulator.provider.SimulatorProvider",
    "twilio": "messaging.providers.twilio.provider.TwilioProvider",
}


@cache
def get_provider(name: str) -> Provider:
    """The provider registered under this name."""
    return import_string(PROVIDERS[name])()


def provider_name_for(workspace, *, test: bool) -> str:
    """Test tokens always use the simulator; a workspace's own provider overrides SMS_PROVIDER."""
    if test:
        return "simulator"
    return workspace.provider or settings.SMS_PROVIDER
