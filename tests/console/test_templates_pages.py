"""Templates over HTTP (CONTRACT §12, issue 14): the list, create and edit through the API's
serializer and services, the live preview (encoding and the characters that force UCS-2,
segments, price, unknown merge fields), tenancy and roles."""

import pytest
from django.conf import settings
from django.test import Client

from campaigns.models import Template
from campaigns.services.templates import template_create
from tests.support.factories import contacts_for

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(tenant, part: str = "") -> str:
    return f"/w/{tenant.workspace.slug}/templates/{part}"


def a_template(tenant, body: str = "Hi {{first_name|there}}") -> Template:
    return template_create(workspace_id=tenant.workspace.pk, name="Welcome", body=body)


def test_the_list_shows_the_workspaces_templates_and_new_template(tenant, other_tenant, people):
    mine = a_template(tenant)
    theirs = template_create(workspace_id=other_tenant.workspace.pk, name="Theirs", body="x")
    page = client_for(people[("A", "campaign_manager")]).get(url(tenant))
    assert page.status_code == 200
    html = page.content.decode()
    assert mine.name in html and f"templates/{mine.pk}/" in html
    assert theirs.pk not in html and "Theirs" not in html
    assert "New template" in html


def test_an_empty_list_says_what_to_do(tenant, people):
    html = client_for(people[("A", "campaign_manager")]).get(url(tenant)).content.decode()
    assert "No templates yet" in html and "New template" in html


def test_a_template_is_created_and_edited(tenant, people):
    client = client_for(people[("A", "campaign_manager")])
    assert client.get(url(tenant, "new/")).status_code == 200
    created = client.post(url(tenant, "new/"), {"name": "Promo", "body": "Hi {{first_name}}"})
    template = Template.objects.get(workspace=tenant.workspace, name="Promo")
    assert created.status_code == 302 and created["Location"] == url(tenant, f"{template.pk}/")
    edited = client.post(
        url(tenant, f"{template.pk}/"), {"name": "Promo 2", "body": "Bye {{last_name|you}}"}
    )
    assert edited.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.body) == ("Promo 2", "Bye {{last_name|you}}")
    page = client.get(url(tenant, f"{template.pk}/")).content.decode()
    assert "Promo 2" in page and "Save" in page


def test_an_unknown_merge_field_gets_the_catalogues_validation_error(tenant, people):
    client = client_for(people[("A", "campaign_manager")])
    response = client.post(url(tenant, "new/"), {"name": "Bad", "body": "Hi {{nickname}}"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The request is malformed." in html  # the catalogue's message…
    assert "Correct the fields named in" in html  # …and its fix
    assert "Unknown merge fields: nickname" in html
    assert not Template.objects.filter(workspace=tenant.workspace).exists()


def test_preview_without_javascript_saves_nothing(tenant, people):
    client = client_for(people[("A", "campaign_manager")])
    response = client.post(
        url(tenant, "new/"), {"name": "P", "body": "Hi {{first_name}} 🙂", "action": "preview"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hi Alex 🙂" in html  # the sample contact
    assert "UCS-2" in html and "SLIGHTLY SMILING FACE" in html and "1 segments" in html
    assert not Template.objects.filter(workspace=tenant.workspace).exists()


def test_the_live_preview_renders_for_a_chosen_contact(tenant, other_tenant, people):
    contact = contacts_for(tenant.workspace, ["+14155550123"])[0]  # first name F0
    client = client_for(people[("A", "viewer")])
    preview = url(tenant, "preview/")
    gsm = client.get(
        preview, {"body": "Hi {{first_name}}", "contact": contact.pk}, HTTP_X_TERN_POLL="1"
    )
    html = gsm.content.decode()
    assert gsm.status_code == 200
    assert "Hi F0" in html and "GSM-7" in html and "1 segments" in html and "USD" in html
    assert settings.SESSION_COOKIE_NAME not in gsm.cookies  # a poll never refreshes the session
    long = client.get(preview, {"body": "é€" * 100, "phone": "+14155550199"}).content.decode()
    assert "GSM-7" in long and "2 segments" in long  # € costs two septets, é one: 300 > 160
    unknown = client.get(preview, {"body": "Hi {{nick}} {{first_name}}"}).content.decode()
    assert "Unknown merge fields" in unknown and "nick" in unknown
    missing = client.get(preview, {"body": "{{last_name}}", "contact": contact.pk})
    assert "missing_merge_field" in missing.content.decode()
    theirs = contacts_for(other_tenant.workspace, ["+14155550124"])[0]
    foreign = client.get(preview, {"body": "Hi", "contact": theirs.pk}).content.decode()
    assert "not_found" in foreign  # another workspace's contact is no contact


def test_another_workspaces_member_gets_404(tenant, people):
    template = a_template(tenant)
    outsider = client_for(people[("B", "owner")])
    for part in ("", "new/", f"{template.pk}/", "preview/?body=x"):
        assert outsider.get(url(tenant, part)).status_code == 404, part
    assert (
        outsider.post(url(tenant, f"{template.pk}/"), {"name": "x", "body": "y"}).status_code == 404
    )
    insider = client_for(people[("A", "owner")])
    other_template = a_template(tenant)
    assert insider.get(url(tenant, f"{other_template.pk}/")).status_code == 200


def test_another_workspaces_template_is_404_inside_mine(tenant, other_tenant, people):
    theirs = template_create(workspace_id=other_tenant.workspace.pk, name="T", body="x")
    client = client_for(people[("A", "owner")])
    assert client.get(url(tenant, f"{theirs.pk}/")).status_code == 404
    assert client.post(url(tenant, f"{theirs.pk}/"), {"name": "x", "body": "y"}).status_code == 404


def test_a_viewer_reads_but_sees_no_button_and_a_posted_save_is_403(tenant, people):
    template = a_template(tenant)
    viewer = client_for(people[("A", "viewer")])
    listing = viewer.get(url(tenant)).content.decode()
    assert template.name in listing and "New template" not in listing
    page = viewer.get(url(tenant, f"{template.pk}/"))
    assert page.status_code == 200
    html = page.content.decode()
    assert template.body in html and "Hi Alex" in html  # the sample preview
    assert ">Save<" not in html and '<form method="post" class="stack"' not in html
    assert viewer.get(url(tenant, "new/")).status_code == 403
    assert viewer.post(url(tenant, "new/"), {"name": "x", "body": "y"}).status_code == 403
    posted = viewer.post(url(tenant, f"{template.pk}/"), {"name": "x", "body": "y"})
    assert posted.status_code == 403
    template.refresh_from_db()
    assert template.name == "Welcome"
