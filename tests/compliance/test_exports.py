"""Exports (CONTRACT §9): every kind, both formats, the manifest, roles and scopes, downloads,
expiry — run in process as the worker would (the real worker is in test_exports_e2e.py)."""

import csv
import hashlib
import io
import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from rest_framework.test import APIClient

from compliance import tasks
from compliance.exports import files, kinds, run, sweeps
from compliance.models import Consent, Export, Suppression
from compliance.resources import consent_resource, suppression_resource
from compliance.services import suppression_create
from messaging.models import Message
from messaging.resources import message_event_data
from webhooks.models import Event
from workspaces.audit import Actor, verify_chain
from workspaces.errors import TernError
from workspaces.models import AuditChainHead, AuditEvent, Membership
from workspaces.scopes import ALL_SCOPES
from workspaces.services import member_add, token_create

from ..support.factories import UserFactory, message_for, next_number, token_for

pytestmark = pytest.mark.django_db

KINDS = ["audit_events", "consents", "messages", "suppressions"]
FROM, TO = "2026-03-01", "2026-03-31"
# The range's very edges are in; a microsecond either side is out (dates inclusive, UTC).
INSIDE = [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)]
OUTSIDE = [datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)]
EXPORT_FIELDS = {
    "id",
    "kind",
    "format",
    "from",
    "to",
    "phone",
    "as_of",
    "status",
    "rows",
    "sha256",
    "download_url",
    "manifest",
    "error",
    "created_by",
    "created_at",
    "completed_at",
    "expires_at",
}


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path):
    """Each test writes its files in its own folder."""
    settings.EXPORTS_DIR = tmp_path / "exports"
    return settings.EXPORTS_DIR


def _records_at(t, moment) -> dict[str, str]:
    """One row of every kind in workspace `t`, created at `moment`; kind → id."""
    with time_machine.travel(moment, tick=False):
        message = message_for(t.workspace, t.sender)
        suppression, _ = suppression_create(
            workspace_id=t.workspace.pk, phone=next_number(), source="api", actor=Actor.system()
        )
        consent = Consent.objects.create(
            workspace=t.workspace,
            phone=next_number(),
            method="web_form",
            disclosure="Offers, 4/mo.",
            captured_at=moment,
            created_at=moment,
        )
    audit = AuditEvent.objects.get(action="suppression.created", target_id=suppression.pk)
    return {
        "messages": message.pk,
        "suppressions": suppression.pk,
        "consents": consent.pk,
        "audit_events": audit.pk,
    }


@pytest.fixture
def records(tenant, other_tenant) -> dict:
    """Rows of every kind in both workspaces, at both edges of March 2026 and just outside."""
    found = {"inside": {k: set() for k in KINDS}, "elsewhere": {k: set() for k in KINDS}}
    for t, moments, bucket in [
        (tenant, INSIDE, "inside"),
        (tenant, OUTSIDE, "elsewhere"),
        (other_tenant, INSIDE + OUTSIDE, "elsewhere"),
    ]:
        for moment in moments:
            for kind, pk in _records_at(t, moment).items():
                found[bucket][kind].add(pk)
    return found


def _create(tenant, role="owner", **body):
    body = {"kind": "messages", "format": "csv", "from": FROM, "to": TO, **body}
    return tenant.client(role).post("/api/v1/exports", body, format="json")


def _export(tenant, kind="messages", fmt="csv", **body) -> Export:
    """Create through the API, then run the task in process as the worker would."""
    response = _create(tenant, kind=kind, format=fmt, **body)
    assert response.status_code == 202, response.content
    tasks.export_run(response.json()["id"])
    return Export.objects.get(pk=response.json()["id"])


def _download(tenant, export_id, role="owner"):
    return tenant.client(role).get(f"/api/v1/exports/{export_id}/download")


def _content(response) -> bytes:
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


