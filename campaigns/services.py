"""Writes of contacts, templates and campaigns (launch, pause, resume, stop, the pump)."""

import time
from datetime import timedelta

from django.db import IntegrityError, connection, transaction

from compliance.models import Suppression
from compliance.services import suppression_create
from messaging.hooks import CANCEL, HOLD
from messaging.pacing import sender_rate
from messaging.policy import campaign_sender
from messaging.pricing import spend_reserve
from messaging.providers.registry import provider_name_for
from webhooks.events import emit
from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.enqueue import publish
from workspaces.errors import TernError
from workspaces.ids import new_id
from workspaces.models import Sender, Workspace
from workspaces.selectors import month_to_date_spend
from workspaces.updates import model_update

from . import fanout
from .booking import BOOKED_CHUNK, campaign_window_book
from .messages import (
    campaign_counts,
    campaign_messages_announce,
    campaign_messages_cancel,
    campaign_messages_insert,
    campaign_messages_release,
)
from .models import Campaign, CampaignSkip, Contact, Template
from .resources import campaign_resource
from .selectors import latest_campaign_message

DUPLICATE_PHONE = "A contact with this phone number exists in this workspace."


def contact_create(*, workspace_id: str, phone: str, **fields) -> Contact:
    """A new contact; its phone must be new to the workspace."""
    try:
        with transaction.atomic():
            return Contact.objects.create(
                workspace_id=workspace_id, phone=phone, created_at=clock.now(), **fields
            )
    except IntegrityError as exc:
        raise TernError("validation_error", details={"phone": [DUPLICATE_PHONE]}) from exc


def contact_update(*, contact: Contact, changes: dict) -> Contact:
    """Change a contact's fields (a new phone must stay unique)."""
    try:
        with transaction.atomic():
            model_update(instance=contact, data=changes)
    except IntegrityError as exc:
        raise TernError("validation_error", details={"phone": [DUPLICATE_PHONE]}) from exc
    return contact


def contact_delete(*, contact: Contact, actor: Actor, ip: str | None = None) -> None:
    """Remove a contact, audited with the number it had (its consents and suppressions stay)."""
    with transaction.atomic():
        audit_record(
            workspace=contact.workspace_id,
            actor=actor,
            action="contact.deleted",
            target=contact,
            ip=ip,
            before={"phone": contact.phone},
        )
        contact.delete()


def template_create(*, workspace_id: str, name: str, body: str) -> Template:
    """A new template (its merge fields were checked by the caller's serializer)."""
    return Template.objects.create(
        workspace_id=workspace_id, name=name, body=body, created_at=clock.now()
    )


def template_update(*, template: Template, changes: dict) -> Template:
    """Change a template's name or body."""
    model_update(instance=template, data=changes)
    return template


# --- Campaigns ----------------------------------------------------------------------------------

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
# The pump books this much of a campaign's sending ahead (at least one dispatch chunk's worth),
# and comes back this long before the booked window runs out.
PUMP_WINDOW_SECONDS = 10.0
PUMP_MARGIN_SECONDS = 2.0
PUMP_IDLE_SECONDS = 3.0
# A running campaign whose pump has not come back for this long lost it (a worker died).
PUMP_LOST_AFTER = timedelta(seconds=30)
# Longer than a message's whole retry schedule (about 73 minutes): a stopped campaign's message
# queued again for a retry is canceled within this time of the stop.
STOP_TAIL = timedelta(hours=2)


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
        locked = _locked(campaign, allowed=(Campaign.DRAFT,), verb="edit")
        model_update(instance=locked, data=changes)
    return locked


