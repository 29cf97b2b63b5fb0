"""`POST /api/v1/contact-imports` with `columns`: the console's mapping given with the upload,
checked against the header at once (400 validation_error naming `columns`), then the worker reads
the columns it names; documented in the schema; another workspace sees none of it."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from campaigns.models import Contact, ContactImport
from workspaces.models import AuditEvent

from .test_imports import _error, _import, _upload, media_root  # noqa: F401 (uploads kept apart)

pytestmark = pytest.mark.django_db

FILE = "Mobile,Given name,Plan,Notes\n+14155550301,Ada,gold,call after 5\n+14155550302,Bob,,\n"
MAPPING = "phone,first_name,attributes.plan,ignore"


def test_a_mapped_file_imports_the_columns_it_names(tenant, other_tenant):
    body = _import(tenant, FILE, columns=MAPPING)
    assert (body["status"], body["created"], body["errors"]) == ("completed", 2, [])
    contacts = {c.phone: c for c in Contact.objects.for_workspace(tenant.workspace)}
    assert contacts["+14155550301"].first_name == "Ada"
    assert contacts["+14155550301"].attributes == {"plan": "gold"}
    assert contacts["+14155550302"].attributes == {}
    saved = ContactImport.objects.get(pk=body["id"])
    assert saved.columns == MAPPING.split(",") and saved.header[0] == "Mobile"
    created = AuditEvent.objects.get(target_id=body["id"], action="contact_import.created")
    assert created.after["columns"] == dict(zip(saved.header, MAPPING.split(","), strict=True))
    # Workspace B: not its import, none of its contacts.
    _error(other_tenant.client().get(f"/api/v1/contact-imports/{body['id']}"), 404, "not_found")
    assert other_tenant.client().get("/api/v1/contact-imports").json()["results"] == []
    assert not Contact.objects.for_workspace(other_tenant.workspace).exists()


def test_the_mapping_may_repeat_the_field_once_per_column(tenant):
    body = _import(tenant, FILE, columns=["phone", "last_name", "ignore", "attributes.note"])
    assert body["created"] == 2
    ada = Contact.objects.for_workspace(tenant.workspace).get(phone="+14155550301")
    assert (ada.first_name, ada.last_name, ada.attributes) == ("", "Ada", {"note": "call after 5"})


def test_without_columns_the_names_are_read_as_before(tenant):
    error = _error(_upload(tenant, FILE), 400, "validation_error")  # no `phone` column by name
    assert error["details"]["missing_columns"] == ["phone"]
    body = _import(tenant, "phone,first_name\n+14155550303,Cy\n")
    assert body["created"] == 1 and ContactImport.objects.get(pk=body["id"]).columns == []


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        ("phone,first_name", "Map each of the file's 4 columns"),
        ("phone,first_name,plan,ignore", "Column `Plan`: map it to one of"),
        ("first_name,last_name,ignore,ignore", "No column is mapped to `phone`"),
        ("phone,phone,ignore,ignore", "`phone` is chosen for two columns"),
        ("phone,first_name,attributes.a-b,ignore", "an attribute name is 1 to"),
        ("", "Map each of the file's 4 columns"),
    ],
    ids=["count", "unknown", "no-phone", "twice", "bad-attribute", "empty"],
)
def test_a_mapping_that_does_not_fit_is_a_400_naming_columns(tenant, media_root, columns, says):  # noqa: F811
    error = _error(_upload(tenant, FILE, columns=columns), 400, "validation_error")
    assert says in error["details"]["columns"][0] and says in error["message"]
    assert "Correct the fields named in" in error["fix"]  # the catalogue's fix
    assert not ContactImport.objects.exists()
    assert list((media_root / "imports").iterdir()) == []  # no file kept


def test_the_schema_documents_columns():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["paths"]["/api/v1/contact-imports"]["post"]["requestBody"]["content"]
    fields = schema["components"]["schemas"][
        body["multipart/form-data"]["schema"]["$ref"].split("/")[-1]
    ]["properties"]
    assert fields["columns"]["type"] == "array"
    assert "attributes.<name>" in fields["columns"]["description"]
    assert "details.columns" in fields["columns"]["description"]
