"""The workspace list at /w/, each workspace's dashboard, and the `View test data` switch."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from messaging.stats import dashboard_summary
from workspaces import clock

from .. import dashboard as board
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
    """Messages by status, delivery rate, spend, failures over time and running campaigns, all
    read from summaries (a fixed number of queries, however many messages)."""
    seat = request.seat
    summary = dashboard_summary(workspace=seat.workspace, test=seat.is_test, now=clock.now())
    context = {
        "summary": summary,
        "windows": list(summary.by_status),
        "today": sum(summary.by_status["today"].values()),
        "total_row": [sum(counts.values()) for counts in summary.by_status.values()],
        "rate_row": list(summary.delivery_rate.values()),
        "rate_30": summary.delivery_rate["30 days"],
        "status_chart": board.status_chart(summary),
        "status_rows": board.status_rows(summary),
        "failures": board.failure_sections(summary),
        "campaigns": board.running_campaigns(seat),
        "next_steps": board.next_steps(seat),
    }
    return render(request, "console/dashboard.html", context)


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
