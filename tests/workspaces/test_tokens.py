"""Tokens: hashed, shown once, scoped no wider than their creator's role, revocable, expiring."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from workspaces import services
from workspaces.errors import TernError
from workspaces.models import ApiToken

from ..support.factories import member, token_for

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    """A client carrying this token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_create_shows_the_secret_once_and_stores_only_its_hash(tenant):
    """The creation answer carries `token`; the list and detail never do; the DB has a hash."""
    client = tenant.client("owner")
    response = client.post(
        "/api/v1/tokens", {"name": "ci", "scopes": ["messages:read"], "mode": "test"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("tern_test_") and body["prefix"] == body["token"][:14]
    assert set(body) == {
        "id",
        "name",
        "scopes",
        "mode",
        "prefix",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "token",
    }
    stored = ApiToken.objects.get(pk=body["id"])
    assert body["token"] not in (stored.secret_hash, stored.prefix)
    assert "token" not in client.get(f"/api/v1/tokens/{body['id']}").json()
    assert all("token" not in t for t in client.get("/api/v1/tokens").json()["results"])
    assert bearer(body["token"]).get("/api/v1/senders").status_code == 403  # works, scoped


def test_missing_malformed_and_unknown_tokens_are_401(tenant, anon):
    """No header, a malformed header and an unknown token all answer the 401 envelope."""
    for client in (anon, bearer("nope"), bearer("tern_live_" + "x" * 40)):
        response = client.get("/api/v1/workspace")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["error"]["retry"] == "retry_after_fix"


def test_revoked_token_is_401_and_revoke_answers_200(tenant):
    """DELETE revokes (200 with revoked_at) and the token stops working at once."""
    token, secret = token_for(tenant.workspace, "agent")
    response = tenant.client("owner").delete(f"/api/v1/tokens/{token.id}")
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert bearer(secret).get("/api/v1/audit-events").status_code == 401


def test_expired_token_is_401(tenant):
    """A token past its expires_at is refused."""
    _, secret = token_for(
        tenant.workspace, "viewer", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert bearer(secret).get("/api/v1/audit-events").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert bearer(secret).get("/api/v1/audit-events").status_code == 401


def test_missing_scope_is_403_with_required_scope(tenant):
    """A valid token without workspace:manage gets 403 forbidden naming the scope."""
    response = tenant.client("viewer").get("/api/v1/workspace")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and error["details"]["required_scope"] == "workspace:manage"


def test_viewer_cannot_mint_a_send_token(tenant):
    """A viewer can grant read scopes only, whichever way the token is minted."""
    viewer = member(tenant.workspace, "viewer")
    with pytest.raises(TernError) as refused:
        services.token_create(creator=viewer, name="x", scopes=["messages:send"])
    assert refused.value.code == "forbidden"
    response = tenant.client("viewer").post(
        "/api/v1/tokens", {"name": "x", "scopes": ["messages:send"]}, format="json"
    )
    assert response.status_code == 403


def test_token_cannot_grant_scopes_it_lacks(tenant):
    """An owner's token limited to workspace:manage cannot mint a messages:send token."""
    _, secret = token_for(tenant.workspace, "owner", scopes=["workspace:manage"])
    response = bearer(secret).post(
        "/api/v1/tokens", {"name": "x", "scopes": ["messages:send"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["details"]["required_scope"] == "messages:send"


def test_demoted_creator_narrows_existing_tokens(tenant):
    """Scopes are the token's ∩ the creator's current role: a demotion takes effect at once."""
    token, secret = token_for(tenant.workspace, "admin")
    assert bearer(secret).get("/api/v1/workspace").status_code == 200
    token.created_by.role = "viewer"
    token.created_by.save()
    assert bearer(secret).get("/api/v1/workspace").status_code == 403


def test_unknown_scope_is_a_validation_error(tenant):
    """Scopes outside the table are refused with details on the field."""
    response = tenant.client("owner").post(
        "/api/v1/tokens", {"name": "x", "scopes": ["root"]}, format="json"
    )
    assert response.status_code == 400
    assert "scopes" in response.json()["error"]["details"]


def _token_writes(secret: str) -> tuple[int, list[str]]:
    """(queries, UPDATEs of the token table) of one authenticated request."""
    table = ApiToken._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        assert bearer(secret).get("/api/v1/audit-events").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    return len(sql), [q for q in sql if q.startswith("UPDATE") and table in q]


def test_last_used_at_is_written_at_most_once_a_minute(tenant):
    """The first use writes last_used_at; uses within the minute do not touch the row (one
    query fewer: the UPDATE)."""
    token, secret = token_for(tenant.workspace, "viewer")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first_queries, first_writes = _token_writes(secret)
        first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first == start and len(first_writes) == 1
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        quiet_queries, quiet_writes = _token_writes(secret)
    assert quiet_writes == [] and quiet_queries == first_queries - 1
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        later_queries, later_writes = _token_writes(secret)
    assert len(later_writes) == 1 and later_queries == first_queries
    assert ApiToken.objects.get(pk=token.pk).last_used_at == start + timedelta(seconds=61)


def test_token_creation_and_revocation_are_audited(tenant):
    """Both leave an audit event naming the token."""
    client = tenant.client("owner")
    token_id = client.post(
        "/api/v1/tokens", {"name": "a", "scopes": ["audit:read"]}, format="json"
    ).json()["id"]
    client.delete(f"/api/v1/tokens/{token_id}")
    actions = [
        e["action"]
        for e in client.get("/api/v1/audit-events").json()["results"]
        if e["target"]["id"] == token_id
    ]
    assert actions == ["token.revoked", "token.created"]
