"""Tenancy: every model is workspace-owned, every route declares its scope, and no object of
another workspace is ever reachable. The walkers pick up new routes and models on their own."""

import pytest
from django.apps import apps

from workspaces.models import Workspace

from ..support.object_routes import api_routes, concrete_path
from ..support.objects import OBJECT_OF

OUR_APPS = {"workspaces", "webhooks", "compliance", "messaging", "campaigns"}
# Global tables: the tenant itself and platform-wide facts that belong to nobody.
# The simulator's ledger is the fake carrier's own table, keyed by message id, not tenant data.
GLOBAL_MODELS = {
    Workspace,
    apps.get_model("workspaces", "Heartbeat"),
    apps.get_model("messaging", "SimulatorSubmission"),
    # A provider's report for an id no message has yet: which workspace it belongs to is what
    # is not known. It is only ever read by that provider id, to apply it to its message.
    apps.get_model("messaging", "PendingReport"),
    # Dialling prefixes and their countries (libphonenumber's facts), for the dashboard's triggers.
    apps.get_model("messaging", "DialPrefix"),
}


def test_every_model_has_a_workspace_foreign_key():
    """A model of our apps without `workspace` leaks across tenants; allowlist only global ones."""
    missing = [
        model.__name__
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS
        and model not in GLOBAL_MODELS
        and not any(
            f.name == "workspace" and f.related_model is Workspace for f in model._meta.fields
        )
    ]
    assert missing == []


def test_every_route_declares_its_scope():
    """Each action of each API route names the scope it needs."""
    undeclared = [
        (route.path, action)
        for route in api_routes()
        for action in route.actions.values()
        if action not in getattr(route.view_class, "required_scopes", {})
    ]
    assert api_routes(), "the walker found no routes"
    assert undeclared == []


@pytest.mark.django_db
def test_every_object_route_hides_other_workspaces(tenant, other_tenant):
    """Workspace A's owner asking for B's object by id gets 404 not_found, on every method, while
    B's owner reads the same path with 200 (so the 404 is the tenancy check, not a wrong path)."""
    client, owner_b = tenant.client("owner"), other_tenant.client("owner")
    checked = 0
    for route in (r for r in api_routes() if r.is_object_route):
        model = route.view_class.model
        assert model in OBJECT_OF, f"add {model.__name__} to OBJECT_OF for {route.path}"
        foreign = OBJECT_OF[model](other_tenant)
        path = concrete_path(route, foreign.pk)
        if "get" in route.actions:  # B's own object is there (a pending export's download: 409)
            own = owner_b.get(path)
            assert own.status_code in (200, 409), (route.path, own.content)
            if own.status_code == 200 and "id" in own.json():
                assert own.json()["id"] == str(foreign.pk), route.path
        for method in route.actions:
            response = getattr(client, method)(path, {}, format="json")
            assert response.status_code == 404, (route.path, method, response.content)
            if method != "head":  # HEAD answers carry no body
                assert response.json()["error"]["code"] == "not_found"
            checked += 1
    assert checked >= 5


def _list_ids(client, route) -> tuple[int, set]:
    """(status, ids of the rows) of a GET on a list route (a single resource counts as one)."""
    response = client.get("/" + route.path.replace("^", "").replace("$", ""))
    body = response.json()
    rows = body.get("results", [body]) if response.status_code == 200 else []
    return response.status_code, {str(row.get("id")) for row in rows}


@pytest.mark.django_db
def test_lists_never_show_other_workspaces(tenant, other_tenant):
    """Every list route answers A 200 with A's rows only, while B's answer on the same route has
    rows of its own (so "none of B's" is never an empty list passing by default)."""
    for make in OBJECT_OF.values():  # a row of every kind in both workspaces
        make(tenant)
        make(other_tenant)
    client, owner_b = tenant.client("owner"), other_tenant.client("owner")
    # A route under a sampled part (GET /numbers/{e164}) is one number's answer, not a list: its
    # tenancy is proven with the same number in both workspaces (tests/compliance/test_numbers_api).
    routes = [
        r for r in api_routes() if not r.is_object_route and not r.is_sampled and "get" in r.actions
    ]
    foreign, empty = set(), []
    for route in routes:
        status, ids = _list_ids(owner_b, route)
        assert status == 200, (route.path, status)
        foreign |= ids
        empty += [route.path] if not ids else []
    assert empty == [], "B has no rows here: add a maker to OBJECT_OF"
    assert len(routes) >= 10
    for route in routes:
        status, ids = _list_ids(client, route)
        assert status == 200, (route.path, status)
        assert ids, route.path  # A's own rows are listed: the filter is not "nothing"
        assert not ids & foreign, (route.path, ids & foreign)
