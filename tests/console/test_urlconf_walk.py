"""Every console page, walked from the URLconf as test_tenancy walks the API's (CONTRACT §12).

A member of workspace B gets the same 404 on every page of workspace A as on an unknown slug; a
member of A reaches it; every action refuses (403) a role without the scope it needs. A page added
with a URL part this file cannot fill fails here until SAMPLES learns to make one.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from campaigns.models import Campaign, Contact, ContactImport, Template
from compliance.models import Export, Suppression
from console.access import MANAGER
from tests.support.factories import member, message_for
from tests.support.objects import OBJECT_OF
from webhooks.models import WebhookDelivery, WebhookEndpoint
from workspaces.models import Invitation
from workspaces.scopes import MANAGER_ROLES, ROLE_SCOPES


def console_patterns():
    """(route, view) for every console URL under /w/, nested includes flattened."""
    console = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "console"
    )

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.callback

    return list(walk(console.url_patterns, "/w/"))


# How to fill each URL part for workspace A (tenant): a function of the tenant giving a value.
SAMPLES = {
    # One contact per number: a walk asking twice gets the same one.
    "contact_id": lambda t: (
        (Contact.objects.for_workspace(t.workspace).first() or OBJECT_OF[Contact](t)).pk
    ),
    "import_id": lambda t: OBJECT_OF[ContactImport](t).pk,
    "campaign_id": lambda t: OBJECT_OF[Campaign](t).pk,
    "invitation_id": lambda t: OBJECT_OF[Invitation](t).pk,
    "member_id": lambda t: member(t.workspace, "viewer").pk,
    "message_id": lambda t: message_for(t.workspace, t.sender).id,
    "delivery_id": lambda t: OBJECT_OF[WebhookDelivery](t).pk,
    "e164": lambda t: "+14155550100",
    "export_id": lambda t: OBJECT_OF[Export](t).pk,
    "suppression_id": lambda t: OBJECT_OF[Suppression](t).pk,
    "endpoint_id": lambda t: OBJECT_OF[WebhookEndpoint](t).pk,
    "sender_id": lambda t: t.sender.id,
    "slug": lambda t: t.workspace.slug,
    "template_id": lambda t: OBJECT_OF[Template](t).pk,
    "token_id": lambda t: t.tokens[("viewer", "live")].id,
}


def url_for(route: str, tenant) -> str:
    """The route with each `<conv:name>` filled from SAMPLES."""
    import re

    def fill(match):
        name = match.group(2)
        assert name in SAMPLES, (
            f"tests/console/test_urlconf_walk.py: add a SAMPLES entry for {name}"
        )
        return str(SAMPLES[name](tenant))

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


WORKSPACE_PAGES = [(route, view) for route, view in console_patterns() if "<slug:slug>" in route]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_walk_finds_pages():
    assert len(WORKSPACE_PAGES) >= 2
    assert all(hasattr(view, "console_scope") for _, view in WORKSPACE_PAGES), (
        "every workspace page goes through console_page()"
    )


@pytest.mark.parametrize("route,view", WORKSPACE_PAGES, ids=[r for r, _ in WORKSPACE_PAGES])
def test_another_workspaces_member_gets_404(route, view, tenant, other_tenant, people):
    url = url_for(route, tenant)
    outsider = client_for(people[("B", "owner")])
    assert outsider.get(url).status_code == 404
    assert outsider.post(url).status_code == 404
    unknown = url.replace(f"/w/{tenant.workspace.slug}/", "/w/no-such-workspace/")
    assert outsider.get(unknown).status_code == 404
    insider = client_for(people[("A", "owner")])
    assert insider.get(url).status_code in (200, 302, 405)


@pytest.mark.parametrize("route,view", WORKSPACE_PAGES, ids=[r for r, _ in WORKSPACE_PAGES])
def test_anonymous_is_sent_to_sign_in(route, view, tenant):
    url = url_for(route, tenant)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_every_action_refuses_a_role_without_its_scope(tenant, people):
    actions = [(route, view) for route, view in WORKSPACE_PAGES if view.console_post is not None]
    for route, view in actions:
        url, needed = url_for(route, tenant), view.console_post
        refused = [
            role
            for role, scopes in ROLE_SCOPES.items()
            if (role not in MANAGER_ROLES if needed == MANAGER else needed not in scopes)
        ]
        assert refused, f"{route}: every role may post; drop its post scope"
        for role in refused:
            assert client_for(people[("A", role)]).post(url).status_code == 403, (route, role)
