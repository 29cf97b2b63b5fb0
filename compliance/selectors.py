"""Reads the send path asks of compliance."""

from .models import Consent, Suppression


def active_suppressions(*, workspace_id: str, phone: str):
    """Active suppressions of this number in this workspace."""
    return Suppression.objects.for_workspace(workspace_id).filter(phone=phone, active=True)


def is_workspace_suppressed(*, workspace_id: str, phone: str) -> bool:
    """True when the number has an active workspace-wide suppression."""
    return (
        active_suppressions(workspace_id=workspace_id, phone=phone)
        .filter(scope=Suppression.WORKSPACE)
        .exists()
    )


def is_campaign_suppressed(*, workspace_id: str, phone: str, campaign_id: str) -> bool:
    """True when the number opted out of this campaign."""
    return (
        bool(campaign_id)
        and active_suppressions(workspace_id=workspace_id, phone=phone)
        .filter(scope=Suppression.CAMPAIGN, campaign_id=campaign_id)
        .exists()
    )


def workspace_suppressed_among(*, workspace_id: str, phones: set[str]) -> set[str]:
    """Which of these numbers have an active workspace-wide suppression (one query)."""
    rows = Suppression.objects.for_workspace(workspace_id).filter(
        phone__in=phones, active=True, scope=Suppression.WORKSPACE
    )
    return set(rows.values_list("phone", flat=True))


def consent_latest(
    *, workspace_id: str, phone: str, scope: str = "workspace", category: str = "marketing"
) -> Consent | None:
    """The newest consent record of (phone, scope, category): the one that decides."""
    records = Consent.objects.for_workspace(workspace_id).filter(
        phone=phone, scope=scope, category=category
    )
    return records.order_by("-created_at", "-id").first()


def marketing_consent(*, workspace_id: str, phone: str, campaign_id: str = "") -> Consent | None:
    """The grant that allows a marketing send now, or None.

    A workspace-wide revocation (a STOP) wins over everything; otherwise a workspace-wide grant,
    or for a campaign send a grant for that campaign, allows it.
    """
    workspace = consent_latest(workspace_id=workspace_id, phone=phone)
    if workspace is not None and workspace.action == Consent.GRANT:
        return workspace
    if workspace is None and campaign_id:
        campaign = consent_latest(workspace_id=workspace_id, phone=phone, scope=campaign_id)
        if campaign is not None and campaign.action == Consent.GRANT:
            return campaign
    return None
