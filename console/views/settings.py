"""The Settings page (CONTRACT §12): the workspace's settings as `GET/PATCH /api/v1/workspace`
has them, validated by the same serializer and saved, audited, by the same service."""

from functools import lru_cache
from zoneinfo import available_timezones

from django.shortcuts import redirect, render

from workspaces import selectors, services
from workspaces.api.base import client_ip
from workspaces.api.serializers import WorkspaceSerializer

from ..access import console_page
from ..feedback import show_error, show_success
from ..forms import field_errors, validation_error
from ..forms.settings import form_data, form_fields

MANAGE = "workspace:manage"


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    """IANA time zone names, offered as one types a `Time zone` (the serializer decides)."""
    return sorted(available_timezones())


def _render(request, *, values=None, errors=None, status=200):
    seat = request.seat
    current = WorkspaceSerializer(seat.workspace).data
    context = {
        "fields": form_fields(seat.workspace, current, values=values, errors=errors),
        "can_edit": seat.can(MANAGE),
        "senders": selectors.sender_list(workspace=seat.workspace).order_by("number"),
        "facts": current,
        "zone_names": zone_names(),
    }
    return render(request, "console/settings.html", context, status=status)


@console_page(MANAGE, post=MANAGE)
def settings_page(request):
    """The workspace's settings, read and changed with `workspace:manage` (as the API's
    GET/PATCH /workspace): a role without it is not shown the page (CONTRACT §12)."""
    if request.method != "POST":
        return _render(request)
    seat, data = request.seat, form_data(request.POST)
    form = WorkspaceSerializer(seat.workspace, data=data, partial=True)
    if not form.is_valid():
        show_error(request, validation_error(form))
        return _render(request, values=data, errors=field_errors(form.errors), status=400)
    workspace = services.workspace_update(
        workspace=seat.workspace,
        actor=services.member_actor(seat.member),
        changes=form.validated_data,
        ip=client_ip(request),
    )
    show_success(request, "Settings saved.")
    return redirect("console:settings", slug=workspace.slug)
