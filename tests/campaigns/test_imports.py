"""Contact imports (CONTRACT §7): upload, the worker's job run in process, the report's row codes,
consent, updates of known contacts, tenancy and scopes."""

import random
from datetime import UTC, datetime
from unittest import mock

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns import tasks
from campaigns.imports import report, run, upload
from campaigns.models import Contact, ContactImport
from compliance.models import Consent
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

HEADER = "phone,first_name,last_name,timezone,tags,consent"
RESOURCE_FIELDS = {
    "id",
    "status",
    "file_name",
    "tags",
    "consent_disclosure",
    "created",
    "updated",
    "errors",
    "errors_truncated",
    "failure",
    "created_by",
    "created_at",
    "completed_at",
    "rows_total",  # the progress (issue 14), additive
    "rows_read",
}
DISCLOSURE = "Acme offers, up to 4 msgs/mo. Msg & data rates may apply. Reply STOP to opt out."


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test keeps its uploads in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _upload(tenant, text: str | bytes, role="owner", name="contacts.csv", **fields):
    data = text.encode() if isinstance(text, str) else text
    body = {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **fields}
    return tenant.client(role).post("/api/v1/contact-imports", body, format="multipart")


def _import(tenant, text: str, **fields) -> dict:
    """Upload, run the job in process as the worker would, and read the import back."""
    response = _upload(tenant, text, **fields)
    assert response.status_code == 202, response.content
    tasks.contact_import_run(response.json()["id"])
    return tenant.client("viewer").get(f"/api/v1/contact-imports/{response.json()['id']}").json()


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def _phone(n: int) -> str:
    return f"+1312555{n:04d}"


def _acceptance_file() -> tuple[str, list[dict]]:
    """2,000 data rows, 50 of them bad at random places; (the CSV, the report it must give)."""
    rng = random.Random(2026)
    bad_at = set(rng.sample(range(1, 2000), 50))  # never the first row: duplicates need a prior
    kinds = ["invalid_number"] * 15 + ["blank_row"] * 10 + ["duplicate_in_file"] * 15
    kinds += ["consent_without_disclosure"] * 10
    rng.shuffle(kinds)
    lines, expected, good = [HEADER], [], []
    for index in range(2000):
        row = index + 2  # the header is row 1
        if index not in bad_at:
            n = len(good) + len(expected)
            phone = _phone(n) if n % 3 else f"(312) 555-{n:04d}"  # national numbers too
            good.append(_phone(n))
            tz = "America/Chicago" if n % 5 == 0 else ""
            lines.append(f"{phone},First{n},Last{n},{tz},a;b,{'no' if n % 2 else ''}")
            continue
        kind, n = kinds.pop(), len(good) + len(expected)
        line, value = {
            "invalid_number": (f"555-{n:03d},Bad,Number,,,", f"555-{n:03d}"),
            "blank_row": ("" if n % 2 else ",,,,,", ""),
            "duplicate_in_file": (f"{good[n % len(good)]},Again,,,,", good[n % len(good)]),
            "consent_without_disclosure": (f"{_phone(n)},No,Disclosure,,,Yes", "Yes"),
        }[kind]
        lines.append(line)
        expected.append({"row": row, "value": value, "code": kind})
    return "\n".join(lines) + "\n", expected


def test_acceptance_2000_rows_with_50_bad_ones(tenant, django_assert_max_num_queries):
    """1,950 contacts created; the report names each of the 50 bad rows exactly, in file order."""
    text, expected = _acceptance_file()
    response = _upload(tenant, text)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    # Batched: a few queries per 1,000 rows, not one per row.
    with django_assert_max_num_queries(40):
        tasks.contact_import_run(response.json()["id"])
    body = tenant.client("viewer").get(f"/api/v1/contact-imports/{response.json()['id']}").json()
    assert set(body) == RESOURCE_FIELDS
    assert (body["status"], body["created"], body["updated"]) == ("completed", 1950, 0)
    assert body["errors"] == expected
    assert body["errors_truncated"] is False and body["completed_at"].endswith("Z")
    contacts = Contact.objects.for_workspace(tenant.workspace)
    assert contacts.count() == 1950
    first = contacts.get(phone=_phone(0))
    assert (first.first_name, first.tags, first.timezone) == (
        "First0",
        ["a", "b"],
        "America/Chicago",
    )
    assert not Consent.objects.for_workspace(tenant.workspace).exists()
    assert not report.import_path(body["id"]).exists()


