"""`Resend failed`: a new draft campaign of the recipients a campaign failed (RapidPro #1322)."""

from messaging.models import Status
from workspaces.audit import Actor
from workspaces.errors import TernError

from ..messages import campaign_counts
from ..models import Campaign
from .launch import campaign_create

# The statuses a resend retries: the carrier or the provider gave up on these messages.
RESENT_STATUSES = (Status.FAILED, Status.UNDELIVERED)


def failed_count(campaign: Campaign) -> int:
    """How many of the campaign's messages failed or went undelivered (from its counters)."""
    counts = campaign_counts(campaign_id=campaign.pk)["counts"]
    return sum(counts[status] for status in RESENT_STATUSES)


def campaign_resend_failed(*, campaign: Campaign, actor: Actor) -> Campaign:
    """A draft of the same message and sender to this campaign's failed recipients only.

    Nothing is judged here: the draft's audience (`{"campaign_failed": id}`) is resolved by the
    fan-out at its dry run and launch, so the policy judges every recipient again then (a number
    suppressed since is skipped), and the launch reserves its cost as any campaign's.
    """
    if campaign.status == Campaign.DRAFT or not failed_count(campaign):
        raise TernError(
            "invalid_state",
            "This campaign has no failed recipients to send to again.",
            details={"status": campaign.status},
        )
    return campaign_create(
        workspace_id=campaign.workspace_id,
        test=campaign.test,
        actor=actor,
        name=f"{campaign.name} (resend failed)"[:200],
        template=campaign.template,
        body=campaign.body,
        audience={"campaign_failed": campaign.pk},
        from_number=campaign.from_number,
        throttle_per_minute=campaign.throttle_per_minute,
        opt_out_keywords=list(campaign.opt_out_keywords or []),
    )
