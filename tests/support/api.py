"""One check for a GET endpoint of the API, in the manner of RapidPro's API test mixin (its
`assertGet(..., num_queries=...)` and `assertGetNotPermitted`): the answer's rows, the roles and
scopes allowed and refused, the other workspace, and a query count that does not grow with rows.

An `Endpoint` says how to make what it serves; `assert_get(endpoint, tenant, other_tenant)` does
the rest. `tests/api/test_endpoints.py` holds the table of every list and detail of /api/v1.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from workspaces.scopes import ROLE_SCOPES

from .envelope import assert_envelope
from .factories import token_for

LIST, DETAIL, FILE = "list", "detail", "file"


@dataclass(frozen=True)
class Endpoint:
    """A GET endpoint and how to exercise it.

    `path` has `{id}` where the object's id goes; `make(tenant)` makes one object of the tenant
    (the one a detail addresses, or a row a list must show); `grow(tenant, obj, n)` adds `n` rows
    that must not change the query count (default: `n` more objects); `rows(obj)` is the exact
    number of rows a list addressed by `obj` answers (for lists under an object); `max_queries`
    bounds the count, as RapidPro's `num_queries` does.
    """

    path: str
    kind: str
    scope: str
    make: Callable
    max_queries: int
    grow: Callable | None = None
    rows: Callable | None = None

    def url(self, obj) -> str:
        """The path with the object's id in place."""
        return self.path.replace("{id}", str(obj.pk))

    def add_rows(self, tenant, obj, n: int) -> None:
        """Grow what the endpoint reads by `n` rows."""
        if self.grow is not None:
            self.grow(tenant, obj, n)
        else:
            for _ in range(n):
                self.make(tenant)


def assert_get(endpoint: Endpoint, tenant, other_tenant, *, rows: int = 3) -> None:
    """Every check of one GET endpoint: results, roles, scopes, the other workspace, queries."""
    mine, theirs = endpoint.make(tenant), endpoint.make(other_tenant)
    assert_results(endpoint, tenant, other_tenant, mine)
    assert_roles(endpoint, tenant, mine)
    assert_scopes(endpoint, tenant, mine)
    assert_other_workspace(endpoint, tenant, other_tenant, theirs)
    assert_queries_flat(endpoint, tenant, mine, rows=rows)


def assert_results(endpoint: Endpoint, tenant, other_tenant, mine) -> None:
    """The owner's answer holds the tenant's object (or rows), and only the tenant's."""
    response = tenant.client("owner").get(endpoint.url(mine))
    assert response.status_code == 200, (endpoint.path, response.content)
    if endpoint.kind == FILE:
        assert b"".join(response.streaming_content), endpoint.path
        return
    body = response.json()
    if endpoint.kind == DETAIL:
        assert body["id"] == str(mine.pk), endpoint.path
        return
    listed = body["results"] if isinstance(body, dict) else body
    if endpoint.rows is not None:  # a list under an object: its rows, all of them
        assert len(listed) == endpoint.rows(mine) > 0, endpoint.path
        return
    ids = {row["id"] for row in listed}
    model = type(mine)._default_manager
    assert str(mine.pk) in ids, endpoint.path
    assert ids <= _ids(model.filter(workspace_id=tenant.workspace.pk)), endpoint.path
    assert not ids & _ids(model.filter(workspace_id=other_tenant.workspace.pk)), endpoint.path


def assert_roles(endpoint: Endpoint, tenant, mine) -> None:
    """Each role whose scopes hold the endpoint's gets 200; every other role 403 (assertGet,
    assertGetNotPermitted)."""
    for role, scopes in ROLE_SCOPES.items():
        response = tenant.client(role).get(endpoint.url(mine))
        if endpoint.scope in scopes:
            assert response.status_code == 200, (endpoint.path, role, response.content)
        else:
            assert_forbidden(response, endpoint.scope, (endpoint.path, role))


def assert_scopes(endpoint: Endpoint, tenant, mine) -> None:
    """A token with only the endpoint's scope is let in; one with every scope but it is not."""
    owner = ROLE_SCOPES["owner"]
    _, only = token_for(tenant.workspace, "owner", scopes=[endpoint.scope])
    _, all_but = token_for(tenant.workspace, "owner", scopes=owner - {endpoint.scope})
    assert _client(only).get(endpoint.url(mine)).status_code == 200, endpoint.path
    response = _client(all_but).get(endpoint.url(mine))
    assert_forbidden(response, endpoint.scope, (endpoint.path, "all scopes but"))


def assert_forbidden(response, scope: str, where) -> None:
    """403 `forbidden` in the error envelope, naming the scope that was missing."""
    assert response.status_code == 403, (where, response.content)
    assert assert_envelope(response, 403, "forbidden")["details"]["required_scope"] == scope, where


def assert_other_workspace(endpoint: Endpoint, tenant, other_tenant, theirs) -> None:
    """The other workspace's id answers 404 `not_found` (as an id of nothing), while that
    workspace's owner reads the same path (so the 404 is the tenancy check, not a wrong path)."""
    if "{id}" not in endpoint.path:  # a list (its rows are checked) or the token's own workspace
        body = tenant.client("owner").get(endpoint.path).json()
        assert other_tenant.workspace.pk not in str(body), endpoint.path
        return
    path = endpoint.url(theirs)
    assert other_tenant.client("owner").get(path).status_code == 200, path
    assert_envelope(tenant.client("owner").get(path), 404, "not_found")


def assert_queries_flat(endpoint: Endpoint, tenant, mine, *, rows: int = 3) -> None:
    """The same number of queries with `rows` and `2 * rows` more rows, and no more than the
    endpoint's bound: a count that grows with the rows is an N+1."""
    client = tenant.client("owner")
    endpoint.add_rows(tenant, mine, rows)
    few = _count_queries(client, endpoint.url(mine))
    endpoint.add_rows(tenant, mine, rows)
    many = _count_queries(client, endpoint.url(mine))
    assert few == many, f"{endpoint.path}: {few} queries, then {many} with {rows} more rows"
    assert many <= endpoint.max_queries, f"{endpoint.path}: {many} > {endpoint.max_queries}"


def _count_queries(client, url: str) -> int:
    """Queries of one GET, after a first one (so one-off writes, such as a token's first use,
    are not counted)."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.content)
    return len(captured)


def _client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _ids(queryset) -> set[str]:
    return {str(pk) for pk in queryset.values_list("pk", flat=True)}
