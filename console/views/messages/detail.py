"""One message's page: its steps, gate decisions, error, provider log and webhook deliveries,
with `Cancel message` and `Replay` posting through the API's services."""

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from messaging.actions.dispatch import message_cancel
from messaging.admin.timeline import error_block, human_gap, timeline_rows
from messaging.models import Message, Status
from messaging.provider_log import provider_log_list
from webhooks.selectors import delivery_list
from webhooks.services.sweeps import delivery_replay
from workspaces.api.base import client_ip
from workspaces.errors import TernError
from workspaces.services import member_actor

from ...access import console_page
from ...feedback import show_error, show_success

# The five steps of an outbound message (CONTRACT §12), each with the events that reach it.
STEPS = (
    ("API request received", ("api_request_received",)),
    ("Queued", ("queued",)),
    ("Sent to carrier", ("sent_to_carrier",)),
    ("Delivered", ("delivered", "undelivered", "failed", "canceled")),
    ("Webhook delivered", ("webhook_delivered", "webhook_failed")),
)
# Events that record a gate's decision and what it relied on.
GATE_EVENTS = frozenset(
    {"policy_passed", "held_quiet_hours", "held_campaign_paused", "suppressed", "review_opened"}
)
CANCELABLE = frozenset({Status.SCHEDULED, Status.QUEUED})


def message_get(seat, message_id: str) -> Message:
    """The workspace's message (either mode: a link may cross the switch), or 404."""
    return get_object_or_404(Message.objects.for_workspace(seat.workspace_id), pk=message_id)


def steps_of(events) -> list[dict]:
    """Each step with the first event that reached it, its time and the gap from the step
    before that was reached; a step not reached yet has no event."""
    steps, previous = [], None
    for label, names in STEPS:
        event = next((e for e in events if e.event in names), None)
        gap = human_gap((event.at - previous).total_seconds()) if event and previous else ""
        name = event.event.replace("_", " ") if event and event.event != names[0] else ""
        steps.append({"label": label, "event": event, "gap": gap, "outcome": name})
        previous = event.at if event else previous
    return steps


def gate_decisions(events) -> list[dict]:
    """The gate decisions in order, each with what it relied on."""
    return [
        {"event": e.event.replace("_", " "), "at": e.at, "relied_on": sorted(e.detail.items())}
        for e in events
        if e.event in GATE_EVENTS or e.event.startswith("policy_")
    ]


def message_deliveries(message: Message):
    """The message's webhook deliveries (its mode's endpoints), oldest first.

    Events about a message are never older than it: the time bound keeps the scan to the
    events written since (evt_ws_created), as the admin's lookup by `data.id` does not."""
    return (
        delivery_list(workspace_id=message.workspace_id, test=message.test)
        .filter(event__created_at__gte=message.created_at, event__data__id=message.id)
        .select_related("endpoint")
        .order_by("created_at", "id")
    )


@console_page("messages:read")
def message_detail(request, message_id: str):
    """The message's timeline as steps, gates, error, provider log and deliveries."""
    seat = request.seat
    message = message_get(seat, message_id)
    events = list(message.events.order_by("at", "id"))
    context = {
        "message": message,
        "steps": steps_of(events) if message.direction == Message.OUTBOUND else [],
        "timeline": list(zip(events, timeline_rows(events), strict=True)),
        "gates": gate_decisions(events),
        "error": error_block(message.error),
        "provider_log": provider_log_list(message=message),
        "deliveries": list(message_deliveries(message)) if seat.can("webhooks:manage") else None,
        "can_cancel": message.status in CANCELABLE and seat.can("messages:send"),
    }
    return render(request, "console/message.html", context)


@console_page("messages:read", post="messages:send")
@require_POST
def message_cancel_view(request, message_id: str):
    """Cancel a scheduled message, or a queued one no worker has claimed (the API's service)."""
    seat = request.seat
    message = message_get(seat, message_id)
    try:
        message_cancel(message=message, detail={"via": "console", "member": seat.member.pk})
    except TernError as error:
        show_error(request, error)
    else:
        show_success(request, f"Message {message.id} canceled.")
    return redirect("console:message", slug=seat.workspace.slug, message_id=message.id)


@console_page("messages:read", post="webhooks:manage")
@require_POST
def delivery_replay_view(request, message_id: str):
    """Deliver one of the message's webhook events again (same webhook-id); audited."""
    seat = request.seat
    message = message_get(seat, message_id)
    delivery = get_object_or_404(message_deliveries(message), pk=request.POST.get("delivery", ""))
    if not delivery.endpoint.enabled:
        show_error(request, TernError("invalid_state", "The endpoint is disabled."))
    else:
        delivery_replay(
            delivery=delivery,
            actor=member_actor(seat.member),
            ip=client_ip(request),
            reason=f"replayed from the console page of {message.id}",
        )
        show_success(request, f"Delivery {delivery.id} queued again.")
    return redirect("console:message", slug=seat.workspace.slug, message_id=message.id)
