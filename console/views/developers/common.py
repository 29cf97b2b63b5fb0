"""What the Developers page shows: tokens, webhook endpoints and senders, by what the seat holds."""

from dataclasses import dataclass

from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from webhooks import selectors as webhook_selectors
from webhooks.api.serializers import SUBSCRIBABLE
from workspaces import clock
from workspaces import selectors as workspace_selectors
from workspaces.models import ApiToken, Sender

from ...access import Seat
from ...forms import FormState

MANAGE = "workspace:manage"
WEBHOOKS = "webhooks:manage"


@dataclass(frozen=True)
class NewSecret:
    """A secret shown in the answer to the POST that made it, and never again."""

    title: str
    label: str
    value: str


def default_mode(seat: Seat) -> str:
    """New tokens default to the mode shown (`View test data` → test)."""
    return ApiToken.TEST if seat.is_test else ApiToken.LIVE


def visible_tokens(seat: Seat):
    """Every token of the workspace for `workspace:manage`; otherwise the member's own only."""
    tokens = ApiToken.objects.for_workspace(seat.workspace).select_related("created_by__user")
    if not seat.can(MANAGE):
        tokens = tokens.filter(created_by=seat.member)
    return tokens.order_by("revoked_at", "-created_at")


def token_section(seat: Seat, form: FormState | None) -> dict:
    """Tokens listed, and the `Create token` form with the scopes this role may grant."""
    return {
        "tokens": visible_tokens(seat),
        "scope_choices": sorted(seat.scopes),
        "token_form": form or FormState(values={"mode": default_mode(seat), "scopes": []}),
        "can_manage_tokens": seat.can(MANAGE),
        "now": clock.now(),
    }


def endpoint_section(seat: Seat, form: FormState | None) -> dict:
    """Webhook endpoints of the mode shown, and the `Add endpoint` form."""
    if not seat.can(WEBHOOKS):
        return {}
    endpoints = webhook_selectors.endpoint_list(workspace_id=seat.workspace_id, test=seat.is_test)
    return {
        "endpoints": endpoints.order_by("-created_at"),
        "event_choices": SUBSCRIBABLE,
        "endpoint_form": form or FormState(values={"events": []}),
    }


def sender_section(seat: Seat, form: FormState | None) -> dict:
    """The workspace's active senders and the `Add sender` form (`workspace:manage`)."""
    if not seat.can(MANAGE):
        return {}
    senders = workspace_selectors.sender_list(workspace=seat.workspace).order_by("number")
    return {
        "senders": senders,
        "sender_kinds": Sender.KIND_CHOICES,
        "sender_form": form
        or FormState(values={"kind": Sender.LONG_CODE, "sms_capable": True, "mps": ""}),
    }


def render_developers(
    request, *, secret=None, token_form=None, endpoint_form=None, sender_form=None, status=200
):
    """The Developers page, with a just-made secret or a refused form when there is one."""
    seat = request.seat
    context = {
        "secret": secret,
        **token_section(seat, token_form),
        **endpoint_section(seat, endpoint_form),
        **sender_section(seat, sender_form),
        "can_webhooks": seat.can(WEBHOOKS),
        "can_manage": seat.can(MANAGE),
    }
    return secret_safe(render(request, "console/developers.html", context, status=status), secret)


def secret_safe(response, secret):
    """A page showing a secret is never kept by the browser's cache or back button."""
    if secret is not None:
        add_never_cache_headers(response)  # no-store included
    return response
