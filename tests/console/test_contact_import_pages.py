"""Import over HTTP (CONTRACT §12, issue 14): the upload is staged, its columns mapped (others
become attributes.<name>), `Start import` runs it; the progress bar's numbers, the row report with
what to fix, and `Download report` (spreadsheet-safe). The API's own import is unchanged."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns import tasks
from campaigns.imports import upload
from campaigns.models import Contact, ContactImport
from workspaces.models import AuditEvent

from .test_contacts_pages import client_for

pytestmark = pytest.mark.django_db

DISCLOSURE = "Spring offers, up to 4 msgs/mo. Reply STOP to opt out."
CSV = (
    "Mobile,First Name,Plan,Notes,consent\n"
    "+14155550201,Ada,gold,call after 5,yes\n"
    "=1+1,Bad,silver,,no\n"
    "+14155550202,Grace,,,maybe\n"
    "+14155550203,Linus,bronze,,\n"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test keeps its uploads in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def enqueued(monkeypatch) -> list:
    """Import runs published (the test runs them in process, as the worker would)."""
    published = []
    monkeypatch.setattr(upload, "enqueue_on_commit", published.append)
    return published


def url(tenant, part: str = "") -> str:
    return f"/w/{tenant.workspace.slug}/contacts/{part}"


def csv_file(text: str = CSV, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def stage(client, tenant, text: str = CSV, disclosure: str = DISCLOSURE) -> ContactImport:
    response = client.post(
        url(tenant, "import/"), {"file": csv_file(text), "consent_disclosure": disclosure}
    )
    assert response.status_code == 302, response.content
    contact_import = ContactImport.objects.for_workspace(tenant.workspace).latest("created_at")
    assert response["Location"] == url(tenant, f"imports/{contact_import.id}/")
    return contact_import


@pytest.fixture
def manager(people):
    return client_for(people[("A", "campaign_manager")])


@pytest.fixture
def viewer(people):
    return client_for(people[("A", "viewer")])


def test_the_upload_form_has_the_contract_names(tenant, manager):
    page = manager.get(url(tenant, "import/")).content.decode()
    assert re.search(
        r'<label for="imp-file">CSV file</label>\s*<input type="file" id="imp-file"', page
    )
    assert '<label for="imp-disclosure">Consent disclosure</label>' in page
    assert '<button type="submit">Upload</button>' in page


def test_a_viewer_sees_no_upload_and_a_posted_one_is_403(tenant, viewer, manager, enqueued):
    page = viewer.get(url(tenant, "import/")).content.decode()
    assert "Upload</button>" not in page and 'type="file"' not in page
    response = viewer.post(url(tenant, "import/"), {"file": csv_file()})
    assert response.status_code == 403
    assert not ContactImport.objects.exists()
    staged = stage(manager, tenant)
    page = viewer.get(url(tenant, f"imports/{staged.id}/")).content.decode()
    assert "Start import" not in page
    assert viewer.post(url(tenant, f"imports/{staged.id}/start/")).status_code == 403
    staged.refresh_from_db()
    assert staged.status == ContactImport.STAGED and enqueued == []


def test_an_upload_is_staged_with_its_header_and_count_and_nothing_runs(tenant, manager, enqueued):
    staged = stage(manager, tenant)
    assert staged.status == ContactImport.STAGED
    assert staged.header == ["Mobile", "First Name", "Plan", "Notes", "consent"]
    assert (staged.rows_total, staged.rows_read, staged.consent_disclosure) == (4, 0, DISCLOSURE)
    assert enqueued == []
    assert (
        AuditEvent.objects.for_workspace(tenant.workspace)
        .filter(action="contact_import.created", target_id=staged.id)
        .exists()
    )
    # Not an import of the API's yet: it is neither listed nor found there.
    api = tenant.client("viewer")
    assert api.get(f"/api/v1/contact-imports/{staged.id}").status_code == 404
    assert api.get("/api/v1/contact-imports").json()["results"] == []


def test_the_mapping_is_guessed_from_the_header(tenant, manager):
    staged = stage(manager, tenant)
    response = manager.get(url(tenant, f"imports/{staged.id}/"))
    selected = {row["column"]: row["selected"] for row in response.context["mapping"]}
    assert selected == {
        "Mobile": "phone",
        "First Name": "first_name",
        "Plan": "attributes.plan",
        "Notes": "attributes.notes",
        "consent": "consent",
    }
    page = response.content.decode()
    assert '<label for="column-2">Plan</label>' in page
    assert '<option value="attributes.plan" selected>' in page
    assert '<button type="submit">Start import</button>' in page


def test_start_maps_a_column_into_attributes_and_the_report_says_what_to_fix(
    tenant, manager, enqueued
):
    staged = stage(manager, tenant)
    mapping = {
        "column-0": "phone",
        "column-1": "first_name",
        "column-2": "attributes.plan",
        "column-3": "ignore",
        "column-4": "consent",
    }
    response = manager.post(url(tenant, f"imports/{staged.id}/start/"), mapping)
    assert response.status_code == 302
    assert enqueued == [staged.id]
    staged.refresh_from_db()
    assert staged.status == ContactImport.PENDING
    assert staged.columns == ["phone", "first_name", "attributes.plan", "ignore", "consent"]
    tasks.contact_import_run(staged.id)
    contacts = {c.phone: c for c in Contact.objects.for_workspace(tenant.workspace)}
    assert set(contacts) == {"+14155550201", "+14155550203"}  # the good rows, none lost
    assert contacts["+14155550201"].attributes == {"plan": "gold"}  # Notes ignored
    assert contacts["+14155550201"].first_name == "Ada"
    assert contacts["+14155550203"].attributes == {"plan": "bronze"}
    page = manager.get(url(tenant, f"imports/{staged.id}/")).content.decode()
    assert 'role="progressbar"' in page
    assert 'aria-valuenow="4"' in page and 'aria-valuemax="4"' in page
    assert "Import completed: 2 created, 0 updated, 2 refused." in page
    assert "<td>3</td><td>=1+1</td><td><code>invalid_number</code></td>" in page
    assert "Send the number in E.164 form" in page  # the catalogue's fix for invalid_number
    assert "<code>invalid_consent</code>" in page and "Write yes or no" in page
    assert "Download report" in page
    assert (
        AuditEvent.objects.for_workspace(tenant.workspace)
        .filter(action="contact_import.started", target_id=staged.id)
        .exists()
    )


def test_the_downloaded_report_is_a_safe_csv_attachment(tenant, manager, enqueued):
    staged = stage(manager, tenant)
    columns = ["phone", "first_name", "attributes.plan", "ignore", "consent"]
    manager.post(
        url(tenant, f"imports/{staged.id}/start/"),
        {f"column-{i}": c for i, c in enumerate(columns)},
    )
    tasks.contact_import_run(staged.id)
    response = manager.get(url(tenant, f"imports/{staged.id}/report.csv"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "row,value,code,fix"
    assert lines[1].startswith("3,'=1+1,invalid_number,")  # never a formula
    assert lines[2].startswith("4,maybe,invalid_consent,")
    assert len(lines) == 3


@pytest.mark.parametrize(
    "columns,message",
    [
        (["ignore", "first_name", "attributes.plan", "ignore", "consent"], "No column is mapped"),
        (["phone", "phone", "ignore", "ignore", "ignore"], "`phone` is chosen for two columns"),
        (["phone", "first_name", "attributes.a b", "ignore", "ignore"], "an attribute name"),
        (["phone", "nickname", "ignore", "ignore", "ignore"], "map it to one of"),
    ],
)
def test_a_bad_mapping_is_the_catalogue_error_and_nothing_starts(
    tenant, manager, enqueued, columns, message
):
    staged = stage(manager, tenant)
    response = manager.post(
        url(tenant, f"imports/{staged.id}/start/"),
        {f"column-{i}": c for i, c in enumerate(columns)},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "Correct the fields named in" in page  # validation_error's fix
    staged.refresh_from_db()
    assert staged.status == ContactImport.STAGED and enqueued == []


def test_an_import_starts_once(tenant, manager, enqueued):
    staged = stage(manager, tenant)
    columns = {
        f"column-{i}": c for i, c in enumerate(["phone", "ignore", "ignore", "ignore", "ignore"])
    }
    assert manager.post(url(tenant, f"imports/{staged.id}/start/"), columns).status_code == 302
    again = manager.post(url(tenant, f"imports/{staged.id}/start/"), columns)
    assert again.status_code == 400  # the progress page, with the error shown
    assert "This import has started already." in again.content.decode()
    assert enqueued == [staged.id]


def test_an_upload_without_a_file_or_phone_is_the_catalogue_error(tenant, manager):
    response = manager.post(url(tenant, "import/"), {"consent_disclosure": DISCLOSURE})
    assert response.status_code == 400
    assert "Correct the fields named in" in response.content.decode()
    response = manager.post(url(tenant, "import/"), {"file": csv_file("\n\n")})
    assert response.status_code == 400
    assert "The file is empty" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_the_poll_shows_rows_read_as_the_worker_reads_them(tenant, manager, enqueued):
    staged = stage(manager, tenant)
    ContactImport.objects.filter(pk=staged.pk).update(status="running", rows_read=3)
    response = manager.get(
        url(tenant, f"imports/{staged.id}/progress/"), headers={"X-Tern-Poll": "1"}
    )
    page = response.content.decode()
    assert 'aria-valuenow="3"' in page and 'aria-valuemax="4"' in page
    assert 'hx-trigger="every 1s"' in page and "X-Tern-Poll" in page
    assert "<html" not in page  # the partial alone
    full = manager.get(url(tenant, f"imports/{staged.id}/")).content.decode()
    assert ">Refresh</a>" in full  # without JavaScript, a reload shows the progress
    ContactImport.objects.filter(pk=staged.pk).update(status="completed", rows_read=3)
    done = manager.get(url(tenant, f"imports/{staged.id}/progress/")).content.decode()
    assert "hx-trigger" not in done and 'aria-valuenow="4"' in done


def test_another_workspaces_import_is_404(tenant, other_tenant, manager, people):
    theirs = stage(client_for(people[("B", "owner")]), other_tenant)
    for part in ("", "progress/", "report.csv"):
        assert manager.get(url(tenant, f"imports/{theirs.id}/{part}")).status_code == 404
    assert manager.post(url(tenant, f"imports/{theirs.id}/start/")).status_code == 404
    mine = stage(manager, tenant)
    outsider = client_for(people[("B", "owner")])
    assert outsider.get(url(tenant, f"imports/{mine.id}/")).status_code == 404
    assert outsider.get(url(tenant, "import/")).status_code == 404


def test_the_api_import_still_starts_at_once_with_the_contract_columns(tenant, enqueued):
    text = "phone,first_name,plan\n+14155550301,Ada,gold\nnot-a-number,Bad,x\n"
    body = {"file": csv_file(text, "api.csv")}
    response = tenant.client("owner").post("/api/v1/contact-imports", body, format="multipart")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert (response.json()["rows_total"], response.json()["rows_read"]) == (2, 0)
    assert enqueued == [response.json()["id"]]
    tasks.contact_import_run(response.json()["id"])
    after = tenant.client("viewer").get(f"/api/v1/contact-imports/{response.json()['id']}").json()
    assert (after["status"], after["created"], after["rows_read"]) == ("completed", 1, 2)
    assert after["errors"] == [{"row": 3, "value": "not-a-number", "code": "invalid_number"}]
    contact = Contact.objects.for_workspace(tenant.workspace).get()
    assert contact.attributes == {}  # the API reads the contract's columns; others are ignored
