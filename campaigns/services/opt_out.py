"""Replies with a campaign's opt-out word suppress the number for that campaign."""

from datetime import timedelta

from compliance.models import Suppression
from compliance.services import suppression_create
from workspaces import clock
from workspaces.audit import Actor
from workspaces.models import Workspace

from ..models import Campaign
from ..selectors import latest_campaign_message

OPT_OUT_WINDOW = timedelta(days=30)


def campaign_opt_out(inbound, workspace: Workspace) -> bool:
    """A reply with the opt-out word of the campaign whose message the number got last (within
    30 days) suppresses the number for that campaign. True when it did."""
    word = " ".join(inbound.body.split()).upper()
    if not word:
        return False
    latest = latest_campaign_message(
        workspace_id=workspace.pk, phone=inbound.from_number, since=clock.now() - OPT_OUT_WINDOW
    )
    if latest is None:
        return False
    campaign = Campaign.objects.for_workspace(workspace.pk).filter(pk=latest.campaign_id).first()
    if campaign is None or word not in {k.strip().upper() for k in campaign.opt_out_keywords}:
        return False
    suppression_create(
        workspace_id=workspace.pk,
        phone=inbound.from_number,
        source="keyword",
        scope=Suppression.CAMPAIGN,
        campaign_id=campaign.pk,
        actor=Actor("system", inbound.id, f"opt-out word {word} from {inbound.from_number}"),
        reason=f"{word} in reply to {latest.id}",
    )
    return True
