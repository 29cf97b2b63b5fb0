"""A provider report that comes before Tern stored the provider's id is kept, then applied."""

import logging
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging.actions import reports as pending_reports
from messaging.actions.dispatch import mark_sent, message_claim, message_dispatch
from messaging.actions.reports import status_report_apply
from messaging.actions.sweeps import sweep_stuck_sending
from messaging.models import Message, PendingReport
from messaging.providers.base import OutboundSMS, StatusReport
from messaging.providers.registry import get_provider
from messaging.providers.simulator.models import SimulatorSubmission
from messaging.providers.simulator.provider import SimulatorProvider
from messaging.providers.simulator.reports import simulator_reports_apply, sweep_simulator_reports
from messaging.tasks import sweep

from ..support.factories import message_for
from ..support.twilio_hooks import BASE, STATUS, TOKEN, report, signed_post

pytestmark = pytest.mark.django_db


def events(message: Message) -> list[str]:
    return list(message.events.order_by("at", "id").values_list("event", flat=True))


@pytest.fixture
def report_first(monkeypatch):
    """The simulator's reports arrive after provider.send returned, before its id is stored."""
    original = SimulatorProvider.send

    def send_then_report(self, sms):
        accepted = original(self, sms)
        status, code = {"0005": ("undelivered", "30005")}.get(sms.to[-4:], ("delivered", None))
        simulator_reports_apply(
            status=status, provider_message_id=accepted.provider_message_id, error_code=code
        )
        return accepted

    monkeypatch.setattr(SimulatorProvider, "send", send_then_report)


def test_a_report_faster_than_the_commit_of_its_id_is_applied(tenant, report_first):
    """`sent` then `delivered` came before the id was stored: the message still ends delivered."""
    message = message_for(tenant.workspace, tenant.sender, to="+14155557200")
    message_dispatch(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "delivered" and message.settled_at
    timeline = events(message)
    assert timeline.index("sent_to_carrier") < timeline.index("delivered")
    assert "out_of_order_status_ignored" not in timeline
    assert not PendingReport.objects.exists()
    ledger = SimulatorSubmission.objects.get(message_id=message.id)
    assert ledger.reported_at is not None


def test_a_failure_report_faster_than_the_commit_acts_on_its_class(tenant, report_first):
    """An early `undelivered` 30005 still suppresses the number, as when it comes in order."""
    message = message_for(tenant.workspace, tenant.sender, to="+14155550005")
    message_dispatch(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "undelivered" and message.error["code"] == "unknown_number"
    assert "suppressed" in events(message)


def test_kept_reports_apply_oldest_first_and_never_backwards(tenant):
    """A kept `delivered` then a kept `sent`: delivered, the late `sent` only noted."""
    message = message_claim(
        message_id=message_for(tenant.workspace, tenant.sender, to="+14155557201").id
    )
    sid = "SIM" + uuid.uuid4().hex
    for status in ("delivered", "sent"):
        status_report_apply(
            report=StatusReport(provider="simulator", provider_message_id=sid, status=status)
        )
    assert PendingReport.objects.count() == 2
    mark_sent(message=message, provider_message_id=sid)
    message.refresh_from_db()
    assert message.status == "delivered"
    assert events(message)[-2:] == ["delivered", "out_of_order_status_ignored"]
    assert not PendingReport.objects.exists()


def test_the_same_early_report_twice_is_kept_once(tenant):
    sid = "SIM" + uuid.uuid4().hex
    early = StatusReport(provider="simulator", provider_message_id=sid, status="delivered")
    status_report_apply(report=early)
    status_report_apply(report=early)
    assert PendingReport.objects.filter(provider_message_id=sid).count() == 1


def test_a_report_whose_id_never_appears_expires_after_an_hour(tenant, caplog):
    """Kept for PENDING_REPORT_TTL_SECONDS, then dropped by the messaging sweep with a log line."""
    sid = "SIM" + uuid.uuid4().hex
    status_report_apply(
        report=StatusReport(provider="simulator", provider_message_id=sid, status="delivered")
    )
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=59)):
        sweep()
    assert PendingReport.objects.filter(provider_message_id=sid).exists()
    with (
        caplog.at_level(logging.WARNING, logger="tern.messaging"),
        time_machine.travel(start + timedelta(minutes=61)),
    ):
        sweep()
    assert not PendingReport.objects.filter(provider_message_id=sid).exists()
    assert any(sid in r.getMessage() and "expired" in r.getMessage() for r in caplog.records)


def test_the_sweep_applies_a_kept_report_whose_id_is_known_by_now(tenant):
    """The last net: a report kept while the id's commit was in flight, found by the sweep."""
    message = message_claim(
        message_id=message_for(tenant.workspace, tenant.sender, to="+14155557202").id
    )
    sid = "SIM" + uuid.uuid4().hex
    mark_sent(message=message, provider_message_id=sid)
    PendingReport.objects.create(
        provider="simulator",
        provider_message_id=sid,
        status="delivered",
        received_at=timezone.now(),
    )
    assert pending_reports.pending_reports_sweep() == (1, 0)
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_message_reconciled_after_a_crash_gets_the_simulators_final_report(tenant):
    """Crash after the simulator took it: its report (re-sent by the sweep at 30 s) is kept
    until reconciliation stores the id at 2 min, then applied: delivered, not `sent` for ever."""
    message = message_claim(
        message_id=message_for(tenant.workspace, tenant.sender, to="+14155557203").id
    )
    get_provider("simulator").send(
        OutboundSMS(message.id, message.to_number, message.from_number, message.body)
    )  # the worker died here: no id stored, its report task lost with it
    start = timezone.now()
    with time_machine.travel(start + timedelta(seconds=45)):
        assert sweep_simulator_reports() == 1
    with time_machine.travel(start + timedelta(minutes=3)):
        assert sweep_stuck_sending() == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.events.filter(event="sent_to_carrier", detail__reconciled=True).exists()
    assert sweep_simulator_reports() == 0


def test_twilio_callback_for_an_unknown_sid_answers_200_and_is_kept(
    client, tenant, other_tenant, settings
):
    """CONTRACT §5: 200, nothing changed; the report waits and applies when the sid is stored."""
    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE
    sid = "SM" + uuid.uuid4().hex
    message = message_for(tenant.workspace, tenant.sender, to="+14155557204")
    Message.objects.filter(pk=message.pk).update(provider="twilio")
    bystander = message_for(other_tenant.workspace, other_tenant.sender, to="+14155557205")
    response = signed_post(client, STATUS, report(sid, "delivered"))
    assert response.status_code == 200
    assert PendingReport.objects.filter(provider="twilio", provider_message_id=sid).exists()
    claimed = message_claim(message_id=message.id)
    mark_sent(message=claimed, provider_message_id=sid)
    message.refresh_from_db()
    bystander.refresh_from_db()
    assert message.status == "delivered" and bystander.status == "queued"
