"""Contacts and Contact over HTTP (CONTRACT §12, issue 14): search, the tag filter done by the
database, cursor pages, a contact's consent history, suppressions and messages, and its edit and
delete through the API's services with the API's scopes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns.models import Contact
from campaigns.services.contacts import contact_create
from compliance.models import Consent
from compliance.services import consent_record, suppression_create, suppression_remove
from workspaces import clock
from workspaces.audit import Actor
from workspaces.models import AuditEvent

from ..support.factories import message_for

pytestmark = pytest.mark.django_db

SYSTEM = Actor("system", "test", "test")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(tenant, part: str = "") -> str:
    return f"/w/{tenant.workspace.slug}/{part}"


def add(tenant, phone, **fields) -> Contact:
    return contact_create(workspace_id=tenant.workspace.pk, phone=phone, **fields)


@pytest.fixture
def manager(people):
    return client_for(people[("A", "campaign_manager")])


@pytest.fixture
def viewer(people):
    return client_for(people[("A", "viewer")])


# --- Contacts -------------------------------------------------------------------------------


def test_the_list_searches_by_number_and_name(tenant, other_tenant, viewer):
    ada = add(tenant, "+14155550101", first_name="Ada", last_name="Lovelace")
    add(tenant, "+14155550102", first_name="Grace", last_name="Hopper")
    add(other_tenant, "+14155550103", first_name="Ada", last_name="Theirs")
    page = viewer.get(url(tenant, "contacts/"), {"q": "(415) 555-0101"}).content.decode()
    assert ada.id in page and "Grace" not in page
    page = viewer.get(url(tenant, "contacts/"), {"q": "lovel"}).content.decode()
    assert "+14155550101" in page and "+14155550102" not in page
    page = viewer.get(url(tenant, "contacts/"), {"q": "Ada"}).content.decode()
    assert "+14155550103" not in page  # workspace B's Ada


def test_the_tag_filter_runs_in_the_database(tenant, viewer):
    add(tenant, "+14155550111", tags=["vip", "spring"])
    add(tenant, "+14155550112", tags=["spring"])
    add(tenant, "+14155550113", tags=["vipx"])
    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(url(tenant, "contacts/"), {"tag": "vip"})
    page = response.content.decode()
    assert "+14155550111" in page
    assert "+14155550112" not in page and "+14155550113" not in page
    listing = [q["sql"] for q in queries if 'FROM "campaigns_contact"' in q["sql"]]
    # jsonb containment on PostgreSQL, json_each on SQLite: never a filter in Python
    in_sql = '"campaigns_contact"."tags" @>' if connection.vendor == "postgresql" else "json_each"
    assert listing and all(in_sql in sql for sql in listing), listing


def test_the_list_is_cursor_paged_newest_first(tenant, viewer):
    now = clock.now()
    for n in range(55):
        contact = add(tenant, f"+1415555{n:04d}")
        Contact.objects.filter(pk=contact.pk).update(created_at=now - timedelta(minutes=n))
    first = viewer.get(url(tenant, "contacts/"))
    page = first.content.decode()
    assert "+14155550000" in page and "+14155550054" not in page
    older = first.context["next"]
    assert older and "cursor=" in older
    second = viewer.get(older).content.decode()
    assert "+14155550054" in second and "+14155550000" not in second


def test_an_empty_list_says_to_import_a_csv(tenant, manager, viewer):
    page = manager.get(url(tenant, "contacts/")).content.decode()
    assert "No contacts yet" in page and "Import a CSV file" in page
    assert f'href="/w/{tenant.workspace.slug}/contacts/import/">Import contacts' in page
    seen_by_viewer = viewer.get(url(tenant, "contacts/")).content.decode()
    assert "Import contacts" not in seen_by_viewer


def test_an_edited_cursor_is_the_catalogue_error(tenant, viewer):
    response = viewer.get(url(tenant, "contacts/"), {"cursor": "bm90LWEtY3Vyc29y"})
    assert response.status_code == 200
    assert response.context["error"].code == "validation_error"
    assert "Correct the fields named in" in response.content.decode()  # the catalogue's fix


# --- Contact --------------------------------------------------------------------------------


def test_the_contact_page_shows_consents_suppressions_and_messages(tenant, other_tenant, viewer):
    contact = add(tenant, "+14155550121", first_name="Ada", attributes={"plan": "gold"})
    message = message_for(tenant.workspace, tenant.sender, to=contact.phone, body="Hello Ada")
    theirs = message_for(other_tenant.workspace, other_tenant.sender, to=contact.phone)
    old = consent_record(
        workspace_id=tenant.workspace.pk,
        phone=contact.phone,
        method="web_form",
        actor=SYSTEM,
        disclosure="Spring offers",
        captured_at=clock.now() - timedelta(days=3),
    )
    Consent.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=3))
    new = consent_record(
        workspace_id=tenant.workspace.pk,
        phone=contact.phone,
        action="revoke",
        method="keyword",
        actor=SYSTEM,
    )
    removed, _ = suppression_create(
        workspace_id=tenant.workspace.pk, phone=contact.phone, source="manual", actor=SYSTEM
    )
    suppression_remove(suppression=removed, actor=SYSTEM, reason="asked back in")
    active, _ = suppression_create(
        workspace_id=tenant.workspace.pk, phone=contact.phone, source="keyword", actor=SYSTEM
    )
    response = viewer.get(url(tenant, f"contacts/{contact.id}/"))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index(new.id) < page.index(old.id)  # newest first
    assert "web_form" in page and "Spring offers" in page
    assert removed.id in page and active.id in page and "asked back in" in page
    assert f'href="/w/{tenant.workspace.slug}/messages/{message.id}/"' in page
    assert theirs.id not in page
    assert f'href="/w/{tenant.workspace.slug}/numbers/{contact.phone}/"' in page
    assert "gold" in page


def test_a_viewer_sees_no_edit_or_delete_and_a_posted_one_is_403(tenant, viewer):
    contact = add(tenant, "+14155550131", first_name="Ada")
    page = viewer.get(url(tenant, f"contacts/{contact.id}/")).content.decode()
    assert '<form method="post" class="stack"' not in page
    assert ">Save<" not in page and "Delete contact" not in page
    assert (
        viewer.post(url(tenant, f"contacts/{contact.id}/"), {"first_name": "X"}).status_code == 403
    )
    assert viewer.post(url(tenant, f"contacts/{contact.id}/delete/")).status_code == 403
    contact.refresh_from_db()
    assert contact.first_name == "Ada"


def test_an_edit_saves_through_the_api_validation(tenant, manager):
    contact = add(tenant, "+14155550141", first_name="Ada", tags=["old"])
    page = manager.get(url(tenant, f"contacts/{contact.id}/")).content.decode()
    assert ">Save<" in page and "Delete contact" in page
    response = manager.post(
        url(tenant, f"contacts/{contact.id}/"),
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "timezone": "America/Chicago",
            "tags": "vip; spring, vip",
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.timezone, contact.tags) == (
        "Grace",
        "Hopper",
        "America/Chicago",
        ["spring", "vip"],
    )


def test_a_bad_edit_shows_the_catalogue_error_and_saves_nothing(tenant, manager):
    contact = add(tenant, "+14155550151", first_name="Ada")
    response = manager.post(
        url(tenant, f"contacts/{contact.id}/"),
        {"first_name": "Grace", "timezone": "Mars/Olympus", "tags": ""},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not an IANA time zone" in page
    assert "The request is malformed." in page and "Correct the fields named in" in page
    contact.refresh_from_db()
    assert (contact.first_name, contact.timezone) == ("Ada", "")


def test_delete_asks_first_and_is_audited_as_the_member(tenant, manager, people):
    contact = add(tenant, "+14155550161")
    page = manager.get(url(tenant, f"contacts/{contact.id}/")).content.decode()
    assert ">Confirm<" in page
    response = manager.post(url(tenant, f"contacts/{contact.id}/delete/"))
    assert response.status_code == 302
    assert response["Location"] == url(tenant, "contacts/")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="contact.deleted")
    assert event.target_id == contact.id
    assert event.actor_label == people[("A", "campaign_manager")].get_username()


def test_another_workspaces_contact_is_404(tenant, other_tenant, manager, people):
    theirs = add(other_tenant, "+14155550171")
    assert manager.get(url(tenant, f"contacts/{theirs.id}/")).status_code == 404
    assert manager.post(url(tenant, f"contacts/{theirs.id}/delete/")).status_code == 404
    outsider = client_for(people[("B", "owner")])
    mine = add(tenant, "+14155550172")
    assert outsider.get(url(tenant, f"contacts/{mine.id}/")).status_code == 404
    assert outsider.get(url(tenant, "contacts/")).status_code == 404
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_the_api_tag_filter_is_unchanged(tenant):
    add(tenant, "+14155550181", tags=["vip"])
    add(tenant, "+14155550182", tags=["other"])
    body = tenant.client("viewer").get("/api/v1/contacts", {"tag": "vip"}).json()
    assert [c["phone"] for c in body["results"]] == ["+14155550181"]
