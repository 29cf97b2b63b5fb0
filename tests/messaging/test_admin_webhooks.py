"""The admin's message page lists the message's webhook deliveries, each with a replay action."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from webhooks.models import WebhookDelivery
from webhooks.services.endpoints import endpoint_create
from webhooks.tasks import deliver_webhook
from workspaces.audit import Actor
from workspaces.models import AuditEvent

from ..support.factories import message_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    """A client logged in as a superuser."""
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@tern.test", "pw"))
    return client


def _message_with_delivery(tenant, endpoints: int = 1):
    """A message of the tenant and the delivery of its message.queued event to each of
    `endpoints` endpoints: (message, first delivery), the others in `message.deliveries`."""
    made = [
        endpoint_create(
            workspace_id=tenant.workspace.pk,
            test=False,
            url=f"http://127.0.0.1:9/hook{i}",
            events=["*"],
            actor=Actor.system(),
        )[0]
        for i in range(endpoints)
    ]
    with transaction.atomic():
        message = message_for(tenant.workspace, tenant.sender)
    message.deliveries = [
        WebhookDelivery.objects.get(endpoint=e, event__data__id=message.id) for e in made
    ]
    return message, message.deliveries[0]


@pytest.fixture
def enqueued(monkeypatch) -> list:
    """(args, options) of every deliver_webhook task published."""
    published = []
    monkeypatch.setattr(
        deliver_webhook, "apply_async", lambda args, **options: published.append((args, options))
    )
    return published


def test_message_page_lists_its_deliveries(staff_client, tenant, other_tenant):
    """Each delivery of the message's events shows with its event, endpoint, status and a replay
    form; another message's (another workspace's) deliveries do not."""
    message, _ = _message_with_delivery(tenant, endpoints=2)
    _, foreign = _message_with_delivery(other_tenant)
    response = staff_client.get(f"/admin/messaging/message/{message.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "message.queued" in page
    for delivery in message.deliveries:
        replay = f"/admin/messaging/message/{message.pk}/replay-delivery/{delivery.id}/"
        assert delivery.id in page and delivery.endpoint.url in page
        assert f'<form method="post" action="{replay}">' in page
    assert page.count(">Replay</button>") == 2
    assert "<td>pending</td>" in page
    assert foreign.id not in page and foreign.event_id not in page


def test_replay_from_the_admin_queues_the_delivery_again_and_is_audited(
    staff_client, tenant, enqueued, django_capture_on_commit_callbacks
):
    """POST replay: the delivery is pending again, due now, its task is published to the
    webhooks queue, and the staff action is in the audit log; GET does nothing."""
    message, delivery = _message_with_delivery(tenant)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", step=3, next_retry_at=None
    )
    url = f"/admin/messaging/message/{message.pk}/replay-delivery/{delivery.id}/"
    assert staff_client.get(url).status_code == 403
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/messaging/message/{message.pk}/change/"
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.event_id
    assert delivery.step == 0 and delivery.next_retry_at is not None
    assert enqueued == [((delivery.id,), {"queue": "webhooks", "countdown": None})]
    audit = AuditEvent.objects.for_workspace(tenant.workspace).filter(
        action="webhook_delivery.replayed", target_id=delivery.id
    )
    assert audit.get().actor_type == "staff"


def test_another_workspaces_delivery_cannot_be_replayed_through_this_message(
    staff_client, tenant, other_tenant, enqueued, django_capture_on_commit_callbacks
):
    """The delivery id must belong to the message's workspace: 404, and the foreign delivery is
    left as it was — not queued, not audited."""
    message, _ = _message_with_delivery(tenant)
    _, foreign = _message_with_delivery(other_tenant)
    WebhookDelivery.objects.filter(pk=foreign.pk).update(status="failed")
    url = f"/admin/messaging/message/{message.pk}/replay-delivery/{foreign.id}/"
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(url).status_code == 404
    assert WebhookDelivery.objects.get(pk=foreign.pk).status == "failed"
    assert enqueued == []
    replayed = AuditEvent.objects.filter(action="webhook_delivery.replayed")
    assert not replayed.exists()
