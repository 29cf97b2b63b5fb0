"""Whether a person has two-factor (allauth.mfa's TOTP), for any page or service that asks."""

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled


def has_two_factor(user) -> bool:
    """True when the person has an active TOTP authenticator (recovery codes come with it)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_mfa_enabled(user, [Authenticator.Type.TOTP])


def session_used_two_factor(request, user=None) -> bool:
    """True when this session's sign-in (or a later re-check) passed a two-factor code."""
    records = get_authentication_records(request, user or request.user)
    return any(record.get("method") == "mfa" for record in records)
