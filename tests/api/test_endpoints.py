"""Every list and detail endpoint of /api/v1 through one check (tests/support/api.py): the rows
answered, the roles and scopes let in and refused, the other workspace's ids, and a query count
that stays flat as rows are added. The table must name every GET route the URLconf has."""

import pytest
from django.urls import resolve

from campaigns.models import Campaign, ContactImport
from campaigns.services.contacts import contact_create
from campaigns.services.templates import template_create
from compliance.exports.run import export_run
from compliance.models import Export
from compliance.services import consent_record, suppression_create
from messaging.models import Message
from messaging.records import ProviderExchange, Refusal
from messaging.timeline import event_add
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.models import Invitation
from workspaces.services import member_add

from ..support.api import DETAIL, FILE, LIST, Endpoint, assert_get, assert_queries_flat
from ..support.factories import UserFactory, next_number, sender_for, token_for
from ..support.object_routes import api_routes, concrete_path
from ..support.objects import OBJECT_OF

pytestmark = pytest.mark.django_db


# Fresh rows, one more each call (OBJECT_OF hands back the tenant's own token and sender, and
# makes suppressions, consents, contacts and templates of fixed numbers and names).
def _token(t):
    return token_for(t.workspace, "viewer")[0]


def _sender(t):
    return sender_for(t.workspace)


def _member(t):
    return member_add(workspace=t.workspace, user=UserFactory(), role="viewer")


def _audit_event(t):
    return audit_record(
        workspace=t.workspace,
        actor=Actor.system(),
        action="test.checked",
        target_type="test",
        target_id=next_number(),
    )


def _suppression(t):
    return suppression_create(
        workspace_id=t.workspace.pk, phone=next_number(), source="api", actor=Actor.system()
    )[0]


def _consent(t):
    return consent_record(
        workspace_id=t.workspace.pk, phone=next_number(), method="api", actor=Actor.system()
    )


def _contact(t):
    return contact_create(workspace_id=t.workspace.pk, phone=next_number())


def _template(t):
    return template_create(workspace_id=t.workspace.pk, name=f"t{next_number()}", body="Hi")


def _completed_export(t) -> Export:
    """An export the worker has written, ready to download."""
    export = OBJECT_OF[Export](t)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == Export.COMPLETED, export.error
    return export


def _exchanges(t, message, n: int) -> None:
    """`n` more provider exchanges filed under the message."""
    ProviderExchange.objects.bulk_create(
        ProviderExchange(
            workspace=t.workspace,
            message_id=message.pk,
            provider="simulator",
            at=clock.now(),
            kind="request",
            method="POST",
            url="https://p.test/m",
        )
        for _ in range(n)
    )


def _logged_message(t) -> Message:
    message = OBJECT_OF[Message](t)
    _exchanges(t, message, 1)
    return message


def _exchange_count(message) -> int:
    return ProviderExchange.objects.filter(message_id=message.pk).count()


def _timeline(t, message, n: int) -> None:
    """`n` more steps on the message's timeline."""
    for i in range(n):
        event_add(message, "test_step", {"i": i})


def _senders(t, workspace, n: int) -> None:
    for _ in range(n):
        sender_for(t.workspace)


def _pair(path: str, scope: str, make, max_list: int, max_detail: int, **detail) -> list:
    """The list at `path` and the detail at `path/{id}`, of the same rows and scope."""
    return [
        Endpoint(path, LIST, scope, make, max_list),
        Endpoint(path + "/{id}", DETAIL, scope, make, max_detail, **detail),
    ]


MANAGE = "workspace:manage"
# The bounds are the counts measured on PostgreSQL and SQLite alike: the token's lookup, then the
# rows (and a prefetch where the resource has children). A list is one page, whatever its rows.
ENDPOINTS = [
    Endpoint("/api/v1/workspace", DETAIL, MANAGE, lambda t: t.workspace, 2, grow=_senders),
    *_pair("/api/v1/tokens", MANAGE, _token, 2, 2),
    *_pair("/api/v1/senders", MANAGE, _sender, 2, 2),
    *_pair("/api/v1/audit-events", "audit:read", _audit_event, 2, 2),
    *_pair("/api/v1/members", MANAGE, _member, 2, 2),
    *_pair("/api/v1/invitations", MANAGE, OBJECT_OF[Invitation], 2, 2),
    *_pair("/api/v1/messages", "messages:read", OBJECT_OF[Message], 3, 3, grow=_timeline),
    Endpoint(
        "/api/v1/messages/{id}/provider-log",
        LIST,
        "messages:read",
        _logged_message,
        4,
        grow=_exchanges,
        rows=_exchange_count,
    ),
    Endpoint("/api/v1/refusals", LIST, "messages:read", OBJECT_OF[Refusal], 2),
    *_pair("/api/v1/webhook-endpoints", "webhooks:manage", OBJECT_OF[WebhookEndpoint], 2, 2),
    *_pair("/api/v1/webhook-deliveries", "webhooks:manage", OBJECT_OF[WebhookDelivery], 3, 3),
    *_pair("/api/v1/events", "messages:read", OBJECT_OF[Event], 2, 2),
    *_pair("/api/v1/suppressions", "suppressions:read", _suppression, 2, 2),
    *_pair("/api/v1/consents", "consents:read", _consent, 2, 2),
    *_pair("/api/v1/exports", "exports:read", OBJECT_OF[Export], 2, 2),
    # Opening the file is audited: the audit chain's head is locked and the event written.
    Endpoint("/api/v1/exports/{id}/download", FILE, "exports:read", _completed_export, 8),
    *_pair("/api/v1/contacts", "contacts:read", _contact, 2, 2),
    *_pair("/api/v1/contact-imports", "contacts:read", OBJECT_OF[ContactImport], 2, 2),
    *_pair("/api/v1/templates", "campaigns:read", _template, 2, 2),
    *_pair("/api/v1/campaigns", "campaigns:read", OBJECT_OF[Campaign], 2, 2),
]


def test_the_table_names_every_get_route_with_its_scope():
    """A new GET route fails here until it is in ENDPOINTS, with the scope its view declares.

    Routes under a sampled URL part (GET /numbers/{e164}, two scopes, no id) have their own
    checks: tests/compliance/test_numbers_api.py."""
    declared = {
        concrete_path(route, "{id}"): route.view_class.required_scopes[route.actions["get"]]
        for route in api_routes()
        if "get" in route.actions and not route.is_sampled
    }
    assert {e.path: e.scope for e in ENDPOINTS} == declared


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path.removeprefix("/api/v1/"))
def test_get(endpoint, tenant, other_tenant):
    """Rows, roles, scopes, the other workspace and a flat query count, for one endpoint."""
    assert_get(endpoint, tenant, other_tenant)


def test_the_check_catches_an_n_plus_one(tenant, monkeypatch):
    """The query check itself: the message list without its timeline prefetch reads the events
    of each message in a query of its own, and fails."""
    view = resolve("/api/v1/messages").func.cls
    monkeypatch.setattr(view, "get_queryset", lambda self: super(view, self).get_queryset())
    messages = next(e for e in ENDPOINTS if e.path == "/api/v1/messages")
    with pytest.raises(AssertionError, match="queries, then"):
        assert_queries_flat(messages, tenant, messages.make(tenant))
