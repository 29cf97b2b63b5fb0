"""API tokens in the console: every member makes and revokes their own (scopes within their role);
others' tokens need `workspace:manage` (CONTRACT §12)."""

from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from workspaces import services
from workspaces.api.base import client_ip
from workspaces.api.serializers import TokenCreateSerializer
from workspaces.errors import TernError
from workspaces.models import ApiToken

from ...access import console_page
from ...feedback import show_error, show_success
from ...forms import FormState, validation_error
from ...forms.developers import token_data
from .common import MANAGE, NewSecret, default_mode, render_developers


@console_page()
@require_POST
def token_create(request):
    """Mint a token owned by the member; its secret is in this answer only."""
    seat, data = request.seat, token_data(request.POST)
    form = TokenCreateSerializer(data={k: v for k, v in data.items() if v != ""})
    try:
        if not form.is_valid():
            raise validation_error(form)
        token, secret = services.token_create(
            creator=seat.member,
            actor=services.member_actor(seat.member),
            ip=client_ip(request),
            **{"mode": default_mode(seat), **form.validated_data},
        )
    except TernError as error:  # a scope beyond the role is the service's `forbidden`
        show_error(request, error)
        failed = FormState.failed(data, error, field="scopes")
        return render_developers(request, token_form=failed, status=error.http_status)
    show_success(request, f"Token “{token.name}” created ({token.mode}).")
    return render_developers(request, secret=NewSecret("Your new token", "Token secret", secret))


@console_page()
@require_POST
def token_revoke(request, token_id: str):
    """Revoke a token: one's own always, another member's with `workspace:manage`."""
    seat = request.seat
    token = get_object_or_404(ApiToken.objects.for_workspace(seat.workspace), pk=token_id)
    if token.created_by_id != seat.member.pk:
        seat.require(MANAGE)
    services.token_revoke(
        token=token, actor=services.member_actor(seat.member), ip=client_ip(request)
    )
    show_success(request, f"Token “{token.name}” ({token.prefix}…) revoked.")
    return redirect("console:developers", slug=seat.workspace.slug)
