"""Bearer-token authentication: sets request.workspace, request.token and request.scopes."""

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from . import clock
from .errors import TernError
from .models import ApiToken
from .scopes import scopes_for_role
from .services import TOKEN_PREFIXES, hash_secret, token_touch

_PREFIXES = tuple(TOKEN_PREFIXES.values())


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer tern_live_…`; effective scopes = the token's ∩ its creator's role."""

    keyword = "Bearer"
    www_authenticate_realm = "api"

    def authenticate(self, request):
        """Return (member user, token) or raise `unauthorized`; no header at all → None."""
        if request.method == "OPTIONS":
            return None  # OPTIONS answers anyone, whatever the header holds (CONTRACT §3)
        header = get_authorization_header(request).decode("latin-1").split()
        if not header:
            return None
        if len(header) != 2 or header[0] != self.keyword or not header[1].startswith(_PREFIXES):
            raise TernError("unauthorized", "The Authorization header must be `Bearer <token>`.")
        token = self._active_token(header[1])
        request._request.workspace = request.workspace = token.workspace
        request._request.token = request.token = token
        request.scopes = frozenset(token.scopes) & scopes_for_role(token.created_by.role)
        token_touch(token=token)
        return (token.created_by.user, token)

    def _active_token(self, secret: str) -> ApiToken:
        token = (
            ApiToken.objects.select_related("workspace", "created_by__user")
            .filter(secret_hash=hash_secret(secret))
            .first()
        )
        if token is None:
            raise TernError("unauthorized", _("The token is not recognised."))
        if token.revoked_at is not None:
            raise TernError("unauthorized", "The token has been revoked.")
        if token.expires_at is not None and token.expires_at <= clock.now():
            raise TernError("unauthorized", "The token has expired.")
        if token.created_by.removed_at is not None or not token.created_by.user.is_active:
            raise TernError("unauthorized", "The token's creator is no longer active.")
        return token

    def authenticate_header(self, request):
        """Makes DRF answer 401 (not 403) when credentials are missing."""
        return f'{self.keyword} realm="{self.www_authenticate_realm}"'
