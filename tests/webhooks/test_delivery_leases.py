"""Delivery leases: a task handed to the broker or taken by a worker holds its delivery, so the
sweeper hands out only deliveries whose lease passed (a waiting task is never enqueued twice), a
duplicate task delivers nothing more, and a backlog is handed out whole by one sweep."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from webhooks.events import HANDOFF_LEASE, LEASE, emit, emit_many
from webhooks.models import WebhookDelivery
from webhooks.services.delivery import _claim
from webhooks.services.endpoints import endpoint_create
from webhooks.services.sweeps import sweep_due_deliveries
from webhooks.tasks import deliver_webhook
from workspaces.audit import Actor

from ..support.receiver import Answer, Receiver

ACTOR = Actor.system("webhook lease tests")


@pytest.fixture
def t0():
    """A whole second a little ahead of now, where each test's story starts."""
    return timezone.now().replace(microsecond=0) + timedelta(minutes=1)


@pytest.fixture
def published(monkeypatch):
    """Every deliver_webhook task published, as (delivery id, options), instead of the broker."""
    sent = []
    monkeypatch.setattr(
        deliver_webhook, "apply_async", lambda args, **kw: sent.append((args[0], kw))
    )
    return sent


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def _at(moment):
    return time_machine.travel(moment, tick=False)


def _endpoint(tenant, url: str, *, workspace=None):
    workspace = workspace or tenant.workspace
    endpoint, _ = endpoint_create(
        workspace_id=workspace.id, test=False, url=url, events=["*"], actor=ACTOR
    )
    return endpoint


def _emit(tenant, commit):
    with commit(execute=True):
        event = emit(
            workspace_id=tenant.workspace.id,
            test=False,
            type="suppression.created",
            data={"id": "sup_lease"},
        )
    return WebhookDelivery.objects.get(event=event)


def _sweep(moment, commit) -> int:
    with _at(moment), commit(execute=True):
        return sweep_due_deliveries()


def test_sweeping_twice_enqueues_a_waiting_delivery_once_until_its_lease_expires(
    tenant, receiver, t0, published, django_capture_on_commit_callbacks
):
    """A delivery whose task waits in the broker is not enqueued again by every sweep; once its
    lease passed (the task was lost) one sweep hands it out again, with a new lease."""
    commit = django_capture_on_commit_callbacks
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _emit(tenant, commit)
    assert [d for d, _ in published] == [delivery.id]
    for later in (1, 15, 30, 60, HANDOFF_LEASE.total_seconds() - 1):
        assert _sweep(t0 + timedelta(seconds=later), commit) == 0
    assert len(published) == 1
    expired = t0 + HANDOFF_LEASE + timedelta(seconds=1)
    assert _sweep(expired, commit) == 1
    assert _sweep(expired, commit) == 0
    assert _sweep(expired + timedelta(seconds=15), commit) == 0
    assert [d for d, _ in published] == [delivery.id, delivery.id]
    assert _sweep(expired + HANDOFF_LEASE + timedelta(seconds=1), commit) == 1


def test_a_delivery_waiting_behind_a_long_backlog_is_handed_out_again_rarely(
    tenant, receiver, t0, published, django_capture_on_commit_callbacks
):
    """A task that waits an hour in a broker backlog (never taken): a sweep every 15 s hands the
    delivery out again only as often as its wait doubles (at 5, 10, 20 and 40 min), not every
    5 minutes; each new lease is as long as the delivery has already waited."""
    commit = django_capture_on_commit_callbacks
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _emit(tenant, commit)
    handed = [_sweep(t0 + timedelta(seconds=s), commit) for s in range(15, 3600, 15)]
    assert sum(handed) == 4
    assert len(published) == 5  # the first hand-off at the emit, then four
    delivery.refresh_from_db()
    waited = delivery.leased_until - t0
    assert timedelta(minutes=80) <= waited <= timedelta(minutes=81)


def test_an_attempt_that_died_is_handed_out_after_its_lease_only(
    tenant, receiver, t0, published, django_capture_on_commit_callbacks
):
    """A worker that claimed a delivery and died holds it for LEASE; then the sweep hands it out."""
    commit = django_capture_on_commit_callbacks
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _emit(tenant, commit)
    claimed_at = t0 + HANDOFF_LEASE + timedelta(seconds=1)  # its task waited, then was taken
    with _at(claimed_at):
        assert _claim(delivery.id) is not None  # ... and the worker died
    assert _sweep(claimed_at + LEASE - timedelta(seconds=1), commit) == 0
    assert _sweep(claimed_at + LEASE + timedelta(seconds=1), commit) == 1
    assert receiver.requests == []


def test_a_duplicate_task_delivers_once(
    tenant, receiver, t0, published, django_capture_on_commit_callbacks
):
    """Two tasks for one delivery (the original and a sweep's): one request, one attempt."""
    commit = django_capture_on_commit_callbacks
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _emit(tenant, commit)
    assert _sweep(t0 + HANDOFF_LEASE + timedelta(seconds=1), commit) == 1
    with _at(t0 + HANDOFF_LEASE + timedelta(seconds=2)):
        for delivery_id, _ in list(published):
            deliver_webhook(delivery_id)
    delivery.refresh_from_db()
    assert len(published) == 2 and len(receiver.requests) == 1
    assert (delivery.status, delivery.attempt, delivery.leased_until) == ("succeeded", 1, None)


def test_a_duplicate_task_after_a_failed_attempt_waits_for_the_retry(
    tenant, receiver, t0, published, django_capture_on_commit_callbacks
):
    """A duplicate arriving before the 5 s retry is due does nothing; the retry then delivers."""
    commit = django_capture_on_commit_callbacks
    receiver.then(Answer(500))
    _endpoint(tenant, receiver.url)
    with _at(t0):
        delivery = _emit(tenant, commit)
    with _at(t0), commit(execute=True):
        deliver_webhook(delivery.id)
    with _at(t0 + timedelta(seconds=1)):
        deliver_webhook(delivery.id)  # the duplicate
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert _sweep(delivery.next_retry_at + timedelta(seconds=1), commit) == 0  # the countdown's
    with _at(delivery.next_retry_at):
        deliver_webhook(delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempt == 2
    assert len(receiver.requests) == 2


def test_a_backlog_is_handed_out_whole_by_one_sweep(
    tenant, other_tenant, receiver, t0, published, django_capture_on_commit_callbacks
):
    """1,200 deliveries whose tasks were lost: one sweep hands out every one, over one broker
    connection, and the next sweep none; the other workspace's deliveries are handed out too."""
    commit = django_capture_on_commit_callbacks
    _endpoint(tenant, receiver.url)
    _endpoint(other_tenant, receiver.url, workspace=other_tenant.workspace)
    items = [{"id": f"sup_{n}"} for n in range(1200)]
    with _at(t0), commit(execute=False):  # the creation's tasks never reach the broker
        emit_many(
            workspace_id=tenant.workspace.id, test=False, type="suppression.created", items=items
        )
        emit(
            workspace_id=other_tenant.workspace.id,
            test=False,
            type="suppression.created",
            data={"id": "sup_other"},
        )
    assert WebhookDelivery.objects.count() == 1201 and published == []
    expired = t0 + HANDOFF_LEASE + timedelta(seconds=1)
    assert _sweep(expired, commit) == 1201
    ids = [d for d, _ in published]
    assert sorted(ids) == sorted(WebhookDelivery.objects.values_list("id", flat=True))
    assert len({id(options["producer"]) for _, options in published}) == 1
    assert _sweep(expired + timedelta(seconds=15), commit) == 0
    assert len(published) == 1201
