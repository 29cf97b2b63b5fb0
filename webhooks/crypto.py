"""Secrets kept reversibly (webhook signing secrets), Fernet-encrypted with FIELD_ENCRYPTION_KEY."""

import base64
import hashlib
import secrets
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    """FIELD_ENCRYPTION_KEY (comma-separated, newest first, for key rotation); without it, a key
    derived from SECRET_KEY, so the embedded default works with nothing set."""
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    if not keys:
        digest = hashlib.sha256(f"tern-field-key:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(value: str) -> str:
    """The value, encrypted (text)."""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """The value back from `encrypt`."""
    return _fernet().decrypt(token.encode()).decode()


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