def _parse(fmt: str, data: bytes) -> tuple[list[str], list[dict]]:
    """(columns, rows) of a CSV or JSON Lines file."""
    text = data.decode()
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        return list(reader.fieldnames), list(reader)
    rows = [json.loads(line) for line in text.splitlines()]
    return (list(rows[0]) if rows else []), rows


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def test_the_registry_offers_every_kind():
    """compliance registers three kinds; messaging plugs `messages` in from its ready()."""
    # `contacts` (campaigns) and `number` (the evidence bundle) have tests of their own:
    # tests/compliance/test_number_export.py.
    assert kinds.export_kinds() == sorted([*KINDS, "contacts", "number"])
    assert kinds.export_kind("messages").fields[:3] == ("id", "direction", "status")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_exports_only_this_workspaces_rows_within_the_dates(tenant, records, kind, fmt):
    """Rows of this workspace created in [from 00:00, to + 1 day 00:00) UTC, and nothing else."""
    export = _export(tenant, kind, fmt)
    assert export.status == Export.COMPLETED, export.error
    data = _content(_download(tenant, export.pk))
    columns, rows = _parse(fmt, data)
    assert columns == list(kinds.export_kind(kind).fields)
    ids = [row["id"] for row in rows]
    assert set(ids) == records["inside"][kind]
    assert len(ids) == len(set(ids)) == export.rows == 2
    assert not set(ids) & records["elsewhere"][kind]
    assert hashlib.sha256(data).hexdigest() == export.sha256
    assert export.manifest["rows"] == 2 and export.manifest["sha256"] == export.sha256


def test_test_mode_messages_stay_out(tenant):
    """A messages export holds live messages only: test-mode sends never reached anyone."""
    phone = next_number()
    tenant.workspace.verified_recipients = [phone]
    tenant.workspace.save()
    with time_machine.travel(INSIDE[0], tick=False):
        live = message_for(tenant.workspace, tenant.sender)
        message_for(tenant.workspace, tenant.sender, to=phone, test=True)
    _, rows = _parse("jsonl", _content(_download(tenant, _export(tenant, fmt="jsonl").pk)))
    assert [row["id"] for row in rows] == [live.pk]


def test_jsonl_rows_read_as_the_api_shows_them(tenant, records):
    """Each JSON line is the resource of the API (a message without its timeline and mode)."""
    expected = {
        "messages": lambda pk: {
            k: v for k, v in message_event_data(Message.objects.get(pk=pk)).items() if k != "test"
        },
        "suppressions": lambda pk: suppression_resource(Suppression.objects.get(pk=pk)),
        "consents": lambda pk: consent_resource(Consent.objects.get(pk=pk)),
    }
    for kind, resource in expected.items():
        _, rows = _parse("jsonl", _content(_download(tenant, _export(tenant, kind, "jsonl").pk)))
        assert rows == [resource(row["id"]) for row in rows]
    _, audit_rows = _parse(
        "jsonl", _content(_download(tenant, _export(tenant, "audit_events", "jsonl").pk))
    )
    event = AuditEvent.objects.get(pk=audit_rows[0]["id"])
    assert audit_rows[0]["hash"] == event.hash and audit_rows[0]["after"] == event.after


def test_csv_cells_are_plain_text(tenant, records):
    """Times in ISO 8601 with Z, money as a decimal string, booleans and JSON spelled out."""
    _, rows = _parse("csv", _content(_download(tenant, _export(tenant, "messages").pk)))
    message = Message.objects.get(pk=rows[0]["id"])
    assert rows[0]["created_at"] == "2026-03-01T00:00:00.000000Z"
    assert rows[0]["price"] == f"{message.price:.4f}"
    assert rows[0]["metadata"] == "{}" and rows[0]["campaign"] == "" and rows[0]["error"] == ""
    _, suppressions = _parse("csv", _content(_download(tenant, _export(tenant, "suppressions").pk)))
    assert suppressions[0]["active"] == "true" and suppressions[0]["removed_at"] == ""


