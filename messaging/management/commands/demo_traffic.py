"""`manage.py demo_traffic <slug>`: 30 days of realistic outbound traffic for a demo workspace.

Mostly delivered, some undelivered and failed with catalogue error codes, several countries, two
senders, all of them final: every chart of the dashboard has something to show. The
messages (with short timelines) are bulk-inserted; the summary triggers count them as they land.
A second run finds the demo messages there and adds nothing.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from ulid import ULID

from messaging import pricing, summaries
from messaging.models import Message, MessageEvent, Status
from messaging.providers.registry import provider_name_for
from workspaces import clock
from workspaces.errors import delivery_error
from workspaces.models import Sender, Workspace

MARK = {"demo": "traffic"}
ZERO = Decimal("0")
# (country, E.164 head, weight): the rest of each number is random digits.
DESTINATIONS = (
    ("US", "+1415555", 40),
    ("US", "+1212555", 20),
    ("CA", "+1416555", 12),
    ("GB", "+4477009", 10),
    ("DE", "+4915123", 8),
    ("FR", "+3361234", 6),
    ("MX", "+5255123", 4),
)
# (status, error code, provider code, weight) of a message whose fate is known.
OUTCOMES = (
    (Status.DELIVERED, None, None, 900),
    (Status.UNDELIVERED, "unreachable_handset", "30003", 30),
    (Status.UNDELIVERED, "carrier_filtered", "30007", 12),
    (Status.UNDELIVERED, "unknown_delivery_error", "30008", 10),
    (Status.FAILED, "unknown_number", "30005", 22),
    (Status.FAILED, "landline_or_unreachable_carrier", "30006", 14),
    (Status.FAILED, "carrier_opted_out", "21610", 7),
    (Status.FAILED, "provider_rejected", "21408", 5),
)
BODIES = (
    "Your code is {n}",
    "Your order A-{n} has shipped.",
    "Reminder: your appointment is tomorrow at 10:30.",
    "Thanks for your order! Reply STOP to opt out.",
)
FALLBACK_SENDERS = ("+14155550100", "+14155550101")


class Command(BaseCommand):
    help = "Fill a workspace (by slug) with 30 days of demo messages; a second run adds nothing."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--per-day", type=int, default=160, help="messages on an average day")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--test", action="store_true", help="as test-mode messages")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, slug, per_day, days, test, seed, **options):
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"no workspace with slug {slug!r}")
        mine = Message.objects.filter(workspace=workspace, test=test, metadata__demo="traffic")
        if mine.exists():
            self.stdout.write(f"{slug}: demo traffic already there, nothing added")
            return
        plan = traffic_plan(workspace, per_day=per_day, days=days, test=test, seed=seed)
        with transaction.atomic():
            insert(plan)
            charge(workspace, plan, test=test)
        summaries.fold(connection)  # as the sweep would, now rather than within 15 s
        self.stdout.write(f"{slug}: {len(plan)} demo messages over {days} days")


def senders_of(workspace: Workspace) -> list[str]:
    """Two sender numbers: the workspace's own active ones, else demo numbers."""
    numbers = list(
        Sender.objects.filter(workspace=workspace, removed_at=None)
        .order_by("created_at")
        .values_list("number", flat=True)[:2]
    )
    return (numbers + [n for n in FALLBACK_SENDERS if n not in numbers])[:2]


def traffic_plan(workspace: Workspace, *, per_day: int, days: int, test: bool, seed: int):
    """The demo's messages, unsaved: weekdays busier than weekends, fates by OUTCOMES."""
    rng = random.Random(seed)
    now = clock.now()
    senders = senders_of(workspace)
    rates = {}
    messages = []
    for back in range(days - 1, -1, -1):
        day = now - timedelta(days=back)
        count = int(per_day * (1.2 if day.weekday() < 5 else 0.5) * rng.uniform(0.8, 1.2))
        for _ in range(count):
            created = day - timedelta(seconds=rng.uniform(0, 86_400 if back else 3_600 * 8))
            country, head, _w = rng.choices(DESTINATIONS, [d[2] for d in DESTINATIONS])[0]
            if country not in rates:
                rates[country] = pricing.rate_for(workspace=workspace, country=country)
            messages.append(
                message(
                    workspace,
                    rng,
                    created=created,
                    to=head + f"{rng.randrange(10_000):04d}",
                    sender=senders[0] if rng.random() < 0.7 else senders[1],
                    price=ZERO if test else rates[country],
                    test=test,
                )
            )
    return messages


def message(workspace, rng, *, created, to, sender, price, test) -> Message:
    """One demo message with its final fate: none is left in flight, where the sweeper would
    pick it up and really send it (and `make run`'s checks wait for every message to be final)."""
    status, code, provider_code = rng.choices(OUTCOMES, [o[3] for o in OUTCOMES])[0][:3]
    charge = pricing.final_charge(price=price, status=status, reached_provider=True)
    return Message(
        id=f"msg_{str(ULID.from_datetime(created)).lower()}",
        workspace=workspace,
        test=test,
        status=status,
        to_number=to,
        from_number=sender,
        body=rng.choice(BODIES).format(n=rng.randrange(1000, 9999)),
        price=price,
        reserved=charge if status != Status.QUEUED else price,
        settled_at=created + timedelta(seconds=rng.uniform(2, 40)),
        provider=provider_name_for(workspace, test=test),
        error=delivery_error(code, provider_code) if code else None,
        metadata=dict(MARK),
        created_at=created,
    )


def timeline(m: Message) -> list[MessageEvent]:
    """The steps a message of this fate went through."""
    steps = ["api_request_received", "queued"]
    if m.status != Status.QUEUED:
        steps.append("sent_to_carrier")
    if m.status in (Status.DELIVERED, Status.UNDELIVERED, Status.FAILED):
        steps.append(str(m.status))
    return [
        MessageEvent(
            workspace_id=m.workspace_id,
            message=m,
            event=event,
            at=m.created_at + timedelta(seconds=i * 1.5),
            detail={"code": m.error["code"]} if m.error and event == m.status else {},
        )
        for i, event in enumerate(steps)
    ]


def insert(plan: list[Message]) -> None:
    """Messages then their timelines, in batches (the triggers count each batch as it lands)."""
    for start in range(0, len(plan), 2000):
        chunk = plan[start : start + 2000]
        Message.objects.bulk_create(chunk)
        MessageEvent.objects.bulk_create([e for m in chunk for e in timeline(m)])


def charge(workspace: Workspace, plan: list[Message], *, test: bool) -> None:
    """This month's demo charges on the spend counter, so spend against the limit shows them."""
    if test:
        return
    month = pricing.month_start()
    spent = sum(m.reserved for m in plan if pricing.month_start(m.created_at) == month)
    pricing.spend_adjust(workspace_id=workspace.pk, month=month, delta=spent)
