"""Retention (CONTRACT §13): what is past its period goes, in bounded batches; evidence stays."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction

from messaging.models import DuplicateGuard, IdempotencyKey, Message
from messaging.providers.simulator.models import SimulatorSubmission
from messaging.records import ProviderExchange, Refusal
from webhooks.events import emit
from webhooks.models import DeliveryAttempt, Event, WebhookDelivery
from webhooks.services.endpoints import endpoint_create
from workspaces import clock
from workspaces.audit import Actor
from workspaces.retention import purge_run, registered_purges

from ..support.factories import message_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


def _refusal(tenant, code="invalid_number"):
    return Refusal.objects.create(workspace=tenant.workspace, code=code, created_at=clock.now())


def _exchange(tenant, message):
    return ProviderExchange.objects.create(
        workspace=tenant.workspace, message_id=message.id, at=clock.now(), kind="request"
    )


def _webhook_trail(tenant):
    """An event with a delivery and one attempt, made now."""
    endpoint, _ = endpoint_create(
        workspace_id=tenant.workspace.pk,
        test=False,
        url="http://127.0.0.1:9/hook",
        events=["*"],
        actor=Actor.system(),
    )
    with transaction.atomic():
        event = emit(
            workspace_id=tenant.workspace.pk, test=False, type="message.sent", data={"id": "x"}
        )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event=event)
    DeliveryAttempt.objects.create(
        workspace=tenant.workspace, delivery=delivery, number=1, at=clock.now()
    )
    return event


def _at(moment, make):
    with time_machine.travel(moment, tick=False):
        return make()


def test_old_records_go_new_ones_and_evidence_stay(tenant, other_tenant):
    old_message = _at(OLD, lambda: message_for(tenant.workspace, tenant.sender))
    old = {
        "refusal": _at(OLD, lambda: _refusal(tenant)),
        "exchange": _at(OLD, lambda: _exchange(tenant, old_message)),
        "event": _at(OLD, lambda: _webhook_trail(tenant)),
        "theirs": _at(OLD, lambda: _refusal(other_tenant, "rate_limited")),
    }
    kept = {
        "evidence": [
            _at(OLD, lambda c=c: _refusal(tenant, c))
            for c in ("workspace_suppressed", "campaign_suppressed", "consent_required")
        ],
        "refusal": _at(RECENT, lambda: _refusal(tenant)),
        "exchange": _at(RECENT, lambda: _exchange(tenant, old_message)),
        "event": _at(RECENT, lambda: _webhook_trail(tenant)),
    }
    with time_machine.travel(NOW, tick=False):
        purge_run()
    gone = [old["refusal"].pk, old["theirs"].pk]
    assert not Refusal.objects.filter(pk__in=gone).exists()
    assert not ProviderExchange.objects.filter(pk=old["exchange"].pk).exists()
    assert not Event.objects.filter(pk=old["event"].pk).exists()
    assert not WebhookDelivery.objects.filter(event_id=old["event"].pk).exists()
    assert set(Refusal.objects.values_list("pk", flat=True)) == {
        *(r.pk for r in kept["evidence"]),
        kept["refusal"].pk,
    }
    assert ProviderExchange.objects.filter(pk=kept["exchange"].pk).exists()
    assert DeliveryAttempt.objects.filter(delivery__event=kept["event"]).count() == 1
    # Messages and their timelines are never purged, however old.
    assert Message.objects.filter(pk=old_message.pk).exists() and old_message.events.exists()


def test_purges_run_in_bounded_batches(tenant):
    with time_machine.travel(OLD, tick=False):
        Refusal.objects.bulk_create(
            [
                Refusal(workspace=tenant.workspace, code="invalid_number", created_at=clock.now())
                for _ in range(25)
            ]
        )
    with time_machine.travel(NOW, tick=False):
        assert purge_run(batch_size=10, max_batches=2)["messaging.refusals"] == 20
        assert Refusal.objects.count() == 5
        assert purge_run(batch_size=10, max_batches=2)["messaging.refusals"] == 5
    assert not Refusal.objects.exists()


def test_periods_come_from_settings(tenant, settings):
    settings.RETENTION_REFUSALS_DAYS = 60
    _at(OLD, lambda: _refusal(tenant))
    with time_machine.travel(NOW, tick=False):
        purge_run()
    assert Refusal.objects.count() == 1


def test_idempotency_keys_guards_and_the_simulator_ledger_expire(tenant):
    def make():
        now = clock.now()
        IdempotencyKey.objects.create(
            workspace=tenant.workspace,
            key=str(now),
            path="/p",
            request_hash="h",
            created_at=now,
            expires_at=now + timedelta(hours=24),
        )
        window = now + timedelta(seconds=60)
        DuplicateGuard.objects.create(
            workspace=tenant.workspace, fingerprint=str(now), message_id="m", expires_at=window
        )
        SimulatorSubmission.objects.create(
            message_id="msg_x",
            to_number="+1",
            from_number="+1",
            body="b",
            accepted=True,
            answer="accepted",
        )

    _at(NOW - timedelta(days=8), make)
    _at(NOW - timedelta(hours=1), make)
    with time_machine.travel(NOW, tick=False):
        purge_run()
    assert IdempotencyKey.objects.count() == 1
    assert DuplicateGuard.objects.count() == 0  # the newer one's 60 s window has passed too
    assert SimulatorSubmission.objects.count() == 1


def test_every_purge_is_registered_and_beat_runs_them():
    assert {
        "messaging.refusals",
        "messaging.provider_log",
        "messaging.idempotency_keys",
        "messaging.duplicate_guards",
        "messaging.simulator_ledger",
        "webhooks.attempts",
        "webhooks.deliveries",
        "webhooks.events",
    } <= set(registered_purges())
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"workspaces.tasks.retention_purge", "workspaces.tasks.clear_sessions"} <= tasks