def _locked(campaign: Campaign, *, allowed: tuple, verb: str) -> Campaign:
    """The campaign row, locked, in one of the allowed states; else `invalid_state`."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status not in allowed:
        raise TernError(
            "invalid_state",
            f"A {locked.status} campaign cannot {verb}.",
            details={"status": locked.status, "allowed_from": list(allowed)},
        )
    return locked


def _sender_for(campaign: Campaign, workspace: Workspace) -> Sender:
    """The campaign's sender, able to send (the policy's sender checks, once for all)."""
    return campaign_sender(workspace=workspace, number=campaign.from_number)


def campaign_dry_run(*, campaign: Campaign) -> dict:
    """What a launch would do now: recipients, who would be skipped and why, segments, cost."""
    workspace = Workspace.objects.get(pk=campaign.workspace_id)
    result = fanout.plan(campaign, workspace, _sender_for(campaign, workspace))
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
        locked = _locked(campaign, allowed=(Campaign.DRAFT,), verb="launch")
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
        locked = _locked(campaign, allowed=allowed, verb=verb)
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
        return campaign_messages_cancel(campaign_id=locked.pk, test=locked.test)

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


# --- The pump: books a running campaign's next window of slots --------------------------------


def pump_start(*, campaign_id: str) -> None:
    """Start a new pump chain for the campaign; any older chain ends at its next turn."""
    token = new_id("pmp")
    Campaign.objects.filter(pk=campaign_id).update(pump_token=token, pump_at=clock.now())
    _pump_enqueue(campaign_id, token, countdown=None)


def _pump_enqueue(campaign_id: str, token: str, countdown: float | None) -> None:
    from .tasks import campaign_pump

    publish(campaign_pump, (campaign_id, token), countdown=countdown, queue="bulk")


def campaign_pump(*, campaign_id: str, token: str) -> None:
    """Book the campaign's next window of messages on its sender, then come back before it ends.

    The pump is the only path by which campaign messages reach the send pool, so the campaign's
    own throttle and its sender's rate both hold however many workers there are.
    """
    campaign = Campaign.objects.filter(pk=campaign_id, pump_token=token).first()
    if campaign is None or campaign.status != Campaign.RUNNING:
        return
    throttle = campaign.throttle_per_minute / 60 if campaign.throttle_per_minute else None
    rate = min(sender_rate(campaign.from_number), throttle or float("inf"))
    seconds = max(PUMP_WINDOW_SECONDS, BOOKED_CHUNK / rate)
    booking = campaign_window_book(
        campaign_id=campaign.pk,
        sender=campaign.from_number,
        seconds=seconds,
        campaign_rate=throttle,
    )
    if booking is not None:
        wait = max(0.5, booking.end - time.time() - PUMP_MARGIN_SECONDS)
    elif campaign_complete_if_done(campaign=campaign):
        return
    else:
        wait = PUMP_IDLE_SECONDS
    Campaign.objects.filter(pk=campaign.pk, pump_token=token).update(
        pump_at=clock.now() + timedelta(seconds=wait)
    )
    _pump_enqueue(campaign.pk, token, countdown=wait)


def campaign_complete_if_done(*, campaign: Campaign) -> bool:
    """Running → completed once nothing is scheduled, queued or sending; `campaign.completed`."""
    counts = campaign_counts(campaign_id=campaign.pk)["counts"]
    if counts["scheduled"] or counts["queued"] or counts["sending"]:
        return False
    now = clock.now()
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status=Campaign.RUNNING).update(
            status=Campaign.COMPLETED, completed_at=now
        ):
            return False
        campaign.refresh_from_db()
        emit(
            workspace_id=campaign.workspace_id,
            test=campaign.test,
            type="campaign.completed",
            data=campaign_resource(campaign),
        )
    return True


def campaigns_sweep() -> None:
    """Beat: start campaigns whose `send_at` came; restart pumps lost with a worker."""
    now = clock.now()
    due = Campaign.objects.filter(status=Campaign.SCHEDULED, send_at__lte=now)
    for campaign in due.values_list("pk", flat=True):
        campaign_start_scheduled(campaign_id=campaign)
    lost = Campaign.objects.filter(status=Campaign.RUNNING, pump_at__lt=now - PUMP_LOST_AFTER)
    for campaign in lost.values_list("pk", flat=True):
        pump_start(campaign_id=campaign)
    stopped_leftovers_cancel(since=now - STOP_TAIL)


def stopped_leftovers_cancel(*, since) -> int:
    """Cancel messages of recently stopped campaigns that went back to `queued` after the stop.

    A message `sending` at the stop whose attempt then failed is queued for a retry; a retry
    within a minute is canceled at its claim, a later one waits for the sweeper, which hands
    campaign messages to a pump that a stopped campaign no longer has: this cancels those.
    """
    canceled = 0
    for campaign in Campaign.objects.filter(status=Campaign.STOPPED, stopped_at__gte=since):
        if campaign_counts(campaign_id=campaign.pk)["counts"]["queued"]:
            with transaction.atomic():
                canceled += campaign_messages_cancel(campaign_id=campaign.pk, test=campaign.test)
    return canceled


def campaign_start_scheduled(*, campaign_id: str) -> None:
    """Scheduled → running at `send_at`: its messages are queued for the pump."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != Campaign.SCHEDULED:
            return
        campaign_messages_release(campaign_id=campaign.pk)
        campaign.status = Campaign.RUNNING
        campaign.save()
        transaction.on_commit(lambda: pump_start(campaign_id=campaign_id))


# --- Replies with a campaign's opt-out word ----------------------------------------------------

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
