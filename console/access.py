"""One door for every console view: the URL's slug and the session's person become a Seat, or 404.

The console's counterpart of `visible_to`: a member of workspace B asking for anything of
workspace A, an unknown slug and an object of another workspace all get the same 404 (CONTRACT §12).
A page shows an action only when the seat holds the scope the API would ask for, and a POST checks
it again. Every page runs in the workspace's time zone (CONTRACT §12).
"""

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone

from workspaces.clock import workspace_zone
from workspaces.models import Membership, Workspace
from workspaces.scopes import MANAGER_ROLES, scopes_for_role

from .two_factor import has_two_factor

TEST_DATA_SESSION_KEY = "console_test_data"
SESSION_ENDED = (
    "Your session ended before the form was sent, so nothing was saved. Sign in and send it again."
)


@dataclass(frozen=True)
class Seat:
    """A member's place in one workspace, as the console sees it (the mode shown included)."""

    workspace: Workspace
    member: Membership
    is_test: bool

    @property
    def workspace_id(self) -> str:
        """The workspace's id: a Seat reads data the way a token of its mode would."""
        return self.workspace.id

    @property
    def scopes(self) -> frozenset[str]:
        """Every scope the member's role holds."""
        return scopes_for_role(self.member.role)

    @property
    def is_manager(self) -> bool:
        """Owner or admin: the roles that remove suppressions, create exports, manage members."""
        return self.member.role in MANAGER_ROLES

    def can(self, scope: str) -> bool:
        """True when a token holding every scope of this role could do it."""
        return scope in self.scopes

    def require(self, scope: str) -> None:
        """403 unless the role holds the scope (a posted action the page would not have shown)."""
        if not self.can(scope):
            raise PermissionDenied(f"Your role may not use {scope}.")

    def require_manager(self) -> None:
        """403 unless owner or admin."""
        if not self.is_manager:
            raise PermissionDenied("Only an owner or admin may do this.")


def memberships_of(user) -> list[Membership]:
    """The person's memberships, their workspaces loaded, by workspace name."""
    return list(
        Membership.objects.current()
        .filter(user=user)
        .select_related("workspace")
        .order_by("workspace__name", "workspace__slug")
    )


def seat_for(request, slug: str) -> Seat:
    """The signed-in person's seat in the workspace named by the slug, or 404."""
    member = (
        Membership.objects.current()
        .filter(workspace__slug=slug, user=request.user)
        .select_related("workspace", "user")
        .first()
    )
    if member is None:
        raise Http404("No such workspace.")
    is_test = bool(request.session.get(TEST_DATA_SESSION_KEY, {}).get(member.workspace_id))
    return Seat(workspace=member.workspace, member=member, is_test=is_test)


def needs_two_factor(request) -> bool:
    """The workspace requires two-factor and this person has none yet (tokens are unaffected)."""
    if not request.seat.workspace.require_two_factor:
        return False
    return not has_two_factor(request.user)


def in_workspace_time(view, request, *args, **kwargs):
    """Run the view with the workspace's zone as the current one, so pages show its times and
    naive `datetime-local` inputs are read in it; a lazy response (htmx partials) renders inside."""
    with timezone.override(workspace_zone(request.seat.workspace)):
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        return response


MANAGER = "manager"  # `post=MANAGER`: only owner/admin may post (CONTRACT §2's role rules)


def console_page(scope: str | None = None, *, post: str | None = None):
    """Decorate a view taking `slug`: sign-in, `request.seat`, `scope` to see it, `post` to POST.

    `post` is the scope a POST needs (or MANAGER); the view may check more itself. Both are kept on
    the view so the URLconf walk in the tests can prove every action refuses a role without them.
    """

    def decorate(view):
        @wraps(view)
        def wrapped(request, slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                if request.method == "POST":  # a form posted after its session ended says so
                    messages.warning(request, SESSION_ENDED)
                return redirect_to_login(request.get_full_path())
            request.seat = seat_for(request, slug)
            if needs_two_factor(request):
                messages.info(request, "This workspace requires two-factor: set it up to continue.")
                return redirect("/account/two-factor/")
            if scope is not None:
                request.seat.require(scope)
            if request.method == "POST" and post is not None:
                if post == MANAGER:
                    request.seat.require_manager()
                else:
                    request.seat.require(post)
            return in_workspace_time(view, request, *args, **kwargs)

        wrapped.console_scope, wrapped.console_post = scope, post
        return wrapped

    return decorate
