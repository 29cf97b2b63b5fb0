"""Sign-in helpers for the accounts tests: passwords, TOTP codes from allauth's own functions."""

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache

PASSWORD = "correct horse battery staple"


def with_password(user, password: str = PASSWORD):
    """The user, now with this password."""
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def totp_code(secret: str, *, at: float | None = None, steps: int = 0) -> str:
    """The 6-digit code of `secret` for the period holding `at` (now), `steps` periods on."""
    counter = int(at if at is not None else time.time()) // mfa_settings.TOTP_PERIOD + steps
    return format_hotp_value(hotp_value(secret.replace(" ", ""), counter))


def enable_two_factor(user) -> tuple[str, list[str]]:
    """Turn on TOTP for the user the way allauth does: its secret and the ten recovery codes."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).generate_codes()
    return secret, codes


@pytest.fixture
def clean_cache():
    """Rate limits, locks and used codes live in the shared cache: start each test without any."""
    cache.clear()
    yield
    cache.clear()
