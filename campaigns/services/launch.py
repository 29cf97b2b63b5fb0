"""Drafts and their launch: create, edit, dry run, launch (messages written in bulk, their whole
cost reserved, in one transaction)."""

from django.db import transaction

from messaging.policy import campaign_sender
from messaging.pricing import spend_reserve
from messaging.providers.registry import provider_name_for
from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError
from workspaces.models import Sender, Workspace
from workspaces.selectors import month_to_date_spend
from workspaces.updates import model_update

from .. import fanout
from ..messages import campaign_messages_announce, campaign_messages_insert
from ..models import Campaign, CampaignSkip
from .lifecycle import campaign_locked
from .pump import pump_start

EDITABLE_FIELDS = (
    "name",
    "template",
    "body",
    "audience",
    "from_number",
    "send_at",
    "throttle_per_minute",
    "opt_out_keywords",
)


def campaign_create(*, workspace_id: str, test: bool, actor: Actor, **fields) -> Campaign:
    """A new draft campaign."""
    campaign = Campaign.objects.create(
        workspace_id=workspace_id, test=test, created_at=clock.now(), **fields
    )
    audit_record(
        workspace=workspace_id,
        actor=actor,
        action="campaign.created",
        target=campaign,
        after={"name": campaign.name},
    )
    return campaign


def campaign_update(*, campaign: Campaign, changes: dict) -> Campaign:
    """Change a draft (a campaign is edited only before its launch)."""
    with transaction.atomic():
        locked = campaign_locked(campaign, allowed=(Campaign.DRAFT,), verb="edit")
        model_update(instance=locked, data=changes)
    return locked


def _sender_for(campaign: Campaign, workspace: Workspace) -> Sender:
    """The campaign's sender, able to send (the policy's sender checks, once for all)."""
    return campaign_sender(workspace=workspace, number=campaign.from_number)


def campaign_dry_run(*, campaign: Campaign) -> dict:
    """What a launch would do now: recipients, who would be skipped and why, segments, cost."""
    workspace = Workspace.objects.get(pk=campaign.workspace_id)
    return dry_run_summary(fanout.plan(campaign, workspace, _sender_for(campaign, workspace)))


def dry_run_summary(result: fanout.Plan) -> dict:
    """The dry run's answer for a plan (the console's review shows the same)."""
    return {
        "recipients": result.recipients,
        "messages": len(result.messages),
        "skipped": result.skipped,
        "segments": result.segments,
        "cost": f"{result.cost:.4f}",
    }


def campaign_launch(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Draft → running (or scheduled, with a future `send_at`): judge the whole audience, write
    its messages in bulk and reserve their whole cost, in one transaction."""
    workspace = Workspace.objects.get(pk=campaign.workspace_id)
    now = clock.now()
    with transaction.atomic():
        locked = campaign_locked(campaign, allowed=(Campaign.DRAFT,), verb="launch")
        sender = _sender_for(locked, workspace)
        result = fanout.plan(locked, workspace, sender)
        _refuse_over_limit(workspace, result.cost)  # before writing anything
        send_at = locked.send_at if locked.send_at and locked.send_at > now else None
        campaign_messages_insert(
            workspace_id=workspace.pk,
            test=locked.test,
            campaign_id=locked.pk,
            from_number=locked.from_number,
            provider=provider_name_for(workspace, test=locked.test),
            messages=result.messages,
            send_at=send_at,
        )
        CampaignSkip.objects.bulk_create(
            [
                CampaignSkip(
                    workspace_id=workspace.pk,
                    campaign=locked,
                    contact_id=contact,
                    phone=phone,
                    code=code,
                )
                for contact, phone, code in result.skips
            ],
            batch_size=2000,
        )
        # Last: the workspace's spend row stays locked only until the commit right after.
        if not spend_reserve(workspace=workspace, amount=result.cost):
            _refuse_over_limit(workspace, result.cost, force=True)
        locked.status = Campaign.SCHEDULED if send_at else Campaign.RUNNING
        locked.recipients, locked.skipped = result.recipients, result.skipped
        locked.launched_at = now
        locked.save()
        audit_record(
            workspace=workspace.pk,
            actor=actor,
            action="campaign.launched",
            target=locked,
            after={
                "recipients": result.recipients,
                "messages": len(result.messages),
                "skipped": result.skipped,
                "cost": f"{result.cost:.4f}",
            },
        )
        ids = [m.id for m in result.messages]
        transaction.on_commit(lambda: _after_launch(locked, workspace.pk, ids))
    return locked


def _after_launch(campaign: Campaign, workspace_id: str, message_ids: list[str]) -> None:
    campaign_messages_announce(
        workspace_id=workspace_id, test=campaign.test, message_ids=message_ids
    )
    if campaign.status == Campaign.RUNNING:
        pump_start(campaign_id=campaign.pk)


def _refuse_over_limit(workspace: Workspace, cost, *, force: bool = False) -> None:
    """402 `spend_limit_exceeded` when the whole campaign does not fit under the limit."""
    if workspace.spend_limit is None:
        return
    spent = month_to_date_spend(workspace=workspace)
    if force or spent + cost > workspace.spend_limit:
        raise TernError(
            "spend_limit_exceeded",
            details={
                "cost": f"{cost:.4f}",
                "spend_limit": str(workspace.spend_limit),
                "month_to_date_spend": str(spent),
            },
        )
