"""Deleting a contact goes through `contact_delete`: the row goes, an audit event stays."""

import pytest

from campaigns.models import Contact
from campaigns.selectors import template_preview
from campaigns.services.contacts import contact_delete
from campaigns.services.templates import template_create
from workspaces.audit import Actor, verify_chain
from workspaces.errors import TernError
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_api_delete_is_audited_with_the_token_and_the_number(tenant):
    client = tenant.client()
    contact = client.post("/api/v1/contacts", {"phone": "+14155550150"}, format="json").json()
    response = client.delete(f"/api/v1/contacts/{contact['id']}", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200 and response.json() == contact
    assert not Contact.objects.filter(pk=contact["id"]).exists()
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="contact.deleted")
    assert (event.target_type, event.target_id) == ("contact", contact["id"])
    assert (event.actor_type, event.actor_id) == ("token", tenant.tokens[("owner", "live")].pk)
    assert event.before == {"phone": "+14155550150"} and event.after is None
    assert event.ip == "203.0.113.9"
    assert verify_chain(tenant.workspace.pk).ok


def test_service_deletes_and_audits_in_one_step(tenant):
    contact = Contact.objects.create(
        workspace=tenant.workspace, phone="+14155550151", created_at="2026-01-01T00:00:00Z"
    )
    contact_delete(contact=contact, actor=Actor.system())
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="contact.deleted")
    assert event.actor_type == "system" and event.before == {"phone": "+14155550151"}
    assert not Contact.objects.filter(phone="+14155550151").exists()


def test_template_preview_is_a_selector_the_console_can_call(tenant):
    template = template_create(
        workspace_id=tenant.workspace.pk, name="t", body="Hi {{first_name|there}}"
    )
    preview = template_preview(
        workspace=tenant.workspace, template=template, test=True, phone="(415) 555-0152"
    )
    assert (preview.body, preview.encoding, preview.segments, preview.price) == (
        "Hi there",
        "GSM-7",
        1,
        0,
    )
    with pytest.raises(TernError) as refused:
        template_preview(workspace=tenant.workspace, template=template, test=True, phone="12")
    assert refused.value.code == "invalid_number"
