"""Every free-text field and list a request takes has a documented maximum: one past it is 400
`validation_error` naming the field, nothing is stored, and the bound is in the schema."""

import pytest

from campaigns.models import Contact, Template
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

DRAFT = {"name": "S", "body": "Hi", "audience": {"all": True}}


def _draft(tenant, **fields):
    return {**DRAFT, "from": tenant.sender.number, **fields}


# (name, method, path, body builder, field in details)
CASES = [
    ("help_text", "patch", "/api/v1/workspace", lambda t: {"help_text": "h" * 601}, "help_text"),
    ("name", "patch", "/api/v1/workspace", lambda t: {"name": "n" * 201}, "name"),
    (
        "blocked term",
        "patch",
        "/api/v1/workspace",
        lambda t: {"blocked_terms": ["b" * 101]},
        "blocked_terms",
    ),
    (
        "blocked terms",
        "patch",
        "/api/v1/workspace",
        lambda t: {"blocked_terms": [f"t{i}" for i in range(501)]},
        "blocked_terms",
    ),
    (
        "verified recipients",
        "patch",
        "/api/v1/workspace",
        lambda t: {"verified_recipients": ["+14155550100"] * 1001},
        "verified_recipients",
    ),
    (
        "allowed countries",
        "patch",
        "/api/v1/workspace",
        lambda t: {"allowed_countries": ["US"] * 251},
        "allowed_countries",
    ),
    (
        "token name",
        "post",
        "/api/v1/tokens",
        lambda t: {"name": "n" * 101, "scopes": ["messages:read"]},
        "name",
    ),
    (
        "token scopes",
        "post",
        "/api/v1/tokens",
        lambda t: {"name": "n", "scopes": ["messages:read"] * 51},
        "scopes",
    ),
    (
        "suppression reason",
        "post",
        "/api/v1/suppressions",
        lambda t: {"phone": "+14155550170", "reason": "r" * 2001},
        "reason",
    ),
    (
        "consent disclosure",
        "post",
        "/api/v1/consents",
        lambda t: {"phone": "+14155550171", "method": "web_form", "disclosure": "d" * 5001},
        "disclosure",
    ),
    (
        "consent user agent",
        "post",
        "/api/v1/consents",
        lambda t: {
            "phone": "+14155550171",
            "method": "web_form",
            "disclosure": "d",
            "user_agent": "u" * 501,
        },
        "user_agent",
    ),
    ("campaign name", "post", "/api/v1/campaigns", lambda t: _draft(t, name="n" * 201), "name"),
    ("campaign body", "post", "/api/v1/campaigns", lambda t: _draft(t, body="b" * 1601), "body"),
    (
        "campaign tags",
        "post",
        "/api/v1/campaigns",
        lambda t: _draft(t, audience={"tags": [f"t{i}" for i in range(101)]}),
        "audience",
    ),
    (
        "template name",
        "post",
        "/api/v1/templates",
        lambda t: {"name": "n" * 201, "body": "Hi"},
        "name",
    ),
    (
        "template body",
        "post",
        "/api/v1/templates",
        lambda t: {"name": "T", "body": "b" * 1601},
        "body",
    ),
    (
        "contact first name",
        "post",
        "/api/v1/contacts",
        lambda t: {"phone": "+14155550172", "first_name": "f" * 101},
        "first_name",
    ),
    (
        "contact last name",
        "post",
        "/api/v1/contacts",
        lambda t: {"phone": "+14155550172", "last_name": "l" * 101},
        "last_name",
    ),
    (
        "contact tags",
        "post",
        "/api/v1/contacts",
        lambda t: {"phone": "+14155550172", "tags": [f"t{i}" for i in range(101)]},
        "tags",
    ),
    (
        "contact attribute value",
        "post",
        "/api/v1/contacts",
        lambda t: {"phone": "+14155550172", "attributes": {"note": "v" * 5000}},
        "attributes",
    ),
    (
        "contact attribute keys",
        "post",
        "/api/v1/contacts",
        lambda t: {"phone": "+14155550172", "attributes": {f"k{i}": 1 for i in range(51)}},
        "attributes",
    ),
    (
        "contact attribute key",
        "post",
        "/api/v1/contacts",
        lambda t: {"phone": "+14155550172", "attributes": {"k" * 65: 1}},
        "attributes",
    ),
    (
        "webhook description",
        "post",
        "/api/v1/webhook-endpoints",
        lambda t: {"url": "http://127.0.0.1:9/x", "events": ["*"], "description": "d" * 501},
        "description",
    ),
    (
        "webhook events",
        "post",
        "/api/v1/webhook-endpoints",
        lambda t: {"url": "http://127.0.0.1:9/x", "events": ["message.sent"] * 51},
        "events",
    ),
    (
        "webhook url",
        "post",
        "/api/v1/webhook-endpoints",
        lambda t: {"url": "http://127.0.0.1:9/" + "x" * 2000, "events": ["*"]},
        "url",
    ),
]


@pytest.mark.parametrize("name, method, path, body, field", CASES, ids=[c[0] for c in CASES])
def test_one_past_the_bound_is_refused(tenant, other_tenant, name, method, path, body, field):
    """400 validation_error naming the field; the workspace is unchanged."""
    before = Workspace.objects.filter(pk=tenant.workspace.pk).values().get()
    client = tenant.client()
    response = getattr(client, method)(path, body(tenant), format="json")
    assert response.status_code == 400, (name, response.content)
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"], error
    assert Workspace.objects.filter(pk=tenant.workspace.pk).values().get() == before
    assert not Contact.objects.for_workspace(tenant.workspace).exists()
    assert not Template.objects.for_workspace(other_tenant.workspace).exists()


def test_at_the_bound_is_accepted(tenant):
    """The maximum itself is fine."""
    client = tenant.client()
    changes = {"help_text": "h" * 600, "blocked_terms": ["b" * 100]}
    assert client.patch("/api/v1/workspace", changes, format="json").status_code == 200
    template = {"name": "n" * 200, "body": "b" * 1600}
    assert client.post("/api/v1/templates", template, format="json").status_code == 201
    contact = {"phone": "+14155550173", "attributes": {f"k{i}": "v" for i in range(50)}}
    assert client.post("/api/v1/contacts", contact, format="json").status_code == 201


def test_the_schema_documents_the_bounds(tenant):
    """drf-spectacular turns each bound into maxLength / maxItems."""
    schema = tenant.client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    components = schema.json()["components"]["schemas"]

    def prop(component_prefix: str, field: str) -> dict:
        for name, component in components.items():
            if name.startswith(component_prefix) and field in component.get("properties", {}):
                return component["properties"][field]
        raise AssertionError(f"{component_prefix}.{field} not in the schema")

    assert prop("PatchedWorkspace", "help_text")["maxLength"] == 600
    assert prop("PatchedWorkspace", "blocked_terms")["maxItems"] == 500
    assert prop("PatchedWorkspace", "blocked_terms")["items"]["maxLength"] == 100
    assert prop("Template", "body")["maxLength"] == 1600
    assert prop("Contact", "tags")["maxItems"] == 100
