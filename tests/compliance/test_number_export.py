"""The `number` evidence bundle and the `contacts` export kind (CONTRACT §9), created through
the API and run in process as the worker would (the worker's own run is test_exports_e2e)."""

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns.services.contacts import contact_create
from compliance import tasks
from compliance.models import Export
from tests.support.envelope import assert_envelope
from tests.support.factories import next_number
from tests.support.number_story import four_moments, grant
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

MOMENTS = [datetime(2026, 11, d, 18, 0, tzinfo=UTC) for d in (10, 11, 12, 13)]


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path):
    settings.EXPORTS_DIR = tmp_path / "exports"


def _create(tenant, **body):
    return tenant.client().post("/api/v1/exports", body, format="json")


def _run(tenant, **body) -> tuple[Export, bytes]:
    """Create, run, download: (the export, the file's bytes)."""
    response = _create(tenant, **body)
    assert response.status_code == 202, response.content
    tasks.export_run(response.json()["id"])
    export = Export.objects.get(pk=response.json()["id"])
    assert export.status == Export.COMPLETED, export.error
    download = tenant.client().get(f"/api/v1/exports/{export.pk}/download")
    assert download.status_code == 200
    return export, b"".join(download.streaming_content)


def _lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def _csv_rows(data: bytes) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    for row in rows:
        row["record"] = json.loads(row["record"]) if row["record"] else None
    return rows


@pytest.fixture
def story(tenant, other_tenant):
    phone = next_number()
    mine = four_moments(tenant, phone, MOMENTS)
    four_moments(other_tenant, phone, [m + timedelta(hours=1) for m in MOMENTS])  # never shown
    return mine


def _bundle(tenant, story, fmt: str) -> tuple[Export, bytes, list[dict]]:
    as_of = (story.after(3)).isoformat()
    with time_machine.travel(MOMENTS[3] + timedelta(hours=2), tick=False):
        export, data = _run(tenant, kind="number", format=fmt, phone=story.phone, as_of=as_of)
    rows = _lines(data) if fmt == "jsonl" else _csv_rows(data)
    return export, data, rows


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_bundle_holds_every_record_between_two_manifests(tenant, other_tenant, story, fmt):
    export, data, rows = _bundle(tenant, story, fmt)
    assert hashlib.sha256(data).hexdigest() == export.sha256
    first, last = rows[0], rows[-1]
    assert (first["section"], first["type"]) == ("manifest", "manifest_start")
    assert (last["section"], last["type"]) == ("manifest", "manifest_end")
    manifest = first["record"]
    assert manifest["kind"] == "number" and manifest["export"] == export.pk
    assert manifest["filters"] == {"phone": story.phone, "as_of": "2026-11-13T18:01:00.000000Z"}
    assert manifest["created_by"] == export.created_by
    assert manifest["audit_chain_head"] == export.manifest["audit_chain_head"]
    assert last["record"]["rows"] == len(rows) - 2
    assert export.rows == len(rows)
    ids = {row["id"] for row in rows}
    assert set(story.ids.values()) <= ids
    assert (
        not {r.target_id for r in AuditEvent.objects.filter(workspace=other_tenant.workspace)} & ids
    )
    keyword_ids = {row["id"] for row in rows if row["type"] == "keyword_message"}
    assert len(keyword_ids) == 2


def test_the_bundle_names_the_gates_that_decided(tenant, story):
    _, _, rows = _bundle(tenant, story, "jsonl")
    sent = next(row for row in rows if row["section"] == "message")
    assert sent["id"] == story.ids["message"]
    gates = sent["record"]["gates"]
    assert gates[0]["event"] == "policy_passed"
    assert gates[0]["detail"]["consent"]["id"] == story.ids["grant"]
    refused = [row for row in rows if row["section"] == "refusal"]
    assert [row["type"] for row in refused] == ["workspace_suppressed"]
    state = [row for row in rows if row["section"] == "state"]
    assert [(row["type"], row["id"]) for row in state] == [
        ("marketing_consent", story.ids["regrant"])
    ]


def test_the_bundle_reads_the_story_as_the_api_does(tenant, story):
    """Its history rows are the API's history at the same moment, in the same order."""
    as_of = story.after(2).isoformat().replace("+00:00", "Z")
    api = tenant.client().get(f"/api/v1/numbers/{story.phone}?as_of={as_of}").json()
    _, data = _run(tenant, kind="number", format="jsonl", phone=story.phone, as_of=as_of)
    history = [row["record"] for row in _lines(data) if row["section"] == "history"]
    assert history == api["history"]
    state = [row for row in _lines(data) if row["section"] == "state"]
    assert [row["id"] for row in state] == ["", story.ids["suppression"]]


