"""Dispatch decisions in process: claims, retries, reconciliation of sends caught mid-call."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from compliance.services import suppression_create
from messaging.actions.dispatch import (
    mark_sent,
    message_claim,
    message_dispatch,
    retry_delay,
    submission_failed,
)
from messaging.actions.sweeps import sweep_due, sweep_settle_overdue, sweep_stuck_sending
from messaging.models import Message
from messaging.providers.base import OutboundSMS, TransientSubmissionError
from messaging.providers.registry import get_provider
from messaging.providers.simulator.models import SimulatorSubmission
from workspaces.audit import Actor

from ..support.factories import message_for

pytestmark = pytest.mark.django_db


def _claimed(tenant, to="+14155557100", provider=None):
    """A message claimed by a worker (status sending), as a crash mid-call would leave it."""
    message = message_for(tenant.workspace, tenant.sender, to=to)
    if provider:
        Message.objects.filter(pk=message.pk).update(provider=provider)
    return message_claim(message_id=message.id)


def test_claim_is_taken_once(tenant):
    """A second claim of the same message finds nothing to claim."""
    message = message_for(tenant.workspace, tenant.sender)
    assert message_claim(message_id=message.id).status == "sending"
    assert message_claim(message_id=message.id) is None


def test_suppression_before_claim_blocks_the_send(tenant):
    """A number suppressed after accept fails at claim, free of charge, never submitted."""
    message = message_for(tenant.workspace, tenant.sender, to="+14155557101")
    suppression_create(
        workspace_id=tenant.workspace.pk,
        phone="+14155557101",
        source="keyword",
        actor=Actor.system(),
    )
    message_dispatch(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "failed" and message.error["code"] == "workspace_suppressed"
    assert message.reserved == 0 and message.settled_at
    assert not SimulatorSubmission.objects.filter(message_id=message.id).exists()


def test_crash_after_submission_is_reconciled_as_sent(tenant):
    """The provider's ledger has it: the message becomes sent with the provider's id."""
    message = _claimed(tenant)
    get_provider("simulator").send(
        OutboundSMS(message.id, message.to_number, message.from_number, message.body)
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert sweep_stuck_sending() == 1
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_message_id.startswith("SIM")
    assert message.events.filter(event="sent_to_carrier", detail__reconciled=True).exists()


def test_crash_before_submission_is_queued_again(tenant):
    """The provider is sure it never took it: queued again, to be sent once."""
    message = _claimed(tenant)
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        sweep_stuck_sending()
    message.refresh_from_db()
    assert message.status == "queued"
    assert message.events.filter(event="reconciled").exists()


def test_unconfirmable_crash_goes_to_review(tenant):
    """A provider that cannot be searched (Twilio): unknown_outcome, in review, not resent."""
    message = _claimed(tenant, provider="twilio")
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        sweep_stuck_sending()
    message.refresh_from_db()
    assert message.status == "failed" and message.error["code"] == "unknown_outcome"
    assert message.review == "pending"


def test_a_send_in_flight_is_not_stuck(tenant):
    """Within two minutes of its claim a sending message is left alone."""
    _claimed(tenant)
    with time_machine.travel(timezone.now() + timedelta(seconds=90)):
        assert sweep_stuck_sending() == 0


def test_retries_follow_the_schedule_then_fail(tenant):
    """5 s, 30 s, 2 min, 10 min, 1 h (±20 %), in that order, each a retry_scheduled event; then
    failed."""
    message = message_for(tenant.workspace, tenant.sender, to="+14155557102")
    error = TransientSubmissionError("HTTP 503", provider_code="503")
    delays, attempts = [], []
    start = timezone.now()
    for n in range(6):
        # The clock stands still during each failure: next_attempt_at - now is the exact delay.
        with time_machine.travel(start + timedelta(hours=2 * n), tick=False):
            before = timezone.now()
            claimed = message_claim(message_id=message.id)
            submission_failed(message=claimed, exc=error)
        message.refresh_from_db()
        if message.status == "queued":
            event = message.events.filter(event="retry_scheduled").order_by("pk").last()
            next_at = datetime.fromisoformat(event.detail["next_attempt_at"])
            delays.append((next_at - before).total_seconds())
            attempts.append(event.detail["attempt"])
            Message.objects.filter(pk=message.pk).update(due_at=before)
    assert message.status == "failed" and message.error["code"] == "provider_unavailable"
    assert message.reserved == 0
    assert message.events.filter(event="retry_scheduled").count() == 5
    assert attempts == [1, 2, 3, 4, 5]
    schedule = (5, 30, 120, 600, 3600)  # CONTRACT §5, jittered ±20 % (retry_delay)
    assert len(delays) == len(schedule)
    for delay, base in zip(delays, schedule, strict=True):
        assert 0.8 * base <= delay <= 1.2 * base, (delays, schedule)
    assert delays == sorted(delays)


def test_long_retry_waits_are_due_time_rows(tenant):
    """A 10-minute retry is a due time the sweeper honours, not a countdown."""
    message = message_for(tenant.workspace, tenant.sender, to="+14155557103")
    Message.objects.filter(pk=message.pk).update(attempts=3)
    claimed = message_claim(message_id=message.id)
    submission_failed(message=claimed, exc=TransientSubmissionError("503"))
    message.refresh_from_db()
    wait = (message.due_at - timezone.now()).total_seconds()
    assert 0.8 * 600 - 5 <= wait <= 1.2 * 600 + 5
    assert sweep_due() == 0
    with time_machine.travel(message.due_at + timedelta(seconds=1)):
        assert sweep_due() == 1


def test_retry_after_is_honoured(tenant):
    """A provider's Retry-After longer than the schedule's wait wins."""
    assert retry_delay(1, retry_after=42) == 42
    assert 4 <= retry_delay(1, retry_after=None) <= 6
    assert retry_delay(6, retry_after=None) is None


def test_scheduled_message_is_released_when_due(tenant):
    """A send_at in the future waits as `scheduled`, then the sweeper queues it."""
    send_at = timezone.now() + timedelta(hours=1)
    message = message_for(tenant.workspace, tenant.sender, send_at=send_at)
    assert message.status == "scheduled"
    assert sweep_due() == 0
    with time_machine.travel(send_at + timedelta(seconds=1)):
        assert sweep_due() == 1
    message.refresh_from_db()
    assert message.status == "queued"


def test_sent_without_final_report_settles_after_72h(tenant):
    """No final report: full price after 72 h, and the message is marked settled."""
    message = _claimed(tenant)
    mark_sent(message=message, provider_message_id="SIMx")
    assert sweep_settle_overdue() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert sweep_settle_overdue() == 1
    message.refresh_from_db()
    assert message.settled_at and message.reserved == message.price
