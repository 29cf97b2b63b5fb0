"""The join page at /join/<key>/ (CONTRACT §11): an invitation's link, or an owner's set-up link.

A new person sets `Name` and `Password` and presses `Join`; a person with an account signs in as
the invited email first (signed in as someone else, the page says so and offers `Sign out`). A
used, revoked or expired link joins nobody and says which. The owner set-up link (printed by
`create_workspace`) sets the owner's name and password with `Save`.
"""

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from workspaces import clock, invitations, members
from workspaces.errors import TernError
from workspaces.models import Invitation

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _situation(request, invitation: Invitation) -> str:
    """What the page offers: a form (`new`/`setup`), `join` as oneself, `sign_in`, `other`."""
    if invitation.kind == Invitation.OWNER_SETUP:
        return "setup"
    existing = members.user_by_email(invitation.email)
    signed_in = request.user.is_authenticated
    if existing is None:
        return "other" if signed_in else "new"
    if signed_in:
        return "join" if request.user.pk == existing.pk else "other"
    return "sign_in"


@never_cache
def join(request, key: str):
    """Show the invitation's state and what to do; POST accepts it."""
    invitation = invitations.invitation_for_key(key)
    if invitation is None:
        return render(request, "console/join.html", {"state": "unknown"}, status=404)
    state = invitation.status_at(clock.now())
    context = {"invitation": invitation, "state": state, "path": request.path, "errors": {}}
    if state != Invitation.PENDING:
        return render(request, "console/join.html", context)
    situation = _situation(request, invitation)
    context["situation"] = situation
    if request.method == "POST" and situation in ("new", "setup", "join"):
        return _accept(request, invitation, context)
    return render(request, "console/join.html", context)


def _accept(request, invitation: Invitation, context: dict):
    """Join (or set the owner's password), sign in, and land on the workspace's dashboard."""
    name, password = request.POST.get("name", ""), request.POST.get("password", "")
    user = request.user if context["situation"] == "join" else None
    try:
        membership = invitations.invitation_accept(
            invitation=invitation, user=user, name=name, password=password
        )
    except TernError as error:
        context.update(error=error, errors=error.details, name=name)
        # 200, not the error's status: Django logs 4xx responses with their path, and the path
        # holds a key that still works.
        return render(request, "console/join.html", context)
    if context["situation"] != "join":
        login(request, membership.user, backend=BACKEND)
    return redirect("console:dashboard", slug=invitation.workspace.slug)
