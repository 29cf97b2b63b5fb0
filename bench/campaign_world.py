"""A campaign benchmark's world, made inside the bench environment (Django set up): workspaces,
short codes, an audience living where it is midday, a draft campaign and its launch, and the
other benchmarks' campaigns kept out of a worker's way."""

import secrets
import time
from datetime import timedelta

from .load import MAGIC_ENDINGS
from .zones import midday_zone

BODY = "Hi {{first_name}}, news from us. Reply STOP to opt out."


def phones(count: int) -> list[str]:
    """Valid US numbers (+1 212 2xx xxxx), minus the simulator's magic endings."""
    numbers = (f"+1212{n:07d}" for n in range(2_000_000, 3_000_000))
    return [n for n in numbers if n[-4:] not in MAGIC_ENDINGS][:count]


def workspace_new(label: str):
    """A live workspace (no verified-recipient rule) with no spend cap."""
    from workspaces.models import Workspace
    from workspaces.services import user_get_or_create, workspace_create

    owner = user_get_or_create(email="bench@example.test")
    workspace = workspace_create(name=f"Bench {label}", owner=owner, test_mode=False)
    Workspace.objects.filter(pk=workspace.pk).update(spend_limit=None)
    return workspace


def owner_token(workspace) -> str:
    """A live token with every scope for the workspace's owner (its secret)."""
    from workspaces.audit import Actor
    from workspaces.models import Membership
    from workspaces.scopes import ALL_SCOPES
    from workspaces.services import token_create

    owner = Membership.objects.get(workspace=workspace)
    return token_create(
        creator=owner, name="bench", scopes=sorted(ALL_SCOPES), actor=Actor.system("bench")
    )[1]


def short_code(workspace, mps: int):
    """A new US short code of the workspace (a fresh number: no pacing mark left from a rerun)."""
    from workspaces.audit import Actor
    from workspaces.models import Sender
    from workspaces.services import sender_create

    number = str(secrets.choice(range(100_000, 1_000_000)))
    while Sender.objects.filter(number=number).exists():
        number = str(secrets.choice(range(100_000, 1_000_000)))
    return sender_create(
        workspace=workspace,
        actor=Actor.system("bench"),
        number=number,
        kind=Sender.SHORT_CODE,
        country="US",
        mps=mps,
    )


def audience(workspace, numbers: list[str], *, consent: list[str], suppressed: list[str]):
    """Contacts for the numbers; marketing consent and workspace suppressions for some. The
    contacts live where it is midday: New York numbers alone would be held by quiet hours
    between 21:00 and 08:00 there, and the worker benchmarks would wait for the morning."""
    from campaigns.models import Contact
    from compliance.models import Consent, Suppression
    from workspaces import clock

    now, ws, zone = clock.now(), workspace.pk, midday_zone()
    Contact.objects.bulk_create(
        [
            Contact(
                workspace_id=ws,
                phone=p,
                first_name="Ann",
                tags=["all"],
                timezone=zone,
                created_at=now,
            )
            for p in numbers
        ],
        batch_size=5000,
    )
    Consent.objects.bulk_create(
        [
            Consent(workspace_id=ws, phone=p, method="web_form", captured_at=now, created_at=now)
            for p in consent
        ],
        batch_size=5000,
    )
    Suppression.objects.bulk_create(
        [Suppression(workspace_id=ws, phone=p, created_at=now) for p in suppressed], batch_size=5000
    )


def analyze() -> None:
    """Table statistics, as autovacuum would have them for tables this size in production."""
    from django.db import connection

    from campaigns.models import Contact
    from compliance.models import Consent, Suppression

    tables = ", ".join(m._meta.db_table for m in (Contact, Consent, Suppression))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def campaign_new(workspace, sender):
    """A draft campaign to the whole workspace."""
    from campaigns.services.launch import campaign_create
    from workspaces.audit import Actor

    return campaign_create(
        workspace_id=workspace.pk,
        test=False,
        actor=Actor.system("bench"),
        name="Bench",
        body=BODY,
        audience={"all": True},
        from_number=sender.number,
    )


def launch(campaign) -> float:
    """Seconds from the call to campaign_launch until its commit and on-commit pump kick ran."""
    from campaigns.services.launch import campaign_launch
    from workspaces.audit import Actor

    started = time.perf_counter()
    campaign_launch(campaign=campaign, actor=Actor.system("bench"))
    return time.perf_counter() - started


def retire(campaign_ids) -> int:
    """Mark campaigns stopped so no later worker run pumps them; their unbooked messages stay
    queued with no due time, which nothing but a pump picks up. Not campaign_stop: on 98,000
    messages it runs for many minutes (see the report of this benchmark)."""
    from campaigns.models import Campaign
    from workspaces import clock

    stopped = Campaign.objects.filter(pk__in=campaign_ids)
    return stopped.update(status=Campaign.STOPPED, stopped_at=clock.now())


def park_others(workspace) -> dict:
    """Keep the other benchmarks' unsent messages away from this worker: their campaigns are
    retired and messages the sweeper would hand to the worker are made due tomorrow, so the
    worker sends (and publishes for) this campaign only."""
    from campaigns.models import Campaign
    from messaging.models import Message, Status
    from workspaces import clock

    live = (Campaign.SCHEDULED, Campaign.RUNNING, Campaign.PAUSED)
    others = Campaign.objects.filter(status__in=live).exclude(workspace_id=workspace.pk)
    retired = retire(list(others.values_list("pk", flat=True)))
    due = Message.objects.filter(status__in=(Status.QUEUED, Status.SCHEDULED), due_at__isnull=False)
    parked = due.exclude(workspace_id=workspace.pk).update(due_at=clock.now() + timedelta(days=1))
    return {"campaigns_retired": retired, "messages_parked": parked}


def worker_campaign(tag: str, label: str, count: int, mps: int):
    """A launched-ready campaign to `count` consenting contacts from a short code at `mps`."""
    workspace = workspace_new(f"{label} {tag}")
    sender = short_code(workspace, mps)
    numbers = phones(count)
    audience(workspace, numbers, consent=numbers, suppressed=[])
    analyze()  # else the launch's consent probes scan the workspace's consents, one per contact
    parked = park_others(workspace)
    return campaign_new(workspace, sender), sender, parked


def campaign_status(campaign_id: str) -> str:
    """The campaign's status now."""
    from campaigns.models import Campaign

    return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()


def submission_times(sender) -> list[float]:
    """When the provider (the simulator's ledger) got each of the sender's messages, in order."""
    from messaging.providers.simulator.models import SimulatorSubmission

    ledger = SimulatorSubmission.objects.filter(from_number=sender.number)
    return sorted(t.timestamp() for t in ledger.values_list("created_at", flat=True))