def test_manifest_records_the_audit_chain_head_and_verify_chain_agrees(tenant, records):
    """kind, filters, who, when, rows, sha256 and the chain head the file was made against."""
    export = _export(tenant, "audit_events", "jsonl")
    manifest = export.manifest
    head = AuditChainHead.objects.get(workspace=tenant.workspace)
    assert manifest["audit_chain_head"] == {
        "hash": head.head_hash,
        "count": head.count,
        "event_id": head.head_event_id,
    }
    report = verify_chain(tenant.workspace.pk)
    assert report.ok and report.count == manifest["audit_chain_head"]["count"]
    assert manifest["kind"] == "audit_events" and manifest["format"] == "jsonl"
    assert manifest["filters"] == {"from": FROM, "to": TO}
    assert manifest["created_by"] == export.created_by and "owner" in export.created_by
    assert manifest["created_at"].endswith("Z") and manifest["completed_at"].endswith("Z")
    assert (manifest["rows"], manifest["sha256"]) == (export.rows, export.sha256)
    assert export.expires_at == export.completed_at + timedelta(days=7)


def test_the_resource_lists_and_reads_within_the_workspace(tenant, other_tenant):
    """List and detail show the contract's fields; another workspace's export is not there."""
    mine = _export(tenant, "suppressions")
    theirs = _export(other_tenant, "suppressions")
    listed = tenant.client("viewer").get("/api/v1/exports").json()["results"]
    assert [e["id"] for e in listed] == [mine.pk]
    detail = tenant.client("viewer").get(f"/api/v1/exports/{mine.pk}").json()
    assert set(detail) == EXPORT_FIELDS
    assert detail["download_url"] == f"http://testserver/api/v1/exports/{mine.pk}/download"
    assert (detail["status"], detail["rows"], detail["sha256"]) == ("completed", 0, mine.sha256)
    assert detail["from"] == FROM and detail["to"] == TO and detail["manifest"]["rows"] == 0
    _error(tenant.client().get(f"/api/v1/exports/{theirs.pk}"), 404, "not_found")
    _error(_download(tenant, theirs.pk), 404, "not_found")


def test_create_answers_202_audits_and_enqueues_after_commit(
    tenant, django_capture_on_commit_callbacks
):
    """202 with a pending export; export.created in the chain; the task queued on commit only."""
    with mock.patch.object(tasks.export_run, "apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = _create(tenant, kind="consents", format="jsonl")
        assert response.status_code == 202, response.content
        assert enqueue.call_count == 0
        for callback in callbacks:
            callback()
    body = response.json()
    assert set(body) == EXPORT_FIELDS
    assert (body["status"], body["rows"], body["sha256"], body["manifest"]) == (
        "pending",
        None,
        None,
        None,
    )
    enqueue.assert_called_once_with((body["id"],), queue="default")
    audit = AuditEvent.objects.get(action="export.created", target_id=body["id"])
    assert audit.workspace_id == tenant.workspace.pk
    assert audit.after == {"kind": "consents", "format": "jsonl", "from": FROM, "to": TO}
    assert audit.actor_type == "token"


def test_viewer_and_tokens_without_the_scope_cannot_create(tenant):
    """403 forbidden with details.required_scope; nothing created, nothing audited."""
    error = _error(_create(tenant, role="viewer"), 403, "forbidden")
    assert error["details"]["required_scope"] == "exports:create"
    _, secret = token_for(tenant.workspace, "admin", scopes=["exports:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    error = _error(
        client.post("/api/v1/exports", {"kind": "messages", "from": FROM, "to": TO}, format="json"),
        403,
        "forbidden",
    )
    assert error["details"]["required_scope"] == "exports:create"
    assert client.get("/api/v1/exports").status_code == 200  # exports:read is enough to read
    assert not Export.objects.exists()
    assert not AuditEvent.objects.filter(action="export.created").exists()


def test_a_campaign_manager_cannot_create_even_with_the_scope(tenant, monkeypatch):
    """Only owner/admin: the role cannot be given exports:create, cannot use one minted before a
    demotion, and the role check stands even if the role's scopes were ever widened."""
    with pytest.raises(TernError) as refused:
        token_for(tenant.workspace, "campaign_manager", scopes=["exports:create"])
    assert refused.value.code == "forbidden"
    error = _error(_create(tenant, role="campaign_manager"), 403, "forbidden")
    assert error["details"]["required_scope"] == "exports:create"

    admin = member_add(workspace=tenant.workspace, user=UserFactory(), role="admin")
    _, secret = token_create(creator=admin, name="before demotion", scopes=["exports:create"])
    Membership.objects.filter(pk=admin.pk).update(role="campaign_manager")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"kind": "messages", "from": FROM, "to": TO}
    error = _error(client.post("/api/v1/exports", body, format="json"), 403, "forbidden")
    assert error["details"]["required_scope"] == "exports:create"

    monkeypatch.setattr("workspaces.authentication.scopes_for_role", lambda role: ALL_SCOPES)
    error = _error(client.post("/api/v1/exports", body, format="json"), 403, "forbidden")
    assert error["details"] == {"required_role": "owner or admin", "role": "campaign_manager"}
    assert not Export.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "people"}, "kind"),
        ({"kind": None}, "kind"),
        ({"format": "xlsx"}, "format"),
        ({"from": "2026-04-01", "to": "2026-03-31"}, "to"),
        ({"from": "01/03/2026"}, "from"),
        ({"to": "2026-03-31T00:00:00Z"}, "to"),
        ({"from": None}, "from"),
    ],
)
def test_a_bad_request_is_400_with_the_field(tenant, body, field):
    """Unknown kind or format, malformed dates, or `from` after `to`: validation_error."""
    error = _error(_create(tenant, **body), 400, "validation_error")
    assert field in error["details"]
    assert not Export.objects.exists()