def test_a_backdated_grant_is_marked_in_the_bundle(tenant):
    phone = next_number()
    with time_machine.travel(MOMENTS[2], tick=False):
        grant(tenant, phone, captured_at=MOMENTS[0].isoformat())
    _, data = _run(tenant, kind="number", format="jsonl", phone=phone, as_of=MOMENTS[1].isoformat())
    history = [row for row in _lines(data) if row["section"] == "history"]
    assert [row["recorded_later"] for row in history] == [True]


def test_the_resource_shows_the_phone_and_the_moment(tenant):
    phone = next_number()
    response = _create(tenant, kind="number", format="csv", phone=phone, as_of="2026-11-12")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["phone"] == phone
    assert body["as_of"] == "2026-11-12T23:59:59.999999Z"
    other = _create(
        tenant, kind="consents", format="csv", **{"from": "2026-01-01", "to": "2026-01-02"}
    )
    assert other.json()["phone"] is None and other.json()["as_of"] is None


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "number", "format": "jsonl"}, "phone"),
        ({"kind": "number", "format": "jsonl", "phone": "12"}, "phone"),
        ({"kind": "number", "format": "jsonl", "phone": "+14155550100", "as_of": "soon"}, "as_of"),
        ({"kind": "contacts", "format": "csv", "to": "2026-01-01"}, "from"),
        ({"kind": "messages", "format": "csv", "from": "2026-01-01"}, "to"),
    ],
)
def test_each_kind_asks_for_what_it_reads(tenant, body, field):
    error = assert_envelope(_create(tenant, **body), 400, "validation_error")
    assert field in error["details"], error
    assert not Export.objects.exists()


def test_a_viewer_may_not_create_a_number_export(tenant):
    response = tenant.client("viewer").post(
        "/api/v1/exports", {"kind": "number", "phone": "+14155550100"}, format="json"
    )
    assert_envelope(response, 403, "forbidden")


def _contact(t, moment, **fields):
    with time_machine.travel(moment, tick=False):
        return contact_create(workspace_id=t.workspace.pk, phone=next_number(), **fields)


def test_contacts_export_has_its_columns_and_only_the_range(tenant, other_tenant):
    inside = _contact(
        tenant,
        datetime(2026, 3, 1, tzinfo=UTC),
        first_name="Ada",
        tags=["vip", "nyc"],
        attributes={"plan": "gold"},
        timezone="America/New_York",
    )
    _contact(tenant, datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    _contact(other_tenant, datetime(2026, 3, 2, tzinfo=UTC))
    export, data = _run(
        tenant, kind="contacts", format="csv", **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    assert list(rows[0]) == [
        "phone",
        "first_name",
        "last_name",
        "timezone",
        "tags",
        "attributes",
        "created_at",
        "updated_at",
    ]
    assert [r["phone"] for r in rows] == [inside.phone]
    assert json.loads(rows[0]["tags"]) == ["vip", "nyc"]
    assert json.loads(rows[0]["attributes"]) == {"plan": "gold"}
    assert rows[0]["created_at"] == "2026-03-01T00:00:00.000000Z"
    assert export.manifest["filters"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert hashlib.sha256(data).hexdigest() == export.sha256


def test_contacts_csv_neutralises_formulas(tenant):
    _contact(
        tenant,
        datetime(2026, 3, 5, tzinfo=UTC),
        first_name='=HYPERLINK("http://evil","x")',
        last_name="@SUM(A1)",
    )
    _, data = _run(
        tenant, kind="contacts", format="csv", **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    row = next(csv.DictReader(io.StringIO(data.decode(), newline="")))
    assert row["first_name"] == '\'=HYPERLINK("http://evil","x")'
    assert row["last_name"] == "'@SUM(A1)"


def test_the_number_bundle_csv_neutralises_formulas(tenant):
    phone = next_number()
    with time_machine.travel(MOMENTS[0], tick=False):
        tenant.client().post(
            "/api/v1/suppressions", {"phone": phone, "reason": "=1+1"}, format="json"
        )
    _, data = _run(tenant, kind="number", format="csv", phone=phone, as_of=MOMENTS[1].isoformat())
    assert b"\n=" not in data and b",=" not in data
    cells = [c for row in csv.reader(io.StringIO(data.decode(), newline="")) for c in row]
    assert not any(c[:1] in "=+-@" and c for c in cells if not c.lstrip("+-").isdigit())
