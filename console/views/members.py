"""The Members page (CONTRACT §11, §12): members and roles, invitations, and their actions.

Every member sees their own membership and may leave; the list of members and invitations, like
`GET /api/v1/members`, needs `workspace:manage` (CONTRACT §12: a page shows what the API would).
Each action goes through the same services as the API, which weigh the role rules; a forged action
the page would not have shown (e.g. an admin removing an owner) answers 403, like a missing scope.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workspaces import clock, invitations, members, selectors
from workspaces.errors import TernError
from workspaces.models import Invitation, Membership
from workspaces.scopes import OWNER, ROLE_CHOICES
from workspaces.services import member_actor

from ..access import console_page
from ..feedback import show_error, show_success

MANAGE = "workspace:manage"
RANK = members.ROLE_RANK


def _row(seat, member: Membership, roles: list[str]) -> dict:
    """One member with the actions this seat may take on them."""
    me, manage = seat.member, seat.can(MANAGE)
    mine = member.pk == me.pk
    reachable = manage and not mine and RANK[member.role] <= RANK[me.role]
    is_owner = me.role == OWNER and not mine
    return {
        "m": member,
        "mine": mine,
        "roles": roles if reachable else [],
        "remove": reachable,
        "make_owner": is_owner and member.role != OWNER,
        "reset_two_factor": is_owner and member.has_two_factor,
    }


@console_page()
def members_page(request):
    """Members with their roles and actions, the invite form and the pending invitations."""
    seat = request.seat
    if not seat.can(MANAGE):  # only their own membership, and the way out
        me = selectors.member_list(workspace=seat.workspace).get(pk=seat.member.pk)
        context = {"rows": [_row(seat, me, [])], "invitations": [], "can_manage": False}
        return render(request, "console/members.html", context)
    labels = dict(ROLE_CHOICES)
    roles = [(r, labels[r].capitalize()) for r in members.roles_up_to(seat.member.role)]
    now = clock.now()
    pending = [
        i
        for i in selectors.invitation_list(workspace=seat.workspace).filter(status="pending")
        if i.status_at(now) == Invitation.PENDING
    ]
    context = {
        "rows": [_row(seat, m, roles) for m in selectors.member_list(workspace=seat.workspace)],
        "invitations": pending,
        "can_manage": seat.can(MANAGE),
        "roles": roles,
    }
    return render(request, "console/members.html", context)


def _act(request, action, success: str, *, to: str = "console:members"):
    """Run a service; its catalogue error shown (forbidden: 403), then back to the page."""
    try:
        action(actor=member_actor(request.seat.member), ip=request.META.get("REMOTE_ADDR"))
    except TernError as error:
        if error.code == "forbidden":
            raise PermissionDenied(error.message) from error
        show_error(request, error)
        return redirect("console:members", slug=request.seat.workspace.slug)
    show_success(request, success)
    return redirect(to, slug=request.seat.workspace.slug) if to else redirect("console:workspaces")


def _member(request, member_id: str) -> Membership:
    """A current member of this workspace, or 404 (another workspace's id included)."""
    found = (
        Membership.objects.current()
        .for_workspace(request.seat.workspace)
        .filter(pk=member_id)
        .select_related("user")
        .first()
    )
    if found is None:
        raise Http404("No such member.")
    return found


@console_page(post=MANAGE)
@require_POST
def invite(request):
    """Invite an email with a role (at most one's own); the link goes by mail."""
    email = request.POST.get("email", "").strip()
    role = request.POST.get("role", "")
    return _act(
        request,
        lambda **who: invitations.invitation_create(
            acting=request.seat.member, email=email, role=role, **who
        ),
        f"Invitation sent to {email.lower()}.",
    )


@console_page(post=MANAGE)
@require_POST
def invitation_revoke(request, invitation_id: str):
    """Revoke a pending invitation: its link joins nobody."""
    invitation = (
        Invitation.objects.for_workspace(request.seat.workspace)
        .filter(pk=invitation_id, kind=Invitation.INVITE)
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    return _act(
        request,
        lambda **who: invitations.invitation_revoke(invitation=invitation, **who),
        f"Invitation to {invitation.email} revoked.",
    )


@console_page(post=MANAGE)
@require_POST
def role_change(request, member_id: str):
    """Give a member another role (never above one's own)."""
    target, role = _member(request, member_id), request.POST.get("role", "")
    return _act(
        request,
        lambda **who: members.member_role_change(
            acting=request.seat.member, member=target, role=role, **who
        ),
        f"{target.user.email} is now {role.replace('_', ' ')}.",
    )


@console_page(post=MANAGE)
@require_POST
def remove(request, member_id: str):
    """Remove a member; their API tokens are revoked."""
    target = _member(request, member_id)
    return _act(
        request,
        lambda **who: members.member_remove(acting=request.seat.member, member=target, **who),
        f"{target.user.email} was removed.",
    )


@console_page(post=MANAGE)
@require_POST
def make_owner(request, member_id: str):
    """Hand ownership to a member (owner only); one becomes an admin."""
    target = _member(request, member_id)
    return _act(
        request,
        lambda **who: members.ownership_transfer(acting=request.seat.member, member=target, **who),
        f"{target.user.email} is now the owner; you are an admin.",
    )


@console_page(post=MANAGE)
@require_POST
def reset_two_factor(request, member_id: str):
    """Remove a member's two-factor (owner only): they set it up again."""
    target = _member(request, member_id)
    return _act(
        request,
        lambda **who: members.two_factor_reset(acting=request.seat.member, member=target, **who),
        f"Two-factor of {target.user.email} was reset.",
    )


@console_page()
@require_POST
def leave(request):
    """Leave this workspace (any member but its last owner)."""
    return _act(
        request,
        lambda **who: members.member_leave(member=request.seat.member, **who),
        f"You left {request.seat.workspace.name}.",
        to="",
    )
