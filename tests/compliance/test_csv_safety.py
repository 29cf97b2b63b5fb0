"""CSV exports open in a spreadsheet as data, never as formulas (OWASP CSV injection), and a
failed export says what happened in words, never an exception (CONTRACT §9)."""

import csv
import io
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from hypothesis import example, given
from hypothesis import strategies as st

from compliance import tasks
from compliance.exports import kinds, run, writers
from compliance.models import Consent, Export
from compliance.services import suppression_create
from workspaces.audit import Actor
from workspaces.csvsafe import csv_line, is_number, safe_cell

from ..support.factories import message_for, next_number

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://x","y")'
MOMENT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DATES = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path):
    """Each test writes its files in its own folder."""
    settings.EXPORTS_DIR = tmp_path / "exports"
    return settings.EXPORTS_DIR


# --- the helper ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (FORMULA, "'" + FORMULA),
        ("=1+2", "'=1+2"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+2", "'\t=1+2"),
        ("\tplain", "'\tplain"),
        ("\r=1+2", "'\r=1+2"),
        ("  =1+2", "'  =1+2"),
        ("\n=1+2", "'\n=1+2"),
        ("＝1+2", "'＝1+2"),
        ("-", "'-"),
        ("+", "'+"),
        ("--", "'--"),
        ("-1-2", "'-1-2"),
        ("+1 415 555 0100", "'+1 415 555 0100"),
        # Numbers stay as they are: phones in E.164, negative and decimal amounts.
        ("+14155550100", "+14155550100"),
        ("-0.0079", "-0.0079"),
        ("0.0079", "0.0079"),
        ("-12", "-12"),
        ("+3.5", "+3.5"),
        ("1e-5", "1e-5"),
        (-5, "-5"),
        (Decimal("-0.0079"), "-0.0079"),
        (42, "42"),
        # Ordinary text, and triggers that do not start the cell, stay too.
        ("Your code is 1234", "Your code is 1234"),
        ("a=b", "a=b"),
        ("user@example.com", "user@example.com"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_cell(value, expected):
    """Formula starts get a leading quote; numbers and plain text are unchanged."""
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    "cell", ["a;=1+2", "a,=1+2", "a|=1+2", "a\t=1+2", 'say "hi"', "two\nlines", "x\r\ny"]
)
def test_a_cell_with_a_separator_is_quoted_whole(cell):
    """A locale's separator inside a cell never lets its tail become a cell of its own."""
    line = csv_line(["id", cell])
    assert line == 'id,"' + cell.replace('"', '""') + '"\r\n'
    assert next(csv.reader(io.StringIO(line, newline=""))) == ["id", cell]


def test_a_line_matches_what_csv_writer_writes_for_plain_cells():
    """Plain cells read exactly as before: minimal quoting, CRLF."""
    cells = ["msg_1", "+14155550100", "hello world", "", "-0.0079", "true"]
    expected = io.StringIO()
    csv.writer(expected).writerow(cells)
    assert csv_line(cells) == expected.getvalue()
    assert csv_line([""]) == '""\r\n'


@given(st.lists(st.text(), min_size=1, max_size=5))
@example([" ", "\t", "=1", "a;=b", '"', "", "-0.5"])
def test_every_line_reads_back_as_the_safe_cells(cells):
    """Whatever the text, a CSV reader gets back exactly the neutralised cells, one per cell,
    and none of them starts a formula."""
    [row] = list(csv.reader(io.StringIO(csv_line(cells), newline="")))
    assert row == [safe_cell(c) for c in cells]
    for cell in row:
        first = cell.lstrip(" \t\r\n")[:1]
        starts_formula = cell[:1] in ("\t", "\r") or (first != "" and first in "=+-@＝＋－＠")
        assert is_number(cell) or not starts_formula


# --- every kind of export -----------------------------------------------------------------------


def _export(tenant, kind: str, fmt: str = "csv") -> bytes:
    response = tenant.client().post(
        "/api/v1/exports", {"kind": kind, "format": fmt, **DATES}, format="json"
    )
    assert response.status_code == 202, response.content
    tasks.export_run(response.json()["id"])
    export = Export.objects.get(pk=response.json()["id"])
    assert export.status == Export.COMPLETED, export.error
    download = tenant.client().get(f"/api/v1/exports/{export.pk}/download")
    assert download.status_code == 200
    return b"".join(download.streaming_content)


def _rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


@pytest.fixture
def hostile(tenant, other_tenant):
    """A row of every kind whose free text starts a formula; the other workspace has one too."""
    with time_machine.travel(MOMENT, tick=False):
        for t in (tenant, other_tenant):
            message = message_for(t.workspace, t.sender, to="+14155550123", body=FORMULA)
            suppression_create(
                workspace_id=t.workspace.pk,
                phone="+14155550124",
                source="api",
                actor=Actor.system("@admin"),
                reason=FORMULA,
            )
            Consent.objects.create(
                workspace=t.workspace,
                phone=next_number(),
                method="web_form",
                disclosure=FORMULA,
                user_agent="-cmd",
                captured_at=MOMENT,
                created_at=MOMENT,
            )
    return message


def test_messages_csv_neutralises_the_body_and_keeps_numbers(tenant, hostile):
    """The body reads `'=HYPERLINK(...`; the phone numbers and the price stay numbers."""
    rows = _rows(_export(tenant, "messages"))
    assert len(rows) == 1
    assert rows[0]["body"] == "'" + FORMULA
    assert rows[0]["to"] == "+14155550123" and rows[0]["from"] == tenant.sender.number
    assert rows[0]["price"] == f"{hostile.price:f}"


def test_suppressions_csv_neutralises_the_reason_and_the_actor(tenant, hostile):
    rows = _rows(_export(tenant, "suppressions"))
    assert [r["reason"] for r in rows] == ["'" + FORMULA]
    assert rows[0]["phone"] == "+14155550124"
    assert not rows[0]["created_by"].startswith("@")


def test_consents_csv_neutralises_every_free_text_cell(tenant, hostile):
    rows = _rows(_export(tenant, "consents"))
    assert [(r["disclosure"], r["user_agent"]) for r in rows] == [("'" + FORMULA, "'-cmd")]


def test_audit_events_csv_neutralises_reasons(tenant, hostile):
    rows = _rows(_export(tenant, "audit_events"))
    created = [r for r in rows if r["action"] == "suppression.created"]
    assert [r["reason"] for r in created] == ["'" + FORMULA]
    assert all(
        not r[f].startswith(("=", "+", "-", "@")) or r[f].lstrip("+-")[:1].isdigit()
        for r in rows
        for f in r
    )


def test_no_cell_of_any_csv_export_starts_a_formula(tenant, hostile):
    """Whatever the kind, every cell is a number or does not start with a trigger."""
    for kind in kinds.export_kinds():
        if kind not in ("messages", "suppressions", "consents", "audit_events"):
            continue
        for row in _rows(_export(tenant, kind)):
            for column, cell in row.items():
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    assert safe_cell(cell) == cell, (kind, column, cell)


def test_jsonl_stays_byte_exact(tenant, hostile):
    """JSON Lines carries the text as it was: no quote added."""
    lines = _export(tenant, "messages", "jsonl").decode().splitlines()
    assert json.loads(lines[0])["body"] == FORMULA
    assert json.dumps(FORMULA, ensure_ascii=False) in lines[0]


def test_write_csv_keeps_negative_and_decimal_amounts():
    """A negative decimal is a number: unchanged, as are integers and booleans."""
    sink = io.StringIO()
    rows = [{"amount": Decimal("-0.0079"), "n": -3, "ok": True, "note": "-bad"}]
    writers.write_csv(sink, ("amount", "n", "ok", "note"), iter(rows))
    assert sink.getvalue() == "amount,n,ok,note\r\n-0.0079,-3,true,'-bad\r\n"


# --- a failed export says it in words -----------------------------------------------------------


@pytest.mark.parametrize(
    "exc, words",
    [
        (RuntimeError("/var/lib/tern/secret.sqlite3: disk I/O error"), run.FAILED_WORDS),
        (KeyError("password"), run.FAILED_WORDS),
        (ZeroDivisionError("division by zero"), run.FAILED_WORDS),
        (SoftTimeLimitExceeded(), run.TOO_LONG_WORDS),
    ],
    ids=["runtime", "keyerror", "zerodiv", "timelimit"],
)
def test_a_failed_export_reports_words_and_logs_the_exception(
    tenant, other_tenant, monkeypatch, caplog, exc, words
):
    """The resource's `error` is a sentence; the exception goes to the log with the export id."""

    def rows(workspace_id, date_from, date_to):
        yield {"id": "x"}
        raise exc

    monkeypatch.setitem(kinds._KINDS, "boom", kinds.ExportKind("boom", ("id",), rows))
    response = tenant.client().post("/api/v1/exports", {"kind": "boom", **DATES}, format="json")
    with caplog.at_level(logging.ERROR, logger="tern.exports"):
        tasks.export_run(response.json()["id"])
    detail = tenant.client().get(f"/api/v1/exports/{response.json()['id']}").json()
    assert detail["status"] == "failed" and detail["error"] == words
    assert type(exc).__name__ not in detail["error"] and "Traceback" not in detail["error"]
    if str(exc):
        assert str(exc) not in detail["error"]
    assert detail["error"][0].isupper() and detail["error"].endswith(".")
    logged = [r for r in caplog.records if response.json()["id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    download = tenant.client().get(f"/api/v1/exports/{response.json()['id']}/download")
    assert download.status_code == 409 and download.json()["error"]["details"]["error"] == words
    assert other_tenant.client().get(f"/api/v1/exports/{response.json()['id']}").status_code == 404
