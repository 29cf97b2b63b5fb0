"""The send path through a real Celery worker: every simulator outcome, retries, suppression,
review, settlement — and a worker killed mid-run losing nothing and sending nothing twice."""

import os
import signal
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from compliance.models import Suppression
from messaging.actions.send import SendInput, message_send
from messaging.actions.sweeps import sweep_due, sweep_stuck_sending
from messaging.models import FINAL_STATUSES, Message
from messaging.pricing import PROCESSING_FEE
from messaging.providers.simulator.models import SimulatorSubmission
from messaging.providers.simulator.reports import sweep_simulator_reports
from workspaces.selectors import month_to_date_spend

from ..support.factories import short_code_for
from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# Submitted to the provider: a message passes `sent` on its way to `delivered` (2 s later).
REACHED = ("sent", "delivered")

ENDINGS = ["0100", "0003", "0005", "0006", "0007", "0429", "0500"]


def _send_each_ending(tenant) -> dict[str, str]:
    """One message per simulator outcome, through the API; ending → message id."""
    client = tenant.client()
    ids = {}
    for ending in ENDINGS:
        response = client.post(
            "/api/v1/messages",
            {"to": f"+1415555{ending}", "from": tenant.sender.number, "body": f"hello {ending}"},
            format="json",
        )
        assert response.status_code == 202, response.content
        ids[ending] = response.json()["id"]
    return ids


def _settled(ids) -> bool:
    return all(m.status in FINAL_STATUSES for m in Message.objects.filter(pk__in=ids))


def _timeline(message_id: str) -> list[str]:
    return [e["event"] for e in Message.objects.get(pk=message_id).events.values("event")]


def test_every_simulator_outcome_reaches_its_final_state(tenant, other_tenant):
    """Each outcome of CONTRACT §5 ends in its status, error, timeline and side effects."""
    ids = _send_each_ending(tenant)
    with celery_processes("worker"):
        wait_for(lambda: _settled(ids.values()), timeout=90)
    messages = {ending: Message.objects.get(pk=mid) for ending, mid in ids.items()}
    expected = {
        "0100": ("delivered", None),
        "0003": ("failed", "unreachable_handset"),
        "0005": ("undelivered", "unknown_number"),
        "0006": ("undelivered", "landline_or_unreachable_carrier"),
        "0007": ("failed", "carrier_filtered"),
        "0429": ("delivered", None),
        "0500": ("delivered", None),
    }
    for ending, (status, code) in expected.items():
        message = messages[ending]
        assert message.status == status, ending
        assert (message.error or {}).get("code") == code, ending
    assert _timeline(ids["0100"]) == [
        "api_request_received",
        "policy_passed",
        "queued",
        "sent_to_carrier",
        "delivered",
    ]
    assert messages["0003"].error["provider_code"] == "30003"
    assert messages["0003"].error["retry"] == "retry_with_backoff"
    for ending in ("0429", "0500"):
        assert "retry_scheduled" in _timeline(ids[ending])
        assert SimulatorSubmission.objects.filter(message_id=ids[ending]).count() == 2
    suppressed = set(
        Suppression.objects.filter(active=True, source="carrier").values_list("phone", flat=True)
    )
    assert suppressed == {"+14155550005", "+14155550006"}
    assert messages["0007"].review == "pending" and messages["0100"].review == ""
    assert not Suppression.objects.for_workspace(other_tenant.workspace).exists()


def test_spend_settles_to_the_final_charges(tenant):
    """Delivered and undelivered pay in full, a failure after acceptance pays the fee."""
    ids = _send_each_ending(tenant)
    with celery_processes("worker"):
        wait_for(lambda: _settled(ids.values()), timeout=90)
    messages = Message.objects.filter(pk__in=ids.values())
    full = sum(m.price for m in messages if m.status in ("delivered", "undelivered"))
    fees = PROCESSING_FEE * messages.filter(status="failed").count()
    assert month_to_date_spend(workspace=tenant.workspace) == full + fees
    assert all(m.settled_at for m in messages)


