"""A draft campaign reviewed before its launch (the console's New campaign page): the dry run, and
what it implies — the spend left after it, how long the sender's rate makes it take, how many
recipients quiet hours will hold and until when — with a fingerprint a launch must still match.

A selector: nothing is written. The dry run is the API's own (`dry_run_summary` of the same plan),
so the review's table and `POST /api/v1/campaigns/{id}/dry-run` cannot disagree.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from compliance.quiet_hours import quiet_hours_hold
from messaging.pacing import sender_rate
from messaging.policy import campaign_sender
from workspaces import clock
from workspaces.errors import TernError
from workspaces.models import Workspace
from workspaces.selectors import month_to_date_spend

from . import fanout
from .models import Campaign, Contact
from .services.launch import dry_run_summary

_ZONE_BATCH = 2000


@dataclass(frozen=True)
class Review:
    """What launching the draft would do now."""

    dry_run: dict
    starts_at: datetime
    spend_limit: Decimal | None
    spend_left: Decimal | None  # after this campaign; None without a spend limit
    over_limit: TernError | None  # the 402 the launch would meet
    rate_per_second: float
    duration: timedelta
    held: int  # messages quiet hours will hold at the start
    held_until: datetime | None  # when the last of them may go (UTC)
    fingerprint: str


def campaign_review(*, campaign: Campaign) -> Review:
    """The draft's dry run and what it implies; a sender that cannot send raises its error."""
    workspace = Workspace.objects.get(pk=campaign.workspace_id)
    sender = campaign_sender(workspace=workspace, number=campaign.from_number)
    plan = fanout.plan(campaign, workspace, sender)
    dry_run = dry_run_summary(plan)
    now = clock.now()
    starts_at = campaign.send_at if campaign.send_at and campaign.send_at > now else now
    spend_left, over_limit = _spend_after(workspace, plan.cost)
    rate = campaign_rate(campaign)
    held, held_until = quiet_hours_held(workspace.pk, [m.to for m in plan.messages], starts_at)
    return Review(
        dry_run=dry_run,
        starts_at=starts_at,
        spend_limit=workspace.spend_limit,
        spend_left=spend_left,
        over_limit=over_limit,
        rate_per_second=rate,
        duration=timedelta(seconds=len(plan.messages) / rate),
        held=held,
        held_until=held_until,
        fingerprint=review_fingerprint(campaign, dry_run, spend_left),
    )


def campaign_rate(campaign: Campaign) -> float:
    """Messages per second the campaign goes at: its sender's rate, or its lower throttle."""
    rate = sender_rate(campaign.from_number)
    if campaign.throttle_per_minute:
        rate = min(rate, campaign.throttle_per_minute / 60)
    return rate


def _spend_after(workspace: Workspace, cost: Decimal) -> tuple[Decimal | None, TernError | None]:
    """(spend left after the campaign, the 402 a launch would answer) under the month's limit."""
    if workspace.spend_limit is None:
        return None, None
    spent = month_to_date_spend(workspace=workspace)
    left = workspace.spend_limit - spent - cost
    if left >= 0:
        return left, None
    # The same details the launch's refusal carries (campaigns.services.launch).
    details = {
        "cost": f"{cost:.4f}",
        "spend_limit": str(workspace.spend_limit),
        "month_to_date_spend": str(spent),
    }
    return left, TernError("spend_limit_exceeded", details=details)


def quiet_hours_held(
    workspace_id: str, phones: list[str], at: datetime
) -> tuple[int, datetime | None]:
    """How many of these numbers quiet hours hold at `at`, and until when the last one waits
    (each judged as dispatch will judge it: the contact's time zone, else the number's)."""
    zones = _contact_zones(workspace_id, phones)
    held, until = 0, None
    for phone in phones:
        hold = quiet_hours_hold(phone=phone, now=at, contact_tz=zones.get(phone))
        if hold is not None:
            held += 1
            until = max(until or hold.until, hold.until)
    return held, until


def _contact_zones(workspace_id: str, phones: list[str]) -> dict[str, str]:
    """Phone → time zone of the workspace's contacts that have one set."""
    zones = {}
    contacts = Contact.objects.for_workspace(workspace_id).exclude(timezone="")
    for start in range(0, len(phones), _ZONE_BATCH):
        batch = contacts.filter(phone__in=phones[start : start + _ZONE_BATCH])
        zones.update(batch.values_list("phone", "timezone"))
    return zones


def review_fingerprint(campaign: Campaign, dry_run: dict, spend_left: Decimal | None) -> str:
    """A digest of what the review showed: the draft as reviewed, its recipients, skips,
    segments and cost, and the spend left after it. A launch whose fingerprint differs would
    not be the launch that was reviewed."""
    template = campaign.template
    shown = {
        "draft": {
            "body": campaign.body,
            "template": [template.pk, template.body] if template else None,
            "audience": campaign.audience,
            "from": campaign.from_number,
            "send_at": clock.isoformat(campaign.send_at) if campaign.send_at else None,
            "throttle_per_minute": campaign.throttle_per_minute,
        },
        "dry_run": dry_run,
        "spend_left": None if spend_left is None else f"{spend_left:.4f}",
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()
