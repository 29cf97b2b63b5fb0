"""Two allauth forms, adjusted: reset finds emails in any case; activation spends its code."""

from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.internal.flows.login import record_authentication
from allauth.core import context
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import get_user_model


class ResetPasswordForm(AllauthResetPasswordForm):
    """allauth's reset form; the person is found by email compared case-insensitively."""

    def clean_email(self) -> str:
        """allauth's checks, then any active user whose email matches in another case."""
        email = super().clean_email()
        if not self.users:
            self.users = list(
                get_user_model().objects.filter(email__iexact=email.strip(), is_active=True)
            )
        return email


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """allauth's activation form; the code that activated is spent (a code is accepted once)."""

    @property
    def secret_grouped(self) -> str:
        """allauth's secret in groups of four, easier to type (authenticators ignore spaces)."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))

    def clean_code(self) -> str:
        """allauth's check, then mark the code used the way allauth's TOTP.validate_code does."""
        code = super().clean_code()
        # allauth's own marker (the key and window TOTP.validate_code uses at sign-in).
        TOTP(Authenticator(user=self.user, type=Authenticator.Type.TOTP))._mark_code_used(code)
        # The code just proved the second factor in this session: the recovery codes shown next
        # (and the admin, when it asks for two-factor) need no second check.
        record_authentication(context.request, self.user, "mfa", type="totp", reauthenticated=True)
        return code