def _sweep_as_if(minutes: int, *, stuck: bool = False) -> None:
    """Run beat's sweep in process with the clock moved on (lost tasks, reports, stuck sends).

    Stuck sends are reconciled only while no worker runs: moving the clock here does not move
    the worker's, and a send it has in flight is not stuck.
    """
    with time_machine.travel(timezone.now() + timedelta(minutes=minutes)):
        if stuck:
            sweep_stuck_sending()
        sweep_due()
        sweep_simulator_reports()


def _kill_group(procs) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _reconciled(message_id: str) -> bool:
    """The message's timeline shows the sweep's reconciliation (queued again, or found sent)."""
    events = Message.objects.get(pk=message_id).events
    return (
        events.filter(event="reconciled").exists()
        or events.filter(event="sent_to_carrier", detail__reconciled=True).exists()
    )


def test_worker_killed_mid_run_loses_nothing_and_sends_nothing_twice(tenant):
    """SIGKILL in the middle of 1,000 sends, with sends caught mid-call (the provider answering
    slowly, as across a network), restart: the ones caught mid-call are reconciled — those the
    provider had become sent without a second submission — each message is submitted exactly
    once, and none is lost."""
    tenant.workspace.rate_limit_per_second = 500
    sender = short_code_for(tenant.workspace)  # 100/s: a long code would pace this to 17 min
    numbers = [f"+1415556{i:04d}" for i in range(1000, 2000)]  # no scripted endings
    ids = [
        message_send(
            workspace=tenant.workspace,
            test=False,
            data=SendInput(to=number, body="your code is 1234", from_=sender.number),
        ).id
        for number in numbers
    ]

    def mid_call() -> bool:
        """Well into the run, with a send the provider took still waiting for its answer."""
        taken = SimulatorSubmission.objects.values("message_id")
        return Message.objects.filter(status__in=REACHED).count() >= 150 and (
            Message.objects.filter(status="sending", pk__in=taken).exists()
        )

    with celery_processes("worker", include=["tests.support.slow_simulator"]) as procs:
        wait_for(mid_call, timeout=120, interval=0.05)  # its answer takes 1 s: kill well within
        _kill_group(procs)
    ledger = SimulatorSubmission.objects.filter(message_id__in=ids)
    submitted = set(ledger.values_list("message_id", flat=True))
    assert len(submitted) < len(ids), "the kill came after the last submission: nothing to lose"
    caught = set(Message.objects.filter(status="sending").values_list("id", flat=True))
    provider_had = caught & submitted  # accepted, but the worker died before hearing back
    assert provider_had, f"no send caught after the provider took it ({len(caught)} mid-call)"
    _sweep_as_if(minutes=5, stuck=True)
    assert not Message.objects.filter(status="sending").exists()
    assert all(_reconciled(mid) for mid in caught)
    found_sent = Message.objects.filter(pk__in=provider_had)
    assert set(found_sent.values_list("status", flat=True)) <= set(REACHED)
    with celery_processes("worker"):

        def healed():
            _sweep_as_if(minutes=5)
            return _settled(ids)

        wait_for(healed, timeout=240, interval=1)
    print(f"killed with {len(ids) - len(submitted)} never submitted, {len(caught)} mid-call")
    # Exactly one submission per message: none twice (the reconciled ones included), none lost.
    assert ledger.count() == len(ids) == len(set(ledger.values_list("message_id", flat=True)))
    assert not ledger.filter(accepted=False).exists()
    statuses = set(Message.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == {"delivered"}
    assert month_to_date_spend(workspace=tenant.workspace) <= Decimal("0.0079") * 1000


def test_a_batch_fans_out_to_the_worker_and_is_delivered(tenant):
    """Batch items reach the worker through fan-out tasks and are delivered like lone sends."""
    sender = short_code_for(tenant.workspace)
    items = [
        {"to": f"+1415557{i:04d}", "from": sender.number, "body": f"batch {i}"}
        for i in range(1000, 1150)
    ]
    results = tenant.client().post("/api/v1/messages/batch", {"messages": items}, format="json")
    ids = [r["message"]["id"] for r in results.json()["results"]]
    assert len(ids) == 150
    with celery_processes("worker"):
        wait_for(lambda: _settled(ids), timeout=120)
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"delivered"}
