"""A delivery attempt costs two short write transactions, whatever its outcome: the claim, then
the attempt's record with its consequence. Under fan-out these writes bound a worker's rate."""

from contextlib import ExitStack

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from webhooks.events import emit
from webhooks.models import DeliveryAttempt, WebhookDelivery
from webhooks.services.delivery import delivery_attempt
from webhooks.services.endpoints import endpoint_create
from workspaces.audit import Actor

from ..support.receiver import Answer, Receiver

WRITES = ("INSERT", "UPDATE", "DELETE")


def transactions_and_loose_writes(queries) -> tuple[int, list[str]]:
    """Top-level atomic blocks opened (as savepoints inside the test's transaction), and any
    write made outside one (autocommit: a transaction of its own)."""
    depth, opened, loose = 0, 0, []
    for sql in (q["sql"].lstrip().upper() for q in queries):
        if sql.startswith("SAVEPOINT"):
            opened += depth == 0
            depth += 1
        elif sql.startswith(("RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            depth -= sql.startswith("RELEASE")
        elif sql.startswith(WRITES) and depth == 0:
            loose.append(sql[:80])
    return opened, loose


@pytest.fixture
def receiver():
    with ExitStack() as stack:
        yield lambda *script: stack.enter_context(Receiver(script))


def _pending(tenant, url: str) -> WebhookDelivery:
    endpoint_create(
        workspace_id=tenant.workspace.id,
        test=False,
        url=url,
        events=["*"],
        actor=Actor.system("tests"),
    )
    event = emit(workspace_id=tenant.workspace.id, test=False, type="suppression.created", data={})
    return WebhookDelivery.objects.get(event=event)


@pytest.mark.parametrize(
    "answer,status", [(Answer(200), "succeeded"), (Answer(500), "pending"), (Answer(410), "failed")]
)
def test_an_attempt_is_two_write_transactions(tenant, other_tenant, receiver, answer, status):
    server = receiver(answer)
    delivery = _pending(tenant, server.url)
    _pending(other_tenant, server.url)  # another workspace's delivery is not touched
    with CaptureQueriesContext(connection) as captured:
        delivery_attempt(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == status
    assert delivery.response_code == answer.status
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1
    opened, loose = transactions_and_loose_writes(captured.captured_queries)
    assert loose == [], "every write belongs to one of the attempt's transactions"
    assert opened == 2, f"{opened} write transactions for one attempt"
    other = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert other.attempt == 0 and other.status == "pending"
