"""Messaging fixtures: a real fake Twilio server that the settings point at."""

import secrets
import uuid

import pytest

from ..support.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio(settings):
    """A running FakeTwilio; TWILIO_API_BASE, _ACCOUNT_SID and _AUTH_TOKEN point at it."""
    with FakeTwilio(account_sid="AC" + uuid.uuid4().hex, auth_token=secrets.token_hex(16)) as fake:
        settings.TWILIO_API_BASE = fake.base_url
        settings.TWILIO_ACCOUNT_SID = fake.account_sid
        settings.TWILIO_AUTH_TOKEN = fake.auth_token
        yield fake
