"""Schema, docs, health and the bootstrap command."""

import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from workspaces.services import heartbeat_record

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_3_and_documents_errors(anon):
    """The schema validates and every operation documents the envelope for 401 and 429."""
    response = anon.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert len(operations) >= 10
    for op in operations:
        assert {"401", "403", "429", "500"} <= set(op["responses"]), op["operationId"]
        assert "204" not in op["responses"], op["operationId"]


def test_docs_page_is_served_locally(anon):
    """The browsable docs render without a CDN."""
    response = anon.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content


def test_healthz_reports_heartbeats_and_goes_stale(anon):
    """Fresh heartbeats → ok; after 60 s without one → stale; database and broker ok."""
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        heartbeat_record(name="worker")
        heartbeat_record(name="scheduler")
        body = anon.get("/healthz").json()
    assert body == {"database": "ok", "broker": "ok", "worker": "ok", "scheduler": "ok"}
    with time_machine.travel(now.timestamp() + 61, tick=False):
        body = anon.get("/healthz").json()
    assert body["worker"] == "stale" and body["scheduler"] == "stale"


def test_create_workspace_prints_the_contract_json():
    """One JSON object: workspace id/slug, live and test tokens that work, a sender."""
    out = StringIO()
    call_command("create_workspace", name="Acme Co", owner_email="ops@acme.test", stdout=out)
    result = json.loads(out.getvalue())
    assert set(result) == {"workspace", "tokens", "sender", "owner_setup_url"}
    assert set(result["workspace"]) == {"id", "slug"} and result["workspace"]["id"].startswith(
        "ws_"
    )
    assert result["tokens"]["live"].startswith("tern_live_")
    assert result["tokens"]["test"].startswith("tern_test_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {result['tokens']['live']}")
    workspace = client.get("/api/v1/workspace").json()
    assert workspace["test_mode"] is False and workspace["default_sender"] == result["sender"]


def test_isoformat_pads_years_before_1000():
    """ISO 8601 wants four-digit years; strftime leaves `112` unpadded on Linux."""
    from datetime import UTC, datetime

    from workspaces.clock import isoformat

    assert isoformat(datetime(112, 3, 23, 1, 2, 3, tzinfo=UTC)) == "0112-03-23T01:02:03.000000Z"
    assert isoformat(datetime(2026, 11, 27, tzinfo=UTC)) == "2026-11-27T00:00:00.000000Z"
