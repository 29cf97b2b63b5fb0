"""One permission class for the scope table of CONTRACT §2: each view names its scopes."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import BasePermission

from .errors import TernError
from .scopes import MANAGER_ROLES


def _handles(view, request) -> bool:
    method = request.method.lower()
    if hasattr(view, "action"):
        return view.action is not None
    return method in view.http_method_names and hasattr(view, method)


def required_scope(view, request) -> str | None:
    """The scope this request needs: `view.required_scopes[action or method]`.

    None for OPTIONS (open to anyone, see HasScope); 405 for a method the view lacks.
    """
    if not _handles(view, request):
        raise MethodNotAllowed(request.method)
    if request.method == "OPTIONS":
        return None
    scopes = getattr(view, "required_scopes", None)
    if scopes is None:
        raise ImproperlyConfigured(f"{type(view).__name__} declares no required_scopes")
    key = getattr(view, "action", None) or (
        "get" if request.method == "HEAD" else request.method.lower()
    )
    if key not in scopes and request.method.lower() in scopes:
        key = request.method.lower()
    if key not in scopes:
        raise ImproperlyConfigured(f"{type(view).__name__} declares no scope for {key!r}")
    return scopes[key]


TEST_TOKEN = "test_token"


def require_live_token(token, action: str) -> None:
    """A test token never reaches live things (CONTRACT §2): 403 with `reason: test_token`.

    The one guard for every such action: live tokens, members, invitations, senders and the
    workspace's settings. Views declare theirs in `live_only`; services call it directly.
    """
    if token is not None and token.is_test:
        raise TernError(
            "forbidden",
            f"A test token may not {action}; use a live token.",
            details={"reason": TEST_TOKEN},
        )


def _live_only(view, request) -> str | None:
    """What the view's `live_only` ({action or method: words}) says this request would do."""
    key = getattr(view, "action", None) or request.method.lower()
    return getattr(view, "live_only", {}).get(key)


class HasScope(BasePermission):
    """Authenticated, the token carries the scope the view declares for this action, and a
    test token is not asking for one of the view's `live_only` actions."""

    def has_permission(self, request, view):
        """`unauthorized` without a token, `forbidden` without the scope; OPTIONS is open."""
        if request.method == "OPTIONS":
            return True  # describes the route only (TernMetadata); CONTRACT §3: never 401
        if getattr(request, "token", None) is None:
            raise TernError("unauthorized", "Send `Authorization: Bearer <token>`.")
        scope = required_scope(view, request)
        if scope is not None and scope not in request.scopes:
            raise TernError(
                "forbidden",
                f"This token lacks the `{scope}` scope.",
                details={"required_scope": scope},
            )
        if scope is not None and (what := _live_only(view, request)):
            require_live_token(request.token, what)
        return True


def require_manager_role(request, action: str) -> None:
    """Some actions need an owner or admin behind the token, whatever its scopes."""
    role = request.token.created_by.role
    if role not in MANAGER_ROLES:
        raise TernError(
            "forbidden",
            f"Only an owner or admin may {action}.",
            details={"required_role": "owner or admin", "role": role},
        )
