"""Contact imports lost with their worker (a run killed mid-way, a task lost) are handed to a new
run by the sweep once their lease passed, and resume after the rows already committed: the same
counts, contacts, consents and report as an unbroken import; a live lease is left alone."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaigns import tasks
from campaigns.imports import recovery, run
from campaigns.imports.report import Report, import_path
from campaigns.models import Contact, ContactImport
from compliance.models import Consent
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

DISCLOSURE = "Acme offers, up to 4 msgs/mo. Msg & data rates may apply. Reply STOP to opt out."
BATCH = 5


class _Killed(BaseException):
    """The worker dies: nothing of the run after this point happens (no `except Exception`)."""


@pytest.fixture(autouse=True)
def small_batches(settings, tmp_path, monkeypatch):
    """Uploads in the test's own folder; batches of 5 rows, so 27 rows make 6 batches."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(run, "BATCH", BATCH)


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) + timedelta(minutes=1)


@pytest.fixture
def enqueued(monkeypatch):
    """Import jobs published, instead of the broker."""
    sent = []
    monkeypatch.setattr(
        tasks.contact_import_run, "apply_async", lambda args, **kw: sent.append(args[0])
    )
    return sent


def _at(moment):
    return time_machine.travel(moment, tick=False)


def _csv() -> str:
    """27 data rows: refused rows on both sides of the kill, a number repeated after it that was
    first seen before it, a known contact, consenting rows in every batch."""
    lines = ["phone,first_name,consent"]
    for n in range(27):
        if n in (3, 14, 22):
            lines.append(f"not-a-number-{n},Bad,no")
        elif n == 20:
            lines.append("+13125550002,Again,yes")  # duplicate_in_file of row 4 (before the kill)
        else:
            lines.append(f"+1312555{n:04d},Name{n},{'yes' if n % 2 else 'no'}")
    return "\n".join(lines) + "\n"


