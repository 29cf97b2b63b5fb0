"""A launched campaign's life: pause, resume, stop, and messaging's gate that holds a paused
campaign's messages (a stopped one's are canceled)."""

from django.db import connection, transaction

from messaging.hooks import CANCEL, HOLD
from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.errors import TernError
from workspaces.updates import model_update

from ..messages import campaign_counts, campaign_messages_cancel, campaign_messages_release
from ..models import Campaign
from .pump import pump_start


def campaign_locked(campaign: Campaign, *, allowed: tuple, verb: str) -> Campaign:
    """The campaign row, locked, in one of the allowed states; else `invalid_state`."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status not in allowed:
        raise TernError(
            "invalid_state",
            f"A {locked.status} campaign cannot {verb}.",
            details={"status": locked.status, "allowed_from": list(allowed)},
        )
    return locked


def _transition(
    campaign: Campaign,
    actor: Actor,
    *,
    allowed: tuple,
    verb: str,
    to: str,
    move,
    action: str,
    moved_as: str,
    **changes,
) -> Campaign:
    """Lock the campaign in an allowed state, move its messages, set its status, audit it
    (`moved_as` names the count of messages moved in the audit event)."""
    with transaction.atomic():
        locked = campaign_locked(campaign, allowed=allowed, verb=verb)
        moved = move(locked)
        model_update(instance=locked, data={"status": to, **changes})
        audit_record(
            workspace=locked.workspace_id,
            actor=actor,
            action=action,
            target=locked,
            after={moved_as: moved},
        )
        if to == Campaign.RUNNING:
            transaction.on_commit(lambda: pump_start(campaign_id=locked.pk))
    return locked


def campaign_pause(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Running → paused: no message changes status; the claim holds the campaign's messages
    (messaging's `CAMPAIGN_GATES`, answered by `campaign_gate`) until `resume`."""
    return _transition(
        campaign,
        actor,
        allowed=(Campaign.RUNNING,),
        verb="pause",
        to=Campaign.PAUSED,
        action="campaign.paused",
        moved_as="waiting",
        move=_queued_count,
    )


def campaign_resume(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Paused → running: the pump restarts and books what is still queued at the sender's pace."""
    return _transition(
        campaign,
        actor,
        allowed=(Campaign.PAUSED,),
        verb="resume",
        to=Campaign.RUNNING,
        action="campaign.resumed",
        moved_as="waiting",
        move=_resume_messages,
    )


def _queued_count(campaign: Campaign) -> int:
    """The campaign's messages still to send (from the counters)."""
    return campaign_counts(campaign_id=campaign.pk)["counts"]["queued"]


def _resume_messages(campaign: Campaign) -> int:
    """Queued messages wait as they are; only a campaign paused by an older release (which moved
    queued messages to `scheduled`) has some to move back."""
    campaign_messages_release(campaign_id=campaign.pk)
    return _queued_count(campaign)


def campaign_gate(campaign_id: str, lock: bool) -> str | None:
    """Messaging's gate: a paused campaign holds its messages, a stopped one cancels any left.

    With `lock` (the claim's transaction), PostgreSQL share-locks the row FOR KEY SHARE until
    that transaction ends: pause, resume and stop lock it FOR UPDATE, so they wait for claims in
    flight and those claims wait for them, while the pump's own updates (no key) pass freely.
    SQLite runs one write transaction at a time, which orders them already.
    """
    if lock and connection.vendor == "postgresql":
        table = Campaign._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT status FROM {table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                [campaign_id],
            )
            row = cursor.fetchone()
        status = row[0] if row else None
    else:
        status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
    return {Campaign.PAUSED: HOLD, Campaign.STOPPED: CANCEL}.get(status)


def campaign_stop(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Scheduled, running or paused → stopped: every unsent message is canceled and refunded."""

    def cancel(locked: Campaign) -> int:
        return campaign_messages_cancel(campaign=locked)

    return _transition(
        campaign,
        actor,
        verb="stop",
        to=Campaign.STOPPED,
        move=cancel,
        allowed=(Campaign.SCHEDULED, Campaign.RUNNING, Campaign.PAUSED),
        action="campaign.stopped",
        moved_as="canceled",
        stopped_at=clock.now(),
    )
