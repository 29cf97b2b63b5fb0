"""Webhook delivery through a real Celery worker: a sent message's events reach a real receiver,
verified, and a worker killed in the middle of deliveries loses no event."""

import os
import signal
import sys
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from messaging.models import Message
from webhooks.events import HANDOFF_LEASE, LEASE, emit
from webhooks.models import WebhookDelivery
from webhooks.services.endpoints import endpoint_create
from webhooks.services.sweeps import sweep_due_deliveries
from workspaces.audit import Actor

from ..support import workers
from ..support.factories import message_for
from ..support.receiver import Answer, Receiver, verify
from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE_EVENTS = {"message.queued", "message.sent", "message.delivered"}
# `python -c` that runs celery with its clock moved on by argv[1] seconds (ticking from there).
LATER_CELERY = (
    "import sys, time, time_machine;"
    "time_machine.travel(time.time() + float(sys.argv.pop(1)), tick=True).start();"
    "sys.argv[0] = 'celery';"
    "from celery.__main__ import main; main()"
)


def _endpoint(tenant, url: str):
    return endpoint_create(
        workspace_id=tenant.workspace.id,
        test=False,
        url=url,
        events=["*"],
        actor=Actor.system("e2e"),
    )


def _all_succeeded(expected: int) -> bool:
    deliveries = WebhookDelivery.objects.all()
    return deliveries.count() == expected and not deliveries.exclude(status="succeeded").exists()


def test_a_sent_message_reaches_the_receiver_verified(tenant):
    """queued, sent and delivered arrive signed; each joins the timeline as webhook_delivered."""
    with Receiver() as receiver:
        _, secret = _endpoint(tenant, receiver.url)
        message = message_for(tenant.workspace, tenant.sender)
        with celery_processes("worker"):
            wait_for(lambda: _all_succeeded(len(MESSAGE_EVENTS)), timeout=90, interval=0.2)
    payloads = [verify(r, secret) for r in receiver.requests]
    assert {p["type"] for p in payloads} == MESSAGE_EVENTS
    assert {p["data"]["id"] for p in payloads} == {message.id}
    assert all(r.webhook_id == p["id"] for r, p in zip(receiver.requests, payloads, strict=True))
    assert Message.objects.get(pk=message.id).status == "delivered"
    outcomes = Message.objects.get(pk=message.id).events.filter(event="webhook_delivered")
    assert {o.detail["event_type"] for o in outcomes} == MESSAGE_EVENTS


def _kill_group(procs) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _emit_events(tenant, count: int) -> list:
    events = []
    for n in range(count):
        with transaction.atomic():
            events.append(
                emit(
                    workspace_id=tenant.workspace.id,
                    test=False,
                    type="suppression.created",
                    data={"id": f"sup_{n}"},
                )
            )
    return events


def _mid_delivery():
    """Deliveries claimed (attempt counted) whose attempt never got recorded."""
    return WebhookDelivery.objects.filter(status="pending", attempt=1, attempts__isnull=True)


def test_killing_the_worker_mid_delivery_loses_no_event(tenant, monkeypatch):
    """SIGKILL while the receiver holds requests open; after the lease, every event arrives."""
    with Receiver(default=Answer(200, hold=True)) as receiver:
        _, secret = _endpoint(tenant, receiver.url)
        events = _emit_events(tenant, 6)
        with celery_processes("worker") as procs:
            wait_for(lambda: len(receiver.requests) >= 2, timeout=60)
            _kill_group(procs)
        caught = set(_mid_delivery().values_list("event_id", flat=True))
        assert caught, "the kill came too late to prove anything"
        assert not WebhookDelivery.objects.exclude(status="pending").exists()
        receiver.release()
        later = max(LEASE, HANDOFF_LEASE) + timedelta(seconds=1)  # claimed, or still queued
        with time_machine.travel(timezone.now() + later, tick=False):
            assert sweep_due_deliveries() == len(events)
        # The new worker lives after the lease too: its clock runs ahead by as much, and more.
        monkeypatch.setattr(
            workers,
            "CELERY",
            [sys.executable, "-c", LATER_CELERY, str((later * 2).total_seconds()), "-A", "config"],
        )
        with celery_processes("worker"):
            wait_for(lambda: _all_succeeded(len(events)), timeout=90, interval=0.2)
    arrived = Counter(_verified_id(r, secret) for r in receiver.requests)
    assert set(arrived) == {e.id for e in events}
    assert all(arrived[event_id] >= 2 for event_id in caught)
    codes = WebhookDelivery.objects.values_list("attempts__response_code", flat=True)
    assert set(codes) == {200}


def _verified_id(recorded, secret: str) -> str:
    """The event id, once verified at the request's own (possibly moved-on) timestamp."""
    with time_machine.travel(recorded.timestamp, tick=False):
        return verify(recorded, secret)["id"]
