"""Webhook endpoints in the console (`webhooks:manage`): add, rotate the secret, send a test
event, read the delivery log, replay one delivery or the failed ones of a range (CONTRACT §8)."""

from datetime import UTC, datetime, timedelta

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from webhooks.api.serializers import ReplayRangeSerializer, WebhookEndpointWriteSerializer
from webhooks.api.views import _require_enabled as require_enabled
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoints, sweeps
from workspaces import clock, services
from workspaces.api.base import client_ip
from workspaces.errors import TernError

from ...access import console_page
from ...feedback import show_error, show_success
from ...forms import FormState, validation_error
from ...forms.developers import endpoint_data, replay_range_data
from .common import WEBHOOKS, NewSecret, render_developers, secret_safe

PAGE_SIZE = 25
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUSES = (WebhookDelivery.PENDING, WebhookDelivery.SUCCEEDED, WebhookDelivery.FAILED)


def _endpoint(seat, endpoint_id: str) -> WebhookEndpoint:
    """The workspace's endpoint (either mode: a member may see both), or 404."""
    return get_object_or_404(WebhookEndpoint.objects.for_workspace(seat.workspace), pk=endpoint_id)


def _actor(seat):
    return services.member_actor(seat.member)


@console_page(post=WEBHOOKS)
@require_POST
def endpoint_create(request):
    """A new endpoint in the mode shown, its URL through the API's checks and SSRF guard."""
    seat, data = request.seat, endpoint_data(request.POST)
    form = WebhookEndpointWriteSerializer(data=data)
    try:
        if not form.is_valid():
            raise validation_error(form)
        endpoint, secret = endpoints.endpoint_create(
            workspace_id=seat.workspace_id,
            test=seat.is_test,
            actor=_actor(seat),
            ip=client_ip(request),
            **form.validated_data,
        )
    except TernError as error:
        show_error(request, error)
        failed = FormState.failed(data, error, field="url")
        return render_developers(request, endpoint_form=failed, status=error.http_status)
    show_success(request, f"Endpoint {endpoint.url} added.")
    secret = NewSecret(f"Signing secret for {endpoint.url}", "Signing secret", secret)
    return render_developers(request, secret=secret)


def _deliveries(request, endpoint: WebhookEndpoint):
    """One page of the endpoint's delivery log, newest first (ids sort by creation time)."""
    rows = (
        WebhookDelivery.objects.for_workspace(endpoint.workspace_id)
        .filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("attempts")
        .order_by("-id")
    )
    status = request.GET.get("status", "")
    if status in STATUSES:
        rows = rows.filter(status=status)
    if before := request.GET.get("before", ""):
        rows = rows.filter(id__lt=before)
    page = list(rows[: PAGE_SIZE + 1])
    more = page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else ""
    return page[:PAGE_SIZE], more, status


def render_endpoint(request, endpoint, *, secret=None, replay_form=None, status=200):
    """The endpoint's page: its settings, actions and delivery log."""
    deliveries, more, shown_status = _deliveries(request, endpoint)
    context = {
        "endpoint": endpoint,
        "deliveries": deliveries,
        "more": more,
        "status_filter": shown_status,
        "statuses": STATUSES,
        "secret": secret,
        "replay_form": replay_form or FormState(),
        "disable": {"enabled": "false"},
    }
    response = render(request, "console/developers_endpoint.html", context, status=status)
    return secret_safe(response, secret)


@console_page(WEBHOOKS)
def endpoint_page(request, endpoint_id: str):
    """One endpoint and its delivery log."""
    return render_endpoint(request, _endpoint(request.seat, endpoint_id))


@console_page(post=WEBHOOKS)
@require_POST
def endpoint_rotate_secret(request, endpoint_id: str):
    """A new signing secret, shown in this answer only; the old one signs for 24 more hours."""
    seat = request.seat
    endpoint = _endpoint(seat, endpoint_id)
    secret = endpoints.endpoint_rotate_secret(
        endpoint=endpoint, actor=_actor(seat), ip=client_ip(request)
    )
    show_success(request, "Secret rotated: the old one keeps signing for 24 hours.")
    shown = NewSecret(f"New signing secret for {endpoint.url}", "Signing secret", secret)
    return render_endpoint(request, endpoint, secret=shown)


