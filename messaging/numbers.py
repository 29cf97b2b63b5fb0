"""What messaging knows about one phone number, for its compliance story (CONTRACT §6, §12, §9):
the keyword messages it sent, the messages sent to it with the gates that decided, and the sends
refused for it. Read by the console's Number page and the `number` evidence export; the keyword
reader is plugged into `compliance.numbers` from MessagingConfig.ready().

Every query walks an index from the number down (msg_ws_to, msg_ws_from, refusal_ws_to), newest
first and bounded, so a workspace of a million messages costs what the number's own rows cost.
"""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Prefetch, Q

from compliance.exports.kinds import CHUNK
from compliance.exports.number import register_number_section, row
from compliance.keywords import keyword_of
from compliance.numbers import keyword_entry, register_keyword_messages

from .models import Message, MessageEvent
from .records import Refusal
from .resources import message_resource, refusal_resource

# Timeline events that record a gate's decision and what it relied on (CONTRACT §4).
GATE_EVENTS = frozenset(
    {"policy_passed", "held_quiet_hours", "held_campaign_paused", "suppressed", "review_opened"}
)
# Inbound messages read for keywords: a person sends few; the bound keeps a flood cheap.
KEYWORD_SCAN = 500


def is_gate_event(name: str) -> bool:
    """True for an event that records a send gate's decision."""
    return name in GATE_EVENTS or name.startswith("policy_")


def keyword_messages(workspace_id: str, phone: str, test: bool, until: datetime) -> list[dict]:
    """The STOP/START/HELP messages the number sent by `until`, as history entries."""
    inbound = (
        Message.objects.for_workspace(workspace_id)
        .filter(from_number=phone, direction=Message.INBOUND, test=test, created_at__lte=until)
        .order_by("-created_at")
        .values_list("id", "body", "from_number", "to_number", "created_at")[:KEYWORD_SCAN]
    )
    return [
        keyword_entry(message_id=pk, keyword=kind, body=body, from_=sender, to=to, at=at)
        for pk, body, sender, to, at in inbound
        if (kind := keyword_of(body))
    ]


def messages_to(workspace_id: str, phone: str, test: bool, until: datetime):
    """Outbound messages to the number by `until`, newest first (msg_ws_to), gate events loaded."""
    gated = Q(event__in=GATE_EVENTS) | Q(event__startswith="policy_")
    gates = MessageEvent.objects.filter(gated).order_by("at", "id")
    return (
        Message.objects.for_workspace(workspace_id)
        .filter(to_number=phone, direction=Message.OUTBOUND, test=test, created_at__lte=until)
        .order_by("-created_at")  # the index's own order: no sort of the number's messages
        .prefetch_related(Prefetch("events", queryset=gates, to_attr="gate_events"))
    )


def refusals_for(workspace_id: str, phone: str, test: bool, until: datetime):
    """Sends refused for the number by `until`, newest first (refusal_ws_to); `code` is the gate."""
    return (
        Refusal.objects.for_workspace(workspace_id)
        .filter(to_number=phone, test=test, created_at__lte=until)
        .order_by("-created_at")
    )


def messages_with_timelines(workspace_id: str, phone: str, until: datetime) -> Iterator[Message]:
    """Every live message to the number by `until`, oldest first, each with its whole timeline,
    streamed `CHUNK` at a time (for the evidence bundle)."""
    events = MessageEvent.objects.order_by("at", "id")
    queryset = (
        Message.objects.for_workspace(workspace_id)
        .filter(to_number=phone, direction=Message.OUTBOUND, test=False, created_at__lte=until)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("events", queryset=events, to_attr="timeline_cache"))
    )
    return queryset.iterator(chunk_size=CHUNK)


def message_section(workspace_id: str, phone: str, as_of: datetime) -> Iterator[dict]:
    """The bundle's `message` rows: each live message sent to the number, timeline included."""
    for message in messages_with_timelines(workspace_id, phone, as_of):
        record = message_resource(message)
        record["gates"] = [e for e in record["timeline"] if is_gate_event(e["event"])]
        at = message.created_at
        yield row("message", record, id=message.id, type=message.status, at=at, recorded_at=at)


def refusal_section(workspace_id: str, phone: str, as_of: datetime) -> Iterator[dict]:
    """The bundle's `refusal` rows: each live send refused for the number; `type` is the gate."""
    refused = refusals_for(workspace_id, phone, False, as_of).order_by("created_at", "id")
    for refusal in refused.iterator(chunk_size=CHUNK):
        at = refusal.created_at
        record = refusal_resource(refusal)
        yield row("refusal", record, id=refusal.id, type=refusal.code, at=at, recorded_at=at)


def register() -> None:
    """Plug the keyword reader and the bundle's sections into compliance."""
    register_keyword_messages(keyword_messages)
    register_number_section(message_section)
    register_number_section(refusal_section)
