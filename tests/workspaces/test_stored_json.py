"""JSON values stored before the parser refused them: mended by migration, rendered safely."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import DataError, connection, transaction

from compliance import tasks as compliance_tasks
from compliance.models import Export
from messaging.models import Message
from tests.support.factories import message_for
from workspaces import clock
from workspaces.jsonsafe import scrub

pytestmark = pytest.mark.django_db

# As SQLite keeps it: Django writes JSON with every non-ASCII character escaped. (NaN and
# Infinity fail SQLite's JSON_VALID check; `scrub` still mends them wherever they turn up.)
BAD_TEXT = '{"k": "a\\ud800b", "z": "a\\u0000b", "\\udc00": [1], "ok": "\\u00e9"}'
MENDED = {"k": "a\ufffdb", "z": "ab", "\ufffd": [1], "ok": "é"}
REFUSED_BY_JSONB = ('{"k": "\\ud800"}', '{"k": "\\u0000"}', '{"k": NaN}')
scrub_migration = importlib.import_module("messaging.migrations.0005_scrub_stored_json")


def _store_raw(message_id: str, text: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_message SET metadata = %s WHERE id = %s", [text, message_id]
        )


def _bad_message(tenant):
    """A message whose stored metadata holds the bad values, where the database takes them.

    PostgreSQL's jsonb refuses every one (proved here), so there the message stays clean and
    the tests check that nothing needs mending; SQLite stores them and the tests mend them.
    """
    message = message_for(tenant.workspace, tenant.sender)
    if connection.vendor == "postgresql":
        for bad in REFUSED_BY_JSONB:
            with pytest.raises(DataError), transaction.atomic():
                _store_raw(message.pk, bad)
        return message, False
    _store_raw(message.pk, BAD_TEXT)
    return message, True


def test_scrub_mends_every_bad_kind_of_value():
    value = {"a\ud800": ["\udfff", float("nan"), float("inf"), -float("inf"), "x\x00y", 1.5, 2]}
    assert scrub(value) == {"a\ufffd": ["\ufffd", None, None, None, "xy", 1.5, 2]}
    assert scrub({"fine": ["é", "😀", 1, None, True]}) == {"fine": ["é", "😀", 1, None, True]}


def test_stored_rows_are_mended_by_the_migration(tenant, other_tenant):
    """The data migration's function rewrites bad rows and leaves good ones alone."""
    message, stored = _bad_message(tenant)
    good = message_for(other_tenant.workspace, other_tenant.sender, metadata={"k": "é"})
    before = Message.objects.get(pk=good.pk).updated_at
    scrub_migration.scrub(apps, SimpleNamespace(connection=connection))
    assert Message.objects.get(pk=message.pk).metadata == (MENDED if stored else {})
    assert Message.objects.get(pk=good.pk).metadata == {"k": "é"}
    assert Message.objects.get(pk=good.pk).updated_at == before


def test_stored_bad_values_never_break_a_list_or_a_read(tenant, other_tenant):
    """The API renders a lone surrogate as U+FFFD instead of answering 500."""
    message, stored = _bad_message(tenant)
    client = tenant.client()
    for url in ("/api/v1/messages", f"/api/v1/messages/{message.pk}"):
        response = client.get(url)
        assert response.status_code == 200, response.content
    listed = client.get("/api/v1/messages").json()["results"]
    assert [m["metadata"] for m in listed] == [MENDED if stored else {}]
    assert client.get("/api/v1/messages").content.decode("utf-8")
    assert other_tenant.client().get("/api/v1/messages").json()["results"] == []


def test_stored_bad_values_never_break_an_export(tenant, settings, tmp_path):
    settings.EXPORTS_DIR = tmp_path / "exports"
    _bad_message(tenant)
    today = clock.now().date().isoformat()
    for fmt in ("csv", "jsonl"):
        response = tenant.client().post(
            "/api/v1/exports",
            {"kind": "messages", "format": fmt, "from": today, "to": today},
            format="json",
        )
        assert response.status_code == 202, response.content
        compliance_tasks.export_run(response.json()["id"])
        export = Export.objects.get(pk=response.json()["id"])
        assert export.status == Export.COMPLETED, export.error
        assert export.rows == 1
