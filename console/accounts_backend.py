"""allauth's authentication backend, with emails compared case-insensitively (CONTRACT §11)."""

from allauth.account import app_settings
from allauth.account.app_settings import LoginMethod
from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth import get_user_model


class EmailBackend(AuthenticationBackend):
    """Finds the person by email in any case; allauth checks the password as always."""

    def _authenticate_by_email(self, email: str, password: str):
        """The active user with this email (any case) whose password matches, or None."""
        if not email or LoginMethod.EMAIL not in app_settings.LOGIN_METHODS:
            return None
        for user in get_user_model().objects.filter(email__iexact=email.strip()):
            found = self._check_password(user, password)
            if found:
                return found
        return None
