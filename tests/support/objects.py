"""One object of each model an API route serves, made in a given workspace (a Tenant of
tests/conftest.py): the tenancy walkers, schemathesis and the endpoint checks seed from here."""

from datetime import date

from django.db import transaction

from campaigns.models import Campaign, Contact, ContactImport, Template
from campaigns.services.contacts import contact_create
from campaigns.services.templates import template_create
from compliance.exports.services import export_create
from compliance.models import Consent, Export, Suppression
from compliance.services import consent_record, suppression_create
from messaging.models import Message
from messaging.records import Refusal
from webhooks.events import emit
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.services.endpoints import endpoint_create
from workspaces import clock
from workspaces.audit import Actor
from workspaces.models import ApiToken, AuditEvent, Invitation, Membership, Sender

from .factories import UserFactory, member, message_for


def _invitation(t) -> Invitation:
    """A pending invitation of workspace `t`, to a fresh address."""
    from workspaces.invitations import invitation_create

    return invitation_create(
        acting=member(t.workspace, "owner"),
        email=UserFactory.build().email,
        role="viewer",
        actor=Actor.system(),
    )[0]


def _endpoint(t) -> WebhookEndpoint:
    """A live endpoint of workspace `t`, subscribed to everything."""
    endpoint, _ = endpoint_create(
        workspace_id=t.workspace.pk,
        test=False,
        url="http://127.0.0.1:9/hook",
        events=["*"],
        actor=Actor.system(),
    )
    return endpoint


def _event(t) -> Event:
    """A live event of workspace `t`, delivered to every endpoint it has."""
    with transaction.atomic():
        return emit(workspace_id=t.workspace.pk, test=False, type="message.sent", data={"id": "x"})


def _delivery(t) -> WebhookDelivery:
    endpoint = _endpoint(t)
    return WebhookDelivery.objects.get(endpoint=endpoint, event=_event(t))


# How to get an object of workspace B for each model an object route serves; a new route whose
# model is missing here fails test_every_object_route_hides_other_workspaces until it is added.
OBJECT_OF = {
    ApiToken: lambda t: t.tokens[("viewer", "live")],
    Membership: lambda t: member(t.workspace, "viewer"),
    Invitation: _invitation,
    Sender: lambda t: t.sender,
    AuditEvent: lambda t: AuditEvent.objects.for_workspace(t.workspace).first(),
    Message: lambda t: message_for(t.workspace, t.sender),
    WebhookEndpoint: _endpoint,
    WebhookDelivery: _delivery,
    Event: _event,
    Suppression: lambda t: suppression_create(
        workspace_id=t.workspace.pk, phone="+14155550142", source="api", actor=Actor.system()
    )[0],
    Contact: lambda t: contact_create(workspace_id=t.workspace.pk, phone="+14155550143"),
    Template: lambda t: template_create(workspace_id=t.workspace.pk, name="t", body="Hi"),
    Campaign: lambda t: Campaign.objects.create(
        workspace=t.workspace,
        name="c",
        body="Hi",
        audience={"all": True},
        from_number=t.sender.number,
        created_at=clock.now(),
    ),
    ContactImport: lambda t: ContactImport.objects.create(
        workspace=t.workspace, file_name="x.csv", created_at=clock.now()
    ),
    Consent: lambda t: consent_record(
        workspace_id=t.workspace.pk, phone="+14155550142", method="api", actor=Actor.system()
    ),
    Refusal: lambda t: Refusal.objects.create(
        workspace=t.workspace, code="invalid_number", to_number="x", created_at=clock.now()
    ),
    Export: lambda t: export_create(
        workspace_id=t.workspace.pk,
        kind="audit_events",
        format="csv",
        date_from=date(2026, 1, 1),
        date_to=date(2026, 12, 31),
        actor=Actor.system(),
    ),
}
