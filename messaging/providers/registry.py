"""The providers Tern may send through: registered by name in settings.SMS_PROVIDERS.

A provider is a package under any importable path (RapidPro's `channels/types/<name>/`): its
Provider subclass, named in SMS_PROVIDERS, and beside it, when it needs them, a `models` module
(loaded with messaging's models) and the callback routes its `callback_urls` names.
"""

import importlib.util
from functools import cache

from django.conf import settings
from django.urls import include, path
from django.utils.module_loading import import_string

from .base import Provider


@cache
def get_provider(name: str) -> Provider:
    """The provider registered under this name."""
    return import_string(settings.SMS_PROVIDERS[name])()


def registered_providers() -> list[Provider]:
    """Every registered provider, in the order of SMS_PROVIDERS."""
    return [get_provider(name) for name in settings.SMS_PROVIDERS]


def provider_name_for(workspace, *, test: bool) -> str:
    """Test tokens always use SMS_TEST_PROVIDER; a workspace's own provider overrides
    SMS_PROVIDER."""
    if test:
        return settings.SMS_TEST_PROVIDER
    return workspace.provider or settings.SMS_PROVIDER


def provider_model_modules() -> list[str]:
    """The `models` module of each provider package that has one (read before apps are ready,
    so found by name, without importing the provider)."""
    modules = []
    for dotted in settings.SMS_PROVIDERS.values():
        package = dotted.rsplit(".", 2)[0]
        if importlib.util.find_spec(f"{package}.models") is not None:
            modules.append(f"{package}.models")
    return modules


def provider_hooks() -> list:
    """URL patterns mounting each provider's callbacks at hooks/<name>/."""
    return [
        path(f"hooks/{provider.name}/", include(provider.callback_urls))
        for provider in registered_providers()
        if provider.callback_urls
    ]


def providers_ready() -> None:
    """Let each registered provider plug into the loaded apps."""
    for provider in registered_providers():
        provider.ready()