@console_page(post=WEBHOOKS)
@require_POST
def endpoint_enabled(request, endpoint_id: str):
    """Turn deliveries to the endpoint on (a fresh start) or off, as the API's PATCH does."""
    seat = request.seat
    endpoint = _endpoint(seat, endpoint_id)
    enabled = request.POST.get("enabled") == "true"
    endpoints.endpoint_update(
        endpoint=endpoint, changes={"enabled": enabled}, actor=_actor(seat), ip=client_ip(request)
    )
    show_success(request, f"Endpoint {'enabled' if enabled else 'disabled'}.")
    return redirect("console:endpoint", slug=seat.workspace.slug, endpoint_id=endpoint.id)


@console_page(post=WEBHOOKS)
@require_POST
def endpoint_delete(request, endpoint_id: str):
    """Remove the endpoint and its deliveries (the events stay)."""
    seat = request.seat
    endpoint = _endpoint(seat, endpoint_id)
    endpoints.endpoint_delete(endpoint=endpoint, actor=_actor(seat), ip=client_ip(request))
    show_success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("console:developers", slug=seat.workspace.slug)


@console_page(post=WEBHOOKS)
@require_POST
def endpoint_send_test(request, endpoint_id: str):
    """Send a `ping` event to this endpoint alone."""
    seat = request.seat
    endpoint = _endpoint(seat, endpoint_id)
    try:
        require_enabled(endpoint)
        delivery = endpoints.endpoint_ping(endpoint=endpoint)
    except TernError as error:
        show_error(request, error)
    else:
        show_success(request, f"Test event sent (delivery {delivery.id}).")
    return redirect("console:endpoint", slug=seat.workspace.slug, endpoint_id=endpoint.id)


def _replay_range(endpoint: WebhookEndpoint, data: dict) -> dict:
    """Empty `From`: from the first delivery; empty `To`: until now (both: every failed one)."""
    return {
        "since": data["since"] or EPOCH,
        "until": data["until"] or clock.now() + timedelta(seconds=1),
    }


@console_page(post=WEBHOOKS)
@require_POST
def endpoint_replay(request, endpoint_id: str):
    """Queue again the endpoint's failed deliveries created between `From` and `To`."""
    seat, data = request.seat, replay_range_data(request.POST)
    endpoint = _endpoint(seat, endpoint_id)
    form = ReplayRangeSerializer(data=_replay_range(endpoint, data))
    try:
        if not form.is_valid():
            raise validation_error(form)
        require_enabled(endpoint)
        count = sweeps.endpoint_replay_failed(
            endpoint=endpoint, actor=_actor(seat), ip=client_ip(request), **form.validated_data
        )
    except TernError as error:
        show_error(request, error)
        failed = FormState.failed(data, error)
        return render_endpoint(request, endpoint, replay_form=failed, status=error.http_status)
    show_success(request, f"{count} failed deliveries queued again.")
    return redirect("console:endpoint", slug=seat.workspace.slug, endpoint_id=endpoint.id)


@console_page(post=WEBHOOKS)
@require_POST
def delivery_replay(request, delivery_id: str):
    """Deliver the same event again (same `webhook-id`), on a fresh schedule."""
    seat = request.seat
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_workspace(seat.workspace).select_related("endpoint"),
        pk=delivery_id,
    )
    try:
        require_enabled(delivery.endpoint)
        sweeps.delivery_replay(delivery=delivery, actor=_actor(seat), ip=client_ip(request))
    except TernError as error:
        show_error(request, error)
    else:
        show_success(request, f"Delivery {delivery.id} queued again.")
    return redirect("console:endpoint", slug=seat.workspace.slug, endpoint_id=delivery.endpoint_id)
