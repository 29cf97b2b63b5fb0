"""Concurrency claims proven with real processes and threads: spend, idempotency, STOP vs claim."""

import multiprocessing
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from compliance.services import suppression_create
from messaging.actions.dispatch import message_claim
from messaging.models import Message
from messaging.providers.simulator.models import SimulatorSubmission
from workspaces.audit import Actor
from workspaces.locks import phone_lock
from workspaces.models import Workspace
from workspaces.selectors import month_to_date_spend

from ..support.factories import message_for
from ..support.http_load import post_all, post_at_once
from ..support.workers import wait_for

US_RATE = Decimal("0.0079")


def _unthrottled(workspace) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(rate_limit_per_second=500)


@pytest.mark.django_db(transaction=True)
def test_spend_limit_holds_under_200_sends_from_8_processes(live_server, tenant, other_tenant):
    """A limit that allows exactly 100 messages: exactly 100 accepted, 100 refused, no overspend."""
    _unthrottled(tenant.workspace)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(spend_limit=US_RATE * 100)
    payloads = [
        {"to": f"+1415558{i:04d}", "from": tenant.sender.number, "body": f"code {i}"}
        for i in range(1000, 1200)
    ]
    chunks = [payloads[i::8] for i in range(8)]
    url = f"{live_server.url}/api/v1/messages"
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.starmap(
            post_all, [(url, tenant.secrets[("owner", "live")], chunk) for chunk in chunks]
        )
    statuses = [status for chunk in results for status, _ in chunk]
    assert statuses.count(202) == 100 and statuses.count(402) == 100, sorted(set(statuses))
    assert month_to_date_spend(workspace=tenant.workspace) == US_RATE * 100
    assert Message.objects.for_workspace(tenant.workspace).count() == 100
    assert month_to_date_spend(workspace=other_tenant.workspace) == 0


@pytest.mark.django_db(transaction=True)
def test_fifty_requests_with_one_idempotency_key_make_one_message(live_server, tenant):
    """One message, one charge; the others replay it or are told it is in flight."""
    _unthrottled(tenant.workspace)
    payload = {"to": "+14155559100", "from": tenant.sender.number, "body": "once"}
    results = post_at_once(
        f"{live_server.url}/api/v1/messages",
        tenant.secrets[("owner", "live")],
        payload,
        50,
        headers={"Idempotency-Key": "order-17"},
    )
    assert Message.objects.for_workspace(tenant.workspace).count() == 1
    assert month_to_date_spend(workspace=tenant.workspace) == US_RATE
    accepted = [body for status, body, _ in results if status == 202]
    assert accepted and len(set(accepted)) == 1  # replays are byte-identical to the first
    assert {status for status, _, _ in results} <= {202, 409}
    replay = post_all(
        f"{live_server.url}/api/v1/messages",
        tenant.secrets[("owner", "live")],
        [payload],
        headers={"Idempotency-Key": "order-17"},
    )
    assert replay == [(202, accepted[0])]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_stop_committed_before_the_claim_blocks_it(tenant):
    """A suppression holding the (workspace, phone) lock makes the claim wait, then lose."""
    message = message_for(tenant.workspace, tenant.sender, to="+14155559101")
    stop_written, release = threading.Event(), threading.Event()

    def stop():
        with transaction.atomic():
            suppression_create(
                workspace_id=tenant.workspace.pk,
                phone=message.to_number,
                source="keyword",
                actor=Actor.system("STOP"),
            )
            stop_written.set()
            release.wait(30)
        connection.close()

    def claim(out):
        out.append(message_claim(message_id=message.id))
        connection.close()

    claimed = []
    stopper = threading.Thread(target=stop)
    stopper.start()
    stop_written.wait(30)
    claimer = threading.Thread(target=claim, args=(claimed,))
    claimer.start()
    wait_for(_someone_waits_on_an_advisory_lock, timeout=30)
    release.set()
    stopper.join(30)
    claimer.join(30)
    message.refresh_from_db()
    assert claimed == [None]
    assert message.status == "failed" and message.error["code"] == "workspace_suppressed"
    assert not SimulatorSubmission.objects.filter(message_id=message.id).exists()


def _someone_waits_on_an_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_phone_lock_serialises_two_transactions(tenant):
    """The lock itself: the second holder waits for the first to commit."""
    order, first_in = [], threading.Event()

    def hold(name, wait_event=None):
        with transaction.atomic():
            phone_lock(workspace_id=tenant.workspace.pk, phone="+14155559102")
            order.append(f"{name} in")
            if wait_event:
                first_in.set()
                wait_for(_someone_waits_on_an_advisory_lock, timeout=30)
            order.append(f"{name} out")
        connection.close()

    first = threading.Thread(target=hold, args=("first", True))
    first.start()
    first_in.wait(30)
    second = threading.Thread(target=hold, args=("second",))
    second.start()
    first.join(30)
    second.join(30)
    assert order == ["first in", "first out", "second in", "second out"]
