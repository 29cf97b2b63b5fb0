"""/account/ and /account/two-factor/: the person's own page, around allauth's views (§11)."""

from allauth.account.internal.flows.logout import logout
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.views import activate_totp
from allauth.usersessions.internal.flows.sessions import end_sessions
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workspaces.errors import TernError
from workspaces.people import person_rename

from .accounts_records import recent_sign_ins
from .feedback import show_error, show_success
from .forms import FormState
from .two_factor import has_two_factor


@login_required
def account(request):
    """Name (edited with `Save`), email, password change, two-factor, sessions, sign-ins."""
    if request.method != "POST":
        return _render_account(request, FormState(values={"name": request.user.get_full_name()}))
    name = request.POST.get("name", "")
    try:
        person_rename(user=request.user, name=name)
    except TernError as error:
        show_error(request, error)
        return _render_account(request, FormState.failed({"name": name}, error), status=400)
    show_success(request, "Name saved.")
    return redirect("account")


def _render_account(request, state: FormState, status: int = 200):
    user = request.user
    sessions = sorted(
        UserSession.objects.purge_and_list(user), key=lambda s: s.last_seen_at, reverse=True
    )
    context = {
        "name": state,
        "two_factor": has_two_factor(user),
        "sessions": sessions,
        "current_key": request.session.session_key,
        "sign_ins": recent_sign_ins(user),
    }
    return render(request, "console/account.html", context, status=status)


@login_required
@require_POST
def sign_out_everywhere(request):
    """End every session of the person, this one included (allauth's user-sessions flow)."""
    end_sessions(request, list(UserSession.objects.filter(user_id=request.user.pk)))
    if request.user.is_authenticated:  # this session was not tracked yet: end it too
        logout(request, show_message=False)
    messages.success(request, "Signed out everywhere.")
    return redirect("account_login")


@login_required
def two_factor(request):
    """Without two-factor: allauth's set-up (secret, QR, `Code`, `Activate`); else its state."""
    if not has_two_factor(request.user):
        return activate_totp(request)
    codes = Authenticator.objects.filter(
        user=request.user, type=Authenticator.Type.RECOVERY_CODES
    ).first()
    left = len(codes.wrap().get_unused_codes()) if codes else 0
    return render(request, "console/account_two_factor.html", {"codes_left": left})
