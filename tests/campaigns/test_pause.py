"""Pause keeps every message's status, and a paused campaign submits nothing by any path; resume
sends the rest at the sender's pace; opt-outs during a pause are honoured (CONTRACT §3, §7).

The pump, the booking and the send pool's call at a slot run in process; time moves with
time-machine."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from campaigns.booking import campaign_window_book
from campaigns.models import Campaign
from campaigns.services import lifecycle
from campaigns.services import pump as pump_service
from compliance.models import Suppression
from compliance.services import suppression_create
from messaging import pricing
from messaging.actions.dispatch import message_claim, message_dispatch, submission_failed
from messaging.actions.send import SendInput, message_send
from messaging.actions.sweeps import sweep_due, sweep_stuck_sending
from messaging.models import Message, MessageEvent, Status
from messaging.providers.base import TransientSubmissionError
from messaging.providers.simulator.models import SimulatorSubmission
from messaging.providers.simulator.reports import simulator_reports_apply
from tests.support.campaign_stats import identity_holds
from tests.support.factories import contacts_for, next_number
from workspaces import clock
from workspaces.audit import Actor
from workspaces.errors import TernError
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

# A Tuesday at 11:00 in Los Angeles: inside every quiet-hours window.
MIDDAY = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def midday():
    """The clock stands at MIDDAY (tests move it on with `shift`)."""
    with time_machine.travel(MIDDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """The pump's next turn is run by the test, not by a worker."""
    monkeypatch.setattr(pump_service, "_pump_enqueue", lambda *args, **kwargs: None)