def test_consent_yes_with_a_disclosure_records_import_consent(tenant):
    """yes/Y/true/1 grant marketing consent, method import, the import's disclosure; no doesn't."""
    text = "\n".join(
        [
            HEADER + ",consent_captured_at",
            "+14155550101,A,,,,yes,2026-01-15T10:30:00Z",
            "+14155550102,B,,,,Y,",
            "+14155550103,C,,,,no,",
            "+14155550104,D,,,,TRUE,2026-01-16",
        ]
    )
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        body = _import(tenant, text, consent_disclosure=f"  {DISCLOSURE} ")
    assert (body["status"], body["created"], body["errors"]) == ("completed", 4, [])
    assert body["consent_disclosure"] == DISCLOSURE
    consents = {c.phone: c for c in Consent.objects.for_workspace(tenant.workspace)}
    assert set(consents) == {"+14155550101", "+14155550102", "+14155550104"}
    for consent in consents.values():
        assert (consent.method, consent.disclosure) == ("import", DISCLOSURE)
        assert (consent.action, consent.category, consent.scope) == (
            "grant",
            "marketing",
            "workspace",
        )
        assert body["id"] in consent.created_by
    assert consents["+14155550101"].captured_at == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert consents["+14155550102"].captured_at == now
    assert consents["+14155550104"].captured_at == datetime(2026, 1, 16, tzinfo=UTC)
    granted = AuditEvent.objects.filter(workspace=tenant.workspace, action="consent.granted")
    assert granted.count() == 3 and {e.actor_id for e in granted} == {body["id"]}