def test_admin_may_create_and_the_format_defaults_to_csv(tenant):
    response = tenant.client("admin").post(
        "/api/v1/exports", {"kind": "audit_events", "from": FROM, "to": FROM}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["format"] == "csv"


def test_download_streams_the_file_with_its_type_and_is_audited(tenant, records):
    """Attachment, content type per format, the bytes hash to `sha256`; each download audited."""
    for fmt, content_type in [("csv", "text/csv"), ("jsonl", "application/x-ndjson")]:
        export = _export(tenant, "suppressions", fmt)
        response = _download(tenant, export.pk, role="viewer")
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"].startswith("attachment; filename=")
        assert response["Content-Disposition"].endswith(f'{export.pk}.{fmt}"')
        assert hashlib.sha256(_content(response)).hexdigest() == export.sha256
        assert _download(tenant, export.pk, role="viewer").status_code == 200
        downloads = AuditEvent.objects.filter(action="export.downloaded", target_id=export.pk)
        assert downloads.count() == 2
        assert downloads.first().after == {"sha256": export.sha256, "rows": 2}
    assert verify_chain(tenant.workspace.pk).ok


def test_download_answers_in_the_files_type_whatever_accept_says(tenant):
    export = _export(tenant, "suppressions")
    response = tenant.client().get(f"/api/v1/exports/{export.pk}/download", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    pending = _create(tenant).json()["id"]
    response = tenant.client().get(f"/api/v1/exports/{pending}/download", HTTP_ACCEPT="text/csv")
    _error(response, 409, "invalid_state")


def test_download_before_completion_is_409_invalid_state(tenant):
    """Pending (and running, and failed) exports have no file to give."""
    export_id = _create(tenant).json()["id"]
    error = _error(_download(tenant, export_id), 409, "invalid_state")
    assert error["details"]["status"] == "pending"
    Export.objects.filter(pk=export_id).update(status=Export.RUNNING)
    _error(_download(tenant, export_id), 409, "invalid_state")
    assert not AuditEvent.objects.filter(action="export.downloaded").exists()


def test_export_completed_event_carries_the_export(tenant):
    """export.completed (live) in the outbox, with the resource as the API shows it."""
    export = _export(tenant, "consents")
    event = Event.objects.get(workspace=tenant.workspace, type="export.completed")
    assert event.test is False
    assert event.data["id"] == export.pk
    assert (event.data["status"], event.data["sha256"]) == ("completed", export.sha256)
    assert event.data["download_url"].endswith(f"/api/v1/exports/{export.pk}/download")
    assert event.data["manifest"]["audit_chain_head"] == export.manifest["audit_chain_head"]


def test_after_seven_days_the_sweep_removes_the_file_and_download_is_404(tenant, exports_dir):
    export = _export(tenant, "suppressions")
    path = exports_dir / export.file_name
    assert path.exists() and path.parent.name == tenant.workspace.pk
    with time_machine.travel(export.expires_at - timedelta(minutes=1), tick=False):
        tasks.sweep()
        assert path.exists() and _download(tenant, export.pk).status_code == 200
    with time_machine.travel(export.expires_at + timedelta(minutes=1), tick=False):
        _error(_download(tenant, export.pk), 404, "not_found")  # expired, swept or not
        tasks.sweep()
        _error(_download(tenant, export.pk), 404, "not_found")
    assert not path.exists()
    export.refresh_from_db()
    assert export.status == Export.COMPLETED and export.file_name == ""
    assert tenant.client().get(f"/api/v1/exports/{export.pk}").json()["sha256"] == export.sha256


def test_a_missing_file_is_404(tenant, exports_dir):
    export = _export(tenant, "suppressions")
    (exports_dir / export.file_name).unlink()
    _error(_download(tenant, export.pk), 404, "not_found")


def test_a_failure_is_recorded_and_leaves_no_file(tenant, monkeypatch, exports_dir):
    """The kind's rows raise mid-file: failed, with words (never the exception); no file, no
    event."""

    def rows(workspace_id, date_from, date_to):
        yield {"id": "x"}
        raise RuntimeError("the database went away")

    monkeypatch.setitem(kinds._KINDS, "boom", kinds.ExportKind("boom", ("id",), rows))
    export = _export(tenant, "boom")
    assert export.status == Export.FAILED
    assert export.error == run.FAILED_WORDS
    assert "RuntimeError" not in export.error and "went away" not in export.error
    assert export.sha256 == "" and export.rows is None
    assert not list(exports_dir.rglob("*.*"))
    assert not Event.objects.filter(type="export.completed").exists()
    detail = tenant.client().get(f"/api/v1/exports/{export.pk}").json()
    assert detail["status"] == "failed" and detail["error"] == run.FAILED_WORDS


def test_the_task_is_safe_to_run_twice(tenant):
    export = _export(tenant, "audit_events")
    assert run.export_run(export_id=export.pk) is None
    export.refresh_from_db()
    assert Event.objects.filter(type="export.completed").count() == 1
    assert export.status == Export.COMPLETED


def test_the_sweep_requeues_lost_exports_and_fails_dead_runs(
    tenant, django_capture_on_commit_callbacks
):
    """Pending for minutes → enqueued again; running with a file untouched past the limit →
    failed; a fresh pending export and a live run are left alone."""
    lost = _create(tenant).json()["id"]
    Export.objects.filter(pk=lost).update(created_at=datetime.now(UTC) - timedelta(minutes=5))
    fresh = _create(tenant).json()["id"]
    dead, live = (_create(tenant).json()["id"] for _ in range(2))
    Export.objects.filter(pk__in=[dead, live]).update(status=Export.RUNNING)
    for export_id, age in [(dead, run.TIME_LIMIT + 120), (live, 5)]:
        part = files.part_path(Export.objects.get(pk=export_id))
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_text("id\r\n")
        os.utime(part, (time.time() - age, time.time() - age))
    with (
        mock.patch.object(tasks.export_run, "apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sweeps.export_sweep() == {"expired": 0, "requeued": 1, "interrupted": 1}
    enqueue.assert_called_once_with((lost,), queue="default")
    statuses = dict(Export.objects.values_list("id", "status"))
    assert statuses[dead] == "failed" and statuses[live] == "running"
    assert statuses[fresh] == "pending"
    assert "interrupted" in Export.objects.get(pk=dead).error
    assert not files.part_path(Export.objects.get(pk=dead)).exists()


def test_day_range_is_inclusive_utc():
    assert kinds.day_range(date(2026, 3, 1), date(2026, 3, 31)) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