def launched(tenant, count: int) -> tuple[str, list[Message]]:
    """A running campaign of `count` recipients (Los Angeles, with consent), launched by API."""
    phones = [next_number() for _ in range(count)]
    contacts_for(tenant.workspace, phones, tags=("spring",), timezone="America/Los_Angeles")
    client = tenant.client()
    created = client.post(
        "/api/v1/campaigns",
        {
            "name": "Spring",
            "body": "Hi {{first_name}}, spring sale. Reply LEAVE to opt out.",
            "audience": {"tags": ["spring"]},
            "from": tenant.sender.number,
            "opt_out_keywords": ["LEAVE"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    assert act(tenant, cid, "launch")["status"] == "running"
    return cid, list(Message.objects.filter(campaign_id=cid).order_by("id"))


def act(tenant, cid: str, verb: str) -> dict:
    response = tenant.client().post(f"/api/v1/campaigns/{cid}/{verb}")
    assert response.status_code == 200, response.content
    return response.json()


def stats(tenant, cid: str) -> dict:
    return tenant.client().get(f"/api/v1/campaigns/{cid}").json()["stats"]


def assert_identity(s: dict) -> None:
    assert identity_holds(s), s


def pump(cid: str) -> None:
    """One turn of the campaign's current pump chain (as its task would run it)."""
    token = Campaign.objects.get(pk=cid).pump_token
    pump_service.campaign_pump(campaign_id=cid, token=token)


def start_pump(cid: str) -> None:
    """What launch and resume start on commit: a new pump chain, and its first turn."""
    pump_service.pump_start(campaign_id=cid)
    pump(cid)


def at_their_slots(messages) -> None:
    """The send pool's call for each message when its slot comes."""
    for message in messages:
        message_dispatch(message_id=message.id)


def submitted() -> list[str]:
    return list(SimulatorSubmission.objects.values_list("message_id", flat=True))


def deliver_all() -> None:
    """The simulator's reports of every accepted submission (its worker is not running)."""
    for row in SimulatorSubmission.objects.filter(accepted=True, reported_at=None):
        simulator_reports_apply(
            status=row.final_status,
            error_code=row.final_code or None,
            provider_message_id=row.provider_message_id,
        )


def snapshot(cid: str) -> dict:
    return dict(Message.objects.filter(campaign_id=cid).values_list("id", "status"))


def test_pause_changes_no_message_status(tenant, other_tenant):
    """Queued stays queued, sent stays sent; stats still add up; the audit names what waits."""
    cid, messages = launched(tenant, 6)
    theirs, _ = launched(other_tenant, 2)
    Message.objects.filter(pk=messages[0].pk).update(status=Status.SENT)
    before = snapshot(cid)
    timelines = MessageEvent.objects.filter(message__campaign_id=cid).count()
    paused = act(tenant, cid, "pause")
    assert paused["status"] == "paused"
    assert snapshot(cid) == before
    assert paused["stats"]["queued"] == 5 and paused["stats"]["scheduled"] == 0
    assert paused["stats"]["sent"] == 1
    assert_identity(paused["stats"])
    assert MessageEvent.objects.filter(message__campaign_id=cid).count() == timelines
    audit = AuditEvent.objects.get(action="campaign.paused", target_id=cid)
    assert audit.after == {"waiting": 5}
    resumed = act(tenant, cid, "resume")
    assert resumed["status"] == "running" and snapshot(cid) == before
    assert_identity(resumed["stats"])
    assert stats(other_tenant, theirs)["queued"] == 2  # the other workspace's campaign untouched
    assert tenant.client().post(f"/api/v1/campaigns/{theirs}/pause").status_code == 404


def test_a_paused_campaign_submits_nothing_and_resume_finishes_it(tenant):
    """Booked before the pause, due while paused: nothing goes out by the send pool, a retry,
    the pump or the sweeper; statuses stay queued. Resume sends each message exactly once."""
    cid, messages = launched(tenant, 5)
    start_pump(cid)
    booked = Message.objects.filter(campaign_id=cid, due_at__isnull=False)
    assert booked.count() == 5
    at_their_slots(messages[:1])
    assert submitted() == [messages[0].id]
    act(tenant, cid, "pause")

    at_their_slots(messages[1:])  # their slots come while paused
    pump(cid)  # a pump turn already on its way
    assert (
        campaign_window_book(
            campaign_id=cid, sender=tenant.sender.number, seconds=60, campaign_rate=None
        )
        is None
    )
    for minutes in (3, 30, 240):  # the sweeper, long after every slot
        with time_machine.travel(MIDDAY + timedelta(minutes=minutes), tick=False):
            sweep_due()
            sweep_stuck_sending()
            at_their_slots(messages[1:])
    assert submitted() == [messages[0].id]
    waiting = Message.objects.filter(campaign_id=cid).exclude(pk=messages[0].pk)
    assert {m.status for m in waiting} == {Status.QUEUED}
    assert all(m.due_at is None for m in waiting)  # back with the pump, for after the resume
    held = MessageEvent.objects.filter(message__campaign_id=cid, event="held_campaign_paused")
    assert held.count() == 4
    s = stats(tenant, cid)
    assert (s["queued"], s["sent"]) == (4, 1)
    assert_identity(s)

    act(tenant, cid, "resume")
    start_pump(cid)
    assert Message.objects.filter(campaign_id=cid, status=Status.QUEUED, due_at=None).count() == 0
    at_their_slots(messages)
    assert sorted(submitted()) == sorted(m.id for m in messages)  # each exactly once
    deliver_all()
    pump(cid)
    campaign = tenant.client().get(f"/api/v1/campaigns/{cid}").json()
    assert campaign["status"] == "completed"
    assert campaign["stats"]["delivered"] == 5
    assert_identity(campaign["stats"])


def test_a_booked_slot_after_the_resume_goes_once_at_its_slot(tenant):
    """Paused and resumed before the slots came: the booked messages keep their slots and the
    new pump books nothing twice."""
    cid, messages = launched(tenant, 3)
    start_pump(cid)
    act(tenant, cid, "pause")
    act(tenant, cid, "resume")
    start_pump(cid)  # nothing unbooked: it books nothing
    assert not Message.objects.filter(campaign_id=cid, due_at=None).exists()
    at_their_slots(messages)
    at_their_slots(messages)  # a redelivered chunk: the claim takes each once
    assert sorted(submitted()) == sorted(m.id for m in messages)


def test_a_retry_of_a_paused_campaign_waits_for_the_resume(tenant):
    """A submission refused with 500 goes back to queued; its retry comes while paused: held."""
    phone = next_number()[:-4] + "0500"  # the simulator refuses its first submission
    contacts_for(tenant.workspace, [phone], tags=("spring",), timezone="America/Los_Angeles")
    cid, [message] = launched(tenant, 0)
    start_pump(cid)
    at_their_slots([message])
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.attempts == 1
    act(tenant, cid, "pause")
    at_their_slots([message])  # the retry comes (its task, then the pool at its slot)
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.attempts == 1
    act(tenant, cid, "resume")
    with time_machine.travel(MIDDAY + timedelta(minutes=5), tick=False):
        start_pump(cid)
        at_their_slots([message])
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 2


def test_stop_of_a_paused_campaign_cancels_its_waiting_messages(tenant):
    cid, messages = launched(tenant, 4)
    start_pump(cid)
    at_their_slots(messages[:1])
    act(tenant, cid, "pause")
    stopped = act(tenant, cid, "stop")
    assert stopped["status"] == "stopped"
    assert (stopped["stats"]["canceled"], stopped["stats"]["sent"]) == (3, 1)
    assert_identity(stopped["stats"])
    at_their_slots(messages)
    assert submitted() == [messages[0].id]
    canceled = Message.objects.filter(campaign_id=cid, status=Status.CANCELED)
    assert {m.error["code"] for m in canceled} == {"stopped_by_user"}


def test_a_message_back_in_the_queue_after_the_stop_is_canceled_not_retried(tenant):
    """Sending when the campaign stopped, then its attempt failed: its retry finds the campaign
    stopped and cancels it (stopped_by_user, free), so nothing goes out after the stop."""
    cid, messages = launched(tenant, 2)
    start_pump(cid)
    in_flight = message_claim(message_id=messages[0].id)
    stopped = act(tenant, cid, "stop")
    assert (stopped["stats"]["sending"], stopped["stats"]["canceled"]) == (1, 1)
    submission_failed(message=in_flight, exc=TransientSubmissionError("HTTP 500"))
    in_flight.refresh_from_db()
    assert in_flight.status == Status.QUEUED  # waiting for its retry
    at_their_slots([in_flight])
    in_flight.refresh_from_db()
    assert in_flight.status == Status.CANCELED
    assert in_flight.error["code"] == "stopped_by_user" and in_flight.reserved == 0
    assert submitted() == []
    final = stats(tenant, cid)
    assert (final["canceled"], final["queued"], final["sending"]) == (2, 0, 0)
    assert_identity(final)


def test_a_late_retry_after_the_stop_is_canceled_by_the_sweep(tenant, midday):
    """Its third attempt failed after the stop: the retry is two minutes on, past the claim's
    reach (the sweeper hands campaign messages to the pump); the campaign sweep cancels it."""
    cid, messages = launched(tenant, 2)
    start_pump(cid)
    Message.objects.filter(pk=messages[0].pk).update(attempts=2)
    in_flight = message_claim(message_id=messages[0].id)
    act(tenant, cid, "stop")
    submission_failed(message=in_flight, exc=TransientSubmissionError("HTTP 503"))
    midday.shift(timedelta(minutes=3))
    sweep_due()
    pump_service.campaigns_sweep()
    in_flight.refresh_from_db()
    assert in_flight.status == Status.CANCELED and in_flight.error["code"] == "stopped_by_user"
    final = stats(tenant, cid)
    assert (final["canceled"], final["queued"]) == (2, 0)
    assert_identity(final)
    assert submitted() == []


# --- Campaign-scope suppressions ----------------------------------------------------------------


def test_an_opt_out_during_the_pause_is_honoured_at_the_claim(tenant):
    """A campaign suppression recorded while the campaign waits: on resume that recipient's
    message fails with campaign_suppressed, free and never submitted; the others go."""
    cid, messages = launched(tenant, 3)
    act(tenant, cid, "pause")
    opted = messages[1]
    suppression_create(
        workspace_id=tenant.workspace.pk,
        phone=opted.to_number,
        source="keyword",
        scope=Suppression.CAMPAIGN,
        campaign_id=cid,
        actor=Actor.system("opt-out word"),
    )
    act(tenant, cid, "resume")
    start_pump(cid)
    at_their_slots(messages)
    opted.refresh_from_db()
    assert opted.status == Status.FAILED and opted.error["code"] == "campaign_suppressed"
    assert opted.reserved == 0 and opted.settled_at
    assert sorted(submitted()) == sorted([messages[0].id, messages[2].id])
    assert_identity(stats(tenant, cid))
    assert stats(tenant, cid)["failed"] == 1


def test_a_campaign_suppression_refuses_that_campaigns_sends_only(tenant, other_tenant):
    """The campaign's launch skips the number and a send for the campaign is refused with
    campaign_suppressed; a plain API send to it, or another workspace's, still goes."""
    phone = next_number()
    contacts_for(tenant.workspace, [phone], tags=("spring",), timezone="America/Los_Angeles")
    client = tenant.client()
    created = client.post(
        "/api/v1/campaigns",
        {
            "name": "Spring",
            "body": "Hi {{first_name}}",
            "audience": {"tags": ["spring"]},
            "from": tenant.sender.number,
        },
        format="json",
    ).json()
    suppression_create(
        workspace_id=tenant.workspace.pk,
        phone=phone,
        source="api",
        scope=Suppression.CAMPAIGN,
        campaign_id=created["id"],
        actor=Actor.system(),
    )
    launched_now = act(tenant, created["id"], "launch")
    assert launched_now["stats"]["skipped"] == {"campaign_suppressed": 1}
    assert launched_now["stats"]["queued"] == 0
    assert_identity(launched_now["stats"])
    with pytest.raises(TernError) as refused:
        message_send(
            workspace=tenant.workspace,
            test=False,
            data=SendInput(
                to=phone,
                body="Hi",
                from_=tenant.sender.number,
                category="marketing",
                campaign_id=created["id"],
            ),
        )
    assert refused.value.code == "campaign_suppressed" and refused.value.http_status == 422
    plain = client.post(
        "/api/v1/messages",
        {"to": phone, "body": "Your code is 1", "from": tenant.sender.number},
        format="json",
    )
    assert plain.status_code == 202, plain.content
    theirs = other_tenant.client().post(
        "/api/v1/messages",
        {"to": phone, "body": "Code 2", "from": other_tenant.sender.number},
        format="json",
    )
    assert theirs.status_code == 202


# --- A claim and a pause are ordered (PostgreSQL row locks) -----------------------------------


def lock_waiters() -> int:
    """Backends of this database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def in_thread(job) -> threading.Thread:
    """Run `job` on its own thread (and its own database connection)."""

    def run():
        try:
            job()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres_only("row locks: SQLite runs one write transaction at a time")
@pytest.mark.django_db(transaction=True)
def test_a_pause_waits_for_a_claim_in_flight_and_a_claim_for_a_pause(tenant):
    """A claim that has looked (campaign running) holds the row until it commits: the pause
    waits for it, the pump's own updates do not. A claim during a pause's transaction waits and
    then sees the campaign paused."""
    cid, messages = launched(tenant, 2)
    looked, release = threading.Event(), threading.Event()

    def claim_in_flight():
        with transaction.atomic():
            assert lifecycle.campaign_gate(cid, True) is None
            looked.set()
            release.wait(10)

    claim = in_thread(claim_in_flight)
    assert looked.wait(10)
    with transaction.atomic():  # the pump's turn is not held up
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        Campaign.objects.filter(pk=cid).update(pump_at=clock.now())
    pause = in_thread(lambda: act(tenant, cid, "pause"))
    wait_until(lambda: lock_waiters() == 1)
    assert Campaign.objects.get(pk=cid).status == "running"
    release.set()
    claim.join(10)
    pause.join(10)
    assert Campaign.objects.get(pk=cid).status == "paused"

    act(tenant, cid, "resume")
    locked, commit = threading.Event(), threading.Event()

    def pause_slowly():
        with transaction.atomic():
            campaign = Campaign.objects.get(pk=cid)
            lifecycle.campaign_pause(campaign=campaign, actor=Actor.system("test"))
            locked.set()
            commit.wait(10)

    pausing = in_thread(pause_slowly)
    assert locked.wait(10)
    result = []
    claiming = in_thread(lambda: result.append(message_claim(message_id=messages[0].id)))
    wait_until(lambda: lock_waiters() == 1)
    commit.set()
    pausing.join(10)
    claiming.join(10)
    assert result == [None]  # it waited for the pause, then held the message
    message = Message.objects.get(pk=messages[0].pk)
    assert message.status == Status.QUEUED and message.attempts == 0


@pytest.mark.postgres_only("row locks: SQLite runs one write transaction at a time")
@pytest.mark.django_db(transaction=True)
def test_a_stop_and_a_failure_report_take_spend_and_counters_in_one_order(tenant):
    """A report settles spend, then its status change moves the campaign's counters; a stop
    moving the queued messages must take the spend rows first too, or the two deadlock on a
    counter shard they share (PostgreSQL would abort one of them)."""
    cid, messages = launched(tenant, 24)
    shard = {m.id: ord(m.id[-1]) % 8 for m in messages}
    reported = next(
        m for m in messages if any(shard[o.id] == shard[m.id] for o in messages if o != m)
    )
    message_dispatch(message_id=reported.id)
    assert Message.objects.get(pk=reported.pk).status == Status.SENT
    settled, go_on, errors = threading.Event(), threading.Event(), []

    def failure_report():
        try:
            with transaction.atomic():
                message = Message.objects.select_for_update().get(pk=reported.pk)
                pricing.settle(message, status=Status.FAILED, reached_provider=True)
                settled.set()  # the spend row is held, as in lifecycle.finish
                go_on.wait(10)
                message.status = Status.FAILED
                message.save(update_fields=["status", "reserved", "settled_at", "updated_at"])
        except Exception as exc:  # a deadlock victim lands here
            errors.append(exc)

    def stop():
        try:
            act(tenant, cid, "stop")
        except Exception as exc:
            errors.append(exc)

    report = in_thread(failure_report)
    assert settled.wait(10)
    stopping = in_thread(stop)
    wait_until(lambda: lock_waiters() == 1)  # the stop waits for the spend row
    go_on.set()
    report.join(15)
    stopping.join(15)
    assert errors == []
    assert Campaign.objects.get(pk=cid).status == "stopped"
    assert Message.objects.get(pk=reported.pk).status == Status.FAILED
    assert_identity(stats(tenant, cid))