def _upload(tenant) -> str:
    Contact.objects.create(
        workspace=tenant.workspace,
        phone="+13125550005",
        first_name="Known",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    upload = SimpleUploadedFile("contacts.csv", _csv().encode(), content_type="text/csv")
    body = {"file": upload, "consent_disclosure": DISCLOSURE}
    response = tenant.client("owner").post("/api/v1/contact-imports", body, format="multipart")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def _kill_on_batch(monkeypatch, number: int) -> None:
    """The worker dies while writing batch `number` (the earlier ones committed)."""
    real, calls = run._upsert, []

    def upsert(workspace_id, rows):
        calls.append(1)
        if len(calls) == number:
            raise _Killed
        return real(workspace_id, rows)

    monkeypatch.setattr(run, "_upsert", upsert)


def _view(tenant, import_id: str) -> dict:
    return tenant.client("viewer").get(f"/api/v1/contact-imports/{import_id}").json()


def _outcome(tenant, import_id: str) -> tuple:
    body = _view(tenant, import_id)
    phones = sorted(Contact.objects.for_workspace(tenant.workspace).values_list("phone", flat=True))
    consents = sorted(
        Consent.objects.filter(workspace=tenant.workspace).values_list("phone", flat=True)
    )
    completed = AuditEvent.objects.filter(target_id=import_id, action="contact_import.completed")
    return (
        body["status"],
        body["created"],
        body["updated"],
        body["errors"],
        phones,
        consents,
        [a.after["refused"] for a in completed],
    )


def test_a_killed_import_is_resumed_by_the_sweep_with_the_report_of_an_unbroken_one(
    tenant, other_tenant, t0, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    """Killed in its 3rd batch: `running` with a live lease, left alone; once it passed, one sweep
    hands it to a new run, which resumes after row 12 and ends as an unbroken import would."""
    commit = django_capture_on_commit_callbacks
    with _at(t0):
        unbroken = _upload(other_tenant)
        tasks.contact_import_run(unbroken)
        import_id = _upload(tenant)
    with monkeypatch.context() as patch, _at(t0), pytest.raises(_Killed):
        _kill_on_batch(patch, 3)
        tasks.contact_import_run(import_id)
    died = ContactImport.objects.get(pk=import_id)
    assert (died.status, died.progress_row, died.created, died.updated) == ("running", 12, 9, 1)
    assert import_path(import_id).exists()
    with _at(t0 + recovery.LEASE - timedelta(seconds=1)), commit(execute=True):
        assert recovery.sweep_lost_imports() == 0  # the live lease is left alone
        assert run.contact_import_run(import_id=import_id) is None  # a duplicate task too
    assert ContactImport.objects.get(pk=import_id).lease_token == died.lease_token
    later = t0 + recovery.LEASE + timedelta(seconds=1)
    with _at(later), commit(execute=True):
        tasks.sweep()
        assert recovery.sweep_lost_imports() == 0  # handed out once, with a new lease
    assert enqueued == [import_id]
    with _at(later):
        tasks.contact_import_run(import_id)
        assert run.contact_import_run(import_id=import_id) is None  # a duplicate: nothing
    outcome = _outcome(tenant, import_id)
    assert outcome == _outcome(other_tenant, unbroken)
    status, created, updated, errors, phones, consents, refused = outcome
    assert (status, created, updated, refused, len(phones)) == ("completed", 22, 1, [4], 23)
    assert [(e["row"], e["code"]) for e in errors] == [
        (5, "invalid_number"),
        (16, "invalid_number"),
        (22, "duplicate_in_file"),
        (24, "invalid_number"),
    ]
    assert len(consents) == len(set(consents)) == 12
    assert not import_path(import_id).exists()


@pytest.mark.parametrize(("killed_in", "committed"), [(3, [5]), (4, [5, 16])])
def test_a_report_committed_before_the_kill_is_not_repeated(
    tenant, t0, monkeypatch, killed_in, committed
):
    """The refused rows of committed batches are kept while it runs, and listed once after; those
    of the batch that died with the worker are listed once too."""
    import_id = _upload(tenant)
    with monkeypatch.context() as patch, _at(t0), pytest.raises(_Killed):
        _kill_on_batch(patch, killed_in)
        tasks.contact_import_run(import_id)
    assert [e["row"] for e in ContactImport.objects.get(pk=import_id).errors] == committed
    ContactImport.objects.filter(pk=import_id).update(lease_token="")  # what the sweep does
    tasks.contact_import_run(import_id)
    assert [e["row"] for e in _view(tenant, import_id)["errors"]] == [5, 16, 22, 24]


def test_a_pending_import_whose_task_was_lost_is_run_by_the_sweep(
    tenant, t0, enqueued, django_capture_on_commit_callbacks
):
    """Never started (its task lost with the broker): after LEASE from its creation, enqueued."""
    with _at(t0):
        import_id = _upload(tenant)
    with _at(t0 + timedelta(seconds=30)), django_capture_on_commit_callbacks(execute=True):
        assert recovery.sweep_lost_imports() == 0
    with _at(t0 + recovery.LEASE + timedelta(seconds=1)):
        with django_capture_on_commit_callbacks(execute=True):
            assert recovery.sweep_lost_imports() == 1
        tasks.contact_import_run(enqueued[-1])
    assert _view(tenant, import_id)["status"] == "completed"


def test_a_run_that_lost_its_lease_commits_nothing_more(tenant, t0):
    """A run too slow for its lease, taken over by the sweep, can neither commit nor finish."""
    import_id = _upload(tenant)
    with _at(t0):
        slow = recovery.claim(import_id)
    with _at(t0 + recovery.LEASE + timedelta(seconds=1)):
        assert recovery.sweep_lost_imports() == 1
    report = Report()
    with pytest.raises(recovery.LeaseLost):
        recovery.checkpoint(slow, report, row=6, created=5, updated=0)
    assert not recovery.finish(slow, report, status="completed", failure="")
    assert ContactImport.objects.get(pk=import_id).status == "running"
    assert run.contact_import_run(import_id=import_id).status == "completed"


def test_the_sweep_does_not_touch_finished_imports(tenant, other_tenant, t0):
    """Completed and failed imports stay as they are, whatever their age."""
    with _at(t0):
        done = _upload(tenant)
        tasks.contact_import_run(done)
    with _at(t0 + timedelta(days=1)):
        assert recovery.sweep_lost_imports() == 0
    assert _view(tenant, done)["status"] == "completed"
    assert other_tenant.client("viewer").get(f"/api/v1/contact-imports/{done}").status_code == 404
