"""The workspace list at /w/, each workspace's dashboard, and the `View test data` switch."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..access import TEST_DATA_SESSION_KEY, console_page, memberships_of


@login_required
def workspace_list(request):
    """One workspace: straight to its dashboard; several: the list; none: a page that says so."""
    memberships = memberships_of(request.user)
    if len(memberships) == 1:
        return redirect("console:dashboard", slug=memberships[0].workspace.slug)
    return render(request, "console/workspace_list.html", {"memberships": memberships})


@console_page()
def dashboard(request):
    """The workspace's dashboard (the summaries arrive with the dashboard work)."""
    return render(request, "console/dashboard.html")


@console_page()
@require_POST
def test_data_switch(request):
    """Show test or live data in this workspace; Send and Launch act in the mode shown."""
    seat = request.seat
    shown = dict(request.session.get(TEST_DATA_SESSION_KEY, {}))
    shown[seat.workspace_id] = request.POST.get("test") == "1"
    request.session[TEST_DATA_SESSION_KEY] = shown
    back = request.POST.get("next", "")
    if back.startswith(f"/w/{seat.workspace.slug}/") and "//" not in back:
        return redirect(back)  # only a page of this workspace: never an open redirect
    return redirect("console:dashboard", slug=seat.workspace.slug)
