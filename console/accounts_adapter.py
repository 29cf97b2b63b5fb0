"""allauth's account adapter for Tern: no sign-up, Tern's words, and a 15-minute lock per email.

allauth's `login_failed` limit (10 per 15 min per email, any address) refuses the eleventh attempt;
the lock here keeps the email refused for 15 minutes from the tenth failure, a correct password
included, and the page reads the same whether or not the email belongs to anyone.
"""

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context, ratelimit
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

LOCKED = (
    "Too many failed sign-ins for this email: it is locked for 15 minutes. "
    "Try again later, or reset the password."
)
MISMATCH = "The email and password do not match an account, or the account is locked."


def _lock_key(email: str) -> str:
    """The cache key holding one email's sign-in lock."""
    return f"tern:signin-lock:{email.strip().lower()}"


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up closed (people arrive by invitation or create_workspace); the lockout held 15 min."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": LOCKED,
        "email_password_mismatch": "The email and password do not match.",
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Nobody signs up: there is no public sign-up (CONTRACT §11)."""
        return False

    def get_password_change_redirect_url(self, request: HttpRequest) -> str:
        """Back to /account/ after changing the password."""
        return "/account/"

    def pre_authenticate(self, request: HttpRequest, **credentials) -> None:
        """Refuse a locked email before its password is even checked."""
        email = credentials.get("email") or credentials.get("username") or ""
        if cache.get(_lock_key(email), 0) > time.time():
            raise self.validation_error("too_many_login_attempts")
        super().pre_authenticate(request, **credentials)

    def authentication_failed(self, request: HttpRequest, **credentials) -> None:
        """After a failure, lock the email for 15 minutes once its failures reach the limit."""
        super().authentication_failed(request, **credentials)
        key = self._get_login_attempts_cache_key(request, **credentials)
        if not ratelimit.consume(request, action="login_failed", key=key, dry_run=True):
            email = credentials.get("email") or credentials.get("username") or ""
            # The end time is the value (the cache's own expiry only tidies up after it).
            until = time.time() + settings.LOGIN_LOCKOUT_SECONDS
            cache.set(_lock_key(email), until, timeout=settings.LOGIN_LOCKOUT_SECONDS)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Setting up two-factor needs no re-check; removing it (or its codes) asks for a code."""
        if app == "allauth.mfa":
            from console.two_factor import has_two_factor

            return has_two_factor(context.request.user)
        return super().is_reauthentication_required(app=app, **kwargs)
