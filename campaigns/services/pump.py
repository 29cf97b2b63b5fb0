"""The pump: books a running campaign's next window of slots, and the beat sweep that starts
scheduled campaigns, restarts lost pumps and cancels a stopped campaign's leftovers.

The pump task is published by its registered name (CampaignsConfig.ready() registers
campaigns.tasks), so this module never imports the tasks above it.
"""

import time
from datetime import timedelta

from celery import current_app
from django.db import transaction

from webhooks.events import emit
from workspaces import clock
from workspaces.enqueue import publish
from workspaces.ids import new_id

from ..booking import campaign_window_book
from ..messages import campaign_counts, campaign_messages_cancel, campaign_messages_release
from ..models import Campaign
from ..resources import campaign_resource

CAMPAIGN_PUMP = "campaigns.tasks.campaign_pump"
# The pump books this much of a campaign's sending ahead, and comes back this long before the
# booked window runs out. Never more: the sender's mark moves past every slot booked, and an API
# send may go only TRANSACTIONAL_LEAD ahead of it, so a longer window (200 messages of a long code,
# or a throttle's minutes between slots) held the sender's other sends back for all of it.
PUMP_WINDOW_SECONDS = 10.0
PUMP_MARGIN_SECONDS = 2.0
PUMP_IDLE_SECONDS = 3.0
# A running campaign whose pump has not come back for this long lost it (a worker died).
PUMP_LOST_AFTER = timedelta(seconds=30)
# Longer than a message's whole retry schedule (about 73 minutes): a stopped campaign's message
# queued again for a retry is canceled within this time of the stop.
STOP_TAIL = timedelta(hours=2)


def pump_start(*, campaign_id: str) -> None:
    """Start a new pump chain for the campaign; any older chain ends at its next turn."""
    token = new_id("pmp")
    Campaign.objects.filter(pk=campaign_id).update(pump_token=token, pump_at=clock.now())
    _pump_enqueue(campaign_id, token, countdown=None)


def _pump_enqueue(campaign_id: str, token: str, countdown: float | None) -> None:
    """Publish the pump's next turn on the bulk queue (a broker error is logged, not raised)."""
    task = current_app.tasks[CAMPAIGN_PUMP]
    publish(task, (campaign_id, token), countdown=countdown, queue="bulk")


def campaign_pump(*, campaign_id: str, token: str) -> None:
    """Book the campaign's next window of messages on its sender, then come back before it ends.

    The pump is the only path by which campaign messages reach the send pool, so the campaign's
    own throttle and its sender's rate both hold however many workers there are.
    """
    campaign = Campaign.objects.filter(pk=campaign_id, pump_token=token).first()
    if campaign is None or campaign.status != Campaign.RUNNING:
        return
    throttle = campaign.throttle_per_minute / 60 if campaign.throttle_per_minute else None
    booking = campaign_window_book(
        campaign_id=campaign.pk,
        sender=campaign.from_number,
        seconds=PUMP_WINDOW_SECONDS,
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
                canceled += campaign_messages_cancel(campaign=campaign)
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