def test_known_contacts_are_updated_not_duplicated(tenant):
    """Names and time zone when given, tags merged (the import's own tags too); counted apart."""
    known = Contact.objects.create(
        workspace=tenant.workspace,
        phone="+14155550110",
        first_name="Ada",
        last_name="Lovelace",
        tags=["vip"],
        timezone="America/Chicago",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    text = f"{HEADER}\n4155550110,Augusta,,,beta;vip,\n+14155550111,New,,Europe/London,,\n"
    body = _import(tenant, text, tags=["launch", "spring,summer;launch"])
    assert (body["created"], body["updated"], body["errors"]) == (1, 1, [])
    assert body["tags"] == ["launch", "spring", "summer"]
    known.refresh_from_db()
    assert (known.first_name, known.last_name, known.timezone) == (
        "Augusta",
        "Lovelace",
        "America/Chicago",
    )
    assert known.tags == ["beta", "launch", "spring", "summer", "vip"]
    new = Contact.objects.get(workspace=tenant.workspace, phone="+14155550111")
    assert new.tags == ["launch", "spring", "summer"] and new.timezone == "Europe/London"
    assert Contact.objects.for_workspace(tenant.workspace).count() == 2


def test_other_workspaces_see_nothing_and_keep_their_contacts(tenant, other_tenant):
    """B cannot read A's import (404) nor list it; B's contact of the same number is untouched."""
    theirs = Contact.objects.create(
        workspace=other_tenant.workspace,
        phone="+14155550120",
        first_name="Theirs",
        tags=["b"],
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    body = _import(tenant, f"{HEADER}\n+14155550120,Mine,,,a,\n")
    assert (body["created"], body["updated"]) == (1, 0)
    _error(other_tenant.client().get(f"/api/v1/contact-imports/{body['id']}"), 404, "not_found")
    assert other_tenant.client().get("/api/v1/contact-imports").json()["results"] == []
    listed = tenant.client("viewer").get("/api/v1/contact-imports").json()["results"]
    assert [i["id"] for i in listed] == [body["id"]]
    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.tags) == ("Theirs", ["b"])
    assert Contact.objects.for_workspace(other_tenant.workspace).count() == 1


def test_creating_needs_contacts_write(tenant):
    """A viewer's token (contacts:read only) gets 403 with the scope; it may read the list."""
    error = _error(
        _upload(tenant, f"{HEADER}\n+14155550130,,,,,\n", role="viewer"), 403, "forbidden"
    )
    assert error["details"]["required_scope"] == "contacts:write"
    assert not ContactImport.objects.exists()
    assert tenant.client("viewer").get("/api/v1/contact-imports").status_code == 200
    assert _upload(tenant, f"{HEADER}\n", role="campaign_manager").status_code == 202


def test_a_file_without_a_phone_column_is_refused_at_upload(tenant, media_root):
    """400 validation_error naming the missing column; nothing recorded, no file kept."""
    error = _error(_upload(tenant, "first_name,last_name\nAda,L\n"), 400, "validation_error")
    assert error["details"]["missing_columns"] == ["phone"]
    assert "`phone`" in error["details"]["file"][0]
    assert not ContactImport.objects.exists()
    assert list((media_root / "imports").iterdir()) == []


@pytest.mark.parametrize(
    ("content", "fields"),
    [(b"", {}), (b"\xff\xfephone\n", {}), (HEADER.encode(), {"tags": ["x" * 65]})],
    ids=["empty", "not-utf8", "tag-too-long"],
)
def test_malformed_uploads_are_refused(tenant, content, fields):
    """An empty file, bytes that are not UTF-8 or a tag over 64 characters: 400."""
    _error(_upload(tenant, content, **fields), 400, "validation_error")
    assert not ContactImport.objects.exists()


def test_missing_file_and_oversized_file(tenant, monkeypatch):
    """No `file` → 400 naming it; a file over the limit (20 MiB; lowered here) → 400."""
    response = tenant.client().post("/api/v1/contact-imports", {"tags": "a"}, format="multipart")
    assert "file" in _error(response, 400, "validation_error")["details"]
    monkeypatch.setattr(upload, "MAX_FILE_BYTES", 40)
    error = _error(_upload(tenant, f"{HEADER}\n+14155550140,,,,,\n"), 400, "validation_error")
    assert "20 MiB" in error["details"]["file"][0]


def test_each_row_code(tenant):
    """Every row code of the report, with the refused cell; rows count records, not lines."""
    long_name = "x" * 101
    text = "\n".join(
        [
            "Phone,First_Name,Last_Name,TimeZone,Tags,Consent,Consent_Captured_At",  # any case
            '+14155550150,"two\nlines",,,,,',  # one record over two lines: still row 2
            "+14155550151,,,Mars/Base,,,",
            "+14155550152,,,,,maybe,",
            "+14155550153,,,,,yes,last tuesday",
            "+14155550154,,,,,yes,2999-01-01T00:00:00Z",
            f"+14155550155,{long_name},,,,,",
            "+14155550156,,,,ok;" + "t" * 65 + ",,",
            "  ",
            "+1415555015,,,,,,",
            "+14155550150,,,,,,",
            "+14155550157,,,,,no,not checked without consent",
        ]
    )
    body = _import(tenant, text, consent_disclosure=DISCLOSURE)
    assert body["errors"] == [
        {"row": 3, "value": "Mars/Base", "code": "invalid_timezone"},
        {"row": 4, "value": "maybe", "code": "invalid_consent"},
        {"row": 5, "value": "last tuesday", "code": "invalid_consent_captured_at"},
        {"row": 6, "value": "2999-01-01T00:00:00Z", "code": "invalid_consent_captured_at"},
        {"row": 7, "value": long_name, "code": "value_too_long"},
        {"row": 8, "value": "t" * 65, "code": "value_too_long"},
        {"row": 9, "value": "", "code": "blank_row"},
        {"row": 10, "value": "+1415555015", "code": "invalid_number"},
        {"row": 11, "value": "+14155550150", "code": "duplicate_in_file"},
    ]
    assert (body["created"], body["updated"]) == (2, 0)
    assert Contact.objects.get(phone="+14155550150").first_name == "two\nlines"


def test_numbers_read_in_the_workspace_default_country(tenant):
    """Without `+`, a number is national to `default_country`; a UTF-8 BOM is ignored."""
    tenant.workspace.default_country = "GB"
    tenant.workspace.save()
    body = _import(tenant, "\ufeffphone\n07911 123456\n")
    assert (body["created"], body["errors"]) == (1, [])
    assert Contact.objects.get(workspace=tenant.workspace).phone == "+447911123456"


def test_the_report_is_capped(tenant, monkeypatch):
    """Past the cap the report keeps the first rows and says it was truncated."""
    monkeypatch.setattr(report, "MAX_ERRORS", 3)
    body = _import(tenant, "phone\n" + "\n".join(f"bad{n}" for n in range(5)) + "\n+14155550160\n")
    assert [e["row"] for e in body["errors"]] == [2, 3, 4]
    assert body["errors_truncated"] is True and body["created"] == 1


def test_created_answers_202_audits_and_enqueues_after_commit(
    tenant, django_capture_on_commit_callbacks, media_root
):
    """202 with a pending import; the file waits for the worker; the task queued on commit."""
    with mock.patch.object(tasks.contact_import_run, "apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = _upload(tenant, f"{HEADER}\n+14155550170,,,,,\n", tags="a;b")
        assert response.status_code == 202, response.content
        assert enqueue.call_count == 0
        for callback in callbacks:
            callback()
    body = response.json()
    assert set(body) == RESOURCE_FIELDS and body["id"].startswith("imp_")
    assert (body["status"], body["created"], body["errors"], body["tags"]) == (
        "pending",
        0,
        [],
        ["a", "b"],
    )
    assert body["file_name"] == "contacts.csv" and body["completed_at"] is None
    enqueue.assert_called_once_with((body["id"],), queue="default")
    assert (media_root / "imports" / f"{body['id']}.csv").exists()
    audit = AuditEvent.objects.get(action="contact_import.created", target_id=body["id"])
    assert audit.actor_type == "token" and audit.workspace_id == tenant.workspace.pk


def test_running_twice_does_nothing_the_second_time(tenant):
    """The job claims a pending import once; a completed one is left as it is."""
    response = _upload(tenant, f"{HEADER}\n+14155550180,,,,,\n")
    first = run.contact_import_run(import_id=response.json()["id"])
    assert first.status == ContactImport.COMPLETED and first.created == 1
    assert run.contact_import_run(import_id=first.pk) is None
    first.refresh_from_db()
    assert (first.created, first.updated) == (1, 0)
    assert (
        AuditEvent.objects.filter(action="contact_import.completed", target_id=first.pk).count()
        == 1
    )


def test_a_lost_file_fails_the_import(tenant):
    """The worker cannot read the file: `failed`, with the reason."""
    response = _upload(tenant, f"{HEADER}\n+14155550190,,,,,\n")
    report.import_path(response.json()["id"]).unlink()
    done = run.contact_import_run(import_id=response.json()["id"])
    assert done.status == ContactImport.FAILED and "gone" in done.failure
    assert tenant.client().get(f"/api/v1/contact-imports/{done.pk}").json()["failure"]


def test_a_file_over_the_json_body_limit_is_still_taken(tenant, settings):
    """The 5 MiB limit on API bodies does not cap uploads: a 6 MiB CSV is accepted (202)."""
    row = "+14155550140,Ann,Lee,,vip,\n"
    text = HEADER + "\n" + row * (6 * 1024 * 1024 // len(row) + 1)
    assert len(text) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert _upload(tenant, text).status_code == 202
