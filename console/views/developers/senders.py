"""Senders in the console (`workspace:manage`): add a number, remove one (CONTRACT §2)."""

from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from workspaces import selectors, services
from workspaces.api.base import client_ip
from workspaces.api.serializers import SenderSerializer
from workspaces.errors import TernError

from ...access import console_page
from ...feedback import show_error, show_success
from ...forms import FormState, validation_error
from ...forms.developers import sender_data
from .common import MANAGE, render_developers


@console_page(post=MANAGE)
@require_POST
def sender_create(request):
    """Register a number for this workspace (409 `sender_in_use` if another has it)."""
    seat, data = request.seat, sender_data(request.POST)
    form = SenderSerializer(data=data, context={"workspace": seat.workspace})
    try:
        if not form.is_valid():
            raise validation_error(form)
        sender = services.sender_create(
            workspace=seat.workspace,
            actor=services.member_actor(seat.member),
            ip=client_ip(request),
            **form.validated_data,
        )
    except TernError as error:
        show_error(request, error)
        failed = FormState.failed(data, error, field="number")
        return render_developers(request, sender_form=failed, status=error.http_status)
    show_success(request, f"Sender {sender.number} added.")
    return redirect("console:developers", slug=seat.workspace.slug)


@console_page(post=MANAGE)
@require_POST
def sender_remove(request, sender_id: str):
    """Retire a number: it stops sending here and is free for another workspace."""
    seat = request.seat
    sender = get_object_or_404(selectors.sender_list(workspace=seat.workspace), pk=sender_id)
    services.sender_remove(
        sender=sender, actor=services.member_actor(seat.member), ip=client_ip(request)
    )
    show_success(request, f"Sender {sender.number} removed.")
    return redirect("console:developers", slug=seat.workspace.slug)
