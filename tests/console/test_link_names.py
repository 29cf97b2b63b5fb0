"""Each navigation label names one link on a page, detail pages included: a second link of the
same name (a "back to the list" link) makes `get_by_role("link", name=…)` ambiguous for a screen
reader's link list and for every test that clicks its way through the console."""

import re

import pytest

from campaigns.services.templates import template_create
from compliance.services import suppression_create
from console.navigation import NAV
from messaging.models import Message
from tests.support.campaign_pages import daytime_contacts, launched
from workspaces.audit import Actor

from .test_messages_pages import client_for

pytestmark = pytest.mark.django_db

LINK = re.compile(r"<a\b[^>]*>\s*([^<]*?)\s*</a>", re.S)


def detail_pages(tenant) -> list[str]:
    """One page of each kind that used to carry a link back to its list."""
    contact = daytime_contacts(tenant.workspace, 2)[0]
    campaign = launched(tenant)
    message = Message.objects.filter(campaign_id=campaign.pk).first()
    template = template_create(workspace_id=tenant.workspace.pk, name="Hello", body="Hi")
    suppression, _ = suppression_create(
        workspace_id=tenant.workspace.pk, phone="+14155550188", source="api", actor=Actor.system()
    )
    base = f"/w/{tenant.workspace.slug}/"
    pages = [
        f"{base}contacts/{contact.pk}/",
        f"{base}campaigns/{campaign.pk}/",
        f"{base}templates/{template.pk}/",
        f"{base}contacts/import/",
        f"{base}suppressions/{suppression.pk}/remove/",
        f"{base}messages/",
    ]
    return [*pages, f"{base}messages/{message.pk}/"]


def test_every_navigation_label_names_one_link_per_page(tenant, people):
    client = client_for(people[("A", "owner")])
    for url in detail_pages(tenant):
        response = client.get(url)
        assert response.status_code == 200, url
        names = LINK.findall(response.content.decode())
        for item in NAV:
            assert names.count(item.label) == 1, (url, item.label, names.count(item.label))
