"""The admin's message page lists the message's webhook deliveries, each with a replay action."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_create
from workspaces.audit import Actor
from workspaces.models import AuditEvent

from ..factories import message_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    """A client logged in as a superuser."""
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@tern.test", "pw"))
    return client


def _message_with_delivery(tenant):
    endpoint, _ = endpoint_create(workspace_id=tenant.workspace.pk, test=False,
                                  url="http://127.0.0.1:9/hook", events=["*"],
                                  actor=Actor.system())  # fmt: skip
    with transaction.atomic():
        message = message_for(tenant.workspace, tenant.sender)
    return message, WebhookDelivery.objects.get(endpoint=endpoint, event__data__id=message.id)


def test_message_page_lists_its_deliveries(staff_client, tenant, other_tenant):
    """The delivery of the message.queued event shows with its endpoint and status."""
    message, delivery = _message_with_delivery(tenant)
    page = staff_client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    assert delivery.id in page and "message.queued" in page and "127.0.0.1:9/hook" in page


def test_replay_from_the_admin_queues_the_delivery_again_and_is_audited(staff_client, tenant):
    """POST replay: the delivery is pending again and the staff action is in the audit log."""
    message, delivery = _message_with_delivery(tenant)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_retry_at=None)
    url = f"/admin/messaging/message/{message.pk}/replay-delivery/{delivery.id}/"
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url).status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.event_id
    audit = AuditEvent.objects.for_workspace(tenant.workspace).filter(
        action="webhook_delivery.replayed", target_id=delivery.id
    )
    assert audit.get().actor_type == "staff"


def test_another_workspaces_delivery_cannot_be_replayed_through_this_message(
    staff_client, tenant, other_tenant
):
    """The delivery id must belong to the message's workspace."""
    message, _ = _message_with_delivery(tenant)
    _, foreign = _message_with_delivery(other_tenant)
    url = f"/admin/messaging/message/{message.pk}/replay-delivery/{foreign.id}/"
    assert staff_client.post(url).status_code == 404
