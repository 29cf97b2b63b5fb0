"""A million-row export on a real worker: it completes in constant memory, and the download
hashes to the export's sha256."""

import hashlib
import itertools
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction

from compliance.models import Export
from messaging.models import Message

from ..support.workers import celery_processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 1_000_000
CHUNK = 10_000
MAX_GROWTH = 50 * 1024 * 1024
START = datetime(2026, 3, 1, tzinfo=UTC)
RANGE = {"from": "2026-03-01", "to": "2026-03-31"}


def _varying(i: int) -> dict:
    """What differs from one message to the next; they are two seconds apart (a million fit
    in March)."""
    return {
        "id": f"msg_{i:026d}",
        "to_number": f"+1415{i % 10_000_000:07d}",
        "body": f"Your code is {i % 1_000_000:06d}. Reply STOP to opt out.",
        "provider_message_id": f"SM{i:032x}",
        "created_at": START + timedelta(seconds=2 * i),
    }


def _rows(workspace, sender, numbers: range):
    """Each message as the list of its column values, prepared for this database.

    One template message goes through the model's fields; only what varies is replaced.
    """
    fields = Message._meta.concrete_fields
    template = Message(
        workspace=workspace,
        status="delivered",
        from_number=sender.number,
        price=Decimal("0.0079"),
        reserved=Decimal("0.0079"),
        provider="simulator",
        **_varying(numbers[0]),
    )
    prepared = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields]
    slots = {f.name: i for i, f in enumerate(fields) if f.name in _varying(0)}
    created_at = Message._meta.get_field("created_at")
    for number in numbers:
        row, values = prepared.copy(), _varying(number)
        values["created_at"] = created_at.get_db_prep_save(values["created_at"], connection)
        for name, value in values.items():
            row[slots[name]] = value
        yield row


def _insert_messages(workspace, sender, count: int, first: int = 0) -> None:
    """Insert `count` messages fast: COPY on PostgreSQL, executemany in chunks elsewhere."""
    rows = _rows(workspace, sender, range(first, first + count))
    table = connection.ops.quote_name(Message._meta.db_table)
    fields = Message._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    if connection.vendor == "postgresql":
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    while chunk := list(itertools.islice(rows, CHUNK)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, chunk)


def _rss(pid: int) -> int:
    """Resident memory of a process, in bytes (/proc/<pid>/status VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    """The pool processes of a worker: the processes whose parent it is."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sorted(found)


def _create(t, **body) -> str:
    response = t.client().post(
        "/api/v1/exports", {"kind": "messages", **RANGE, **body}, format="json"
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def _finished(*export_ids) -> bool:
    statuses = Export.objects.filter(pk__in=export_ids).values_list("status", flat=True)
    return all(s in (Export.COMPLETED, Export.FAILED) for s in statuses)


def test_a_million_row_export_runs_in_constant_memory_on_the_worker(tenant, other_tenant, capsys):
    """1,000,000 messages → one CSV on the worker; its pool process grows by under 50 MB."""
    began = time.monotonic()
    _insert_messages(tenant.workspace, tenant.sender, ROWS)
    _insert_messages(other_tenant.workspace, other_tenant.sender, 3 * 2000, first=ROWS)
    inserted = time.monotonic() - began

    with celery_processes("worker") as (worker,):
        children = wait_for(
            lambda: len(_children(worker.pid)) == 2 and _children(worker.pid), timeout=60
        )
        # Warm both pool processes up (imports, the database connection) on small exports.
        warmups = [_create(other_tenant, format=fmt) for fmt in ("csv", "jsonl") * 2]
        wait_for(lambda: _finished(*warmups), timeout=60)
        assert set(Export.objects.filter(pk__in=warmups).values_list("status", flat=True)) == {
            "completed"
        }
        before = {pid: _rss(pid) for pid in children}
        cpu_before = {pid: _cpu_ticks(pid) for pid in children}
        peak = dict(before)

        started = time.monotonic()
        export_id = _create(tenant, format="csv")
        while not _finished(export_id):
            assert time.monotonic() - started < 150, "the export did not finish in 150 s"
            for pid in children:
                peak[pid] = max(peak[pid], _rss(pid))
            time.sleep(0.1)
        ran = time.monotonic() - started
        assert _children(worker.pid) == children, "a pool process was replaced mid-test"
        busiest = max(children, key=lambda pid: _cpu_ticks(pid) - cpu_before[pid])

    export = Export.objects.get(pk=export_id)
    assert export.status == Export.COMPLETED, export.error
    assert export.rows == ROWS

    started = time.monotonic()
    response = tenant.client().get(f"/api/v1/exports/{export_id}/download")
    assert response.status_code == 200 and response.streaming
    digest, size, lines = hashlib.sha256(), 0, 0
    for chunk in response.streaming_content:
        digest.update(chunk)
        size += len(chunk)
        lines += chunk.count(b"\n")
    downloaded = time.monotonic() - started
    assert digest.hexdigest() == export.sha256
    assert lines == ROWS + 1  # the header, then one line per message

    growth = {pid: peak[pid] - before[pid] for pid in children}
    with capsys.disabled():
        mib = 1024 * 1024
        print(
            f"\n[{connection.vendor}] insert {ROWS:,} rows {inserted:.1f} s; export on the worker"
            f" {ran:.1f} s ({size / mib:.0f} MiB); download + sha256 {downloaded:.1f} s;"
            f" pool RSS before {[round(before[p] / mib, 1) for p in children]} MiB,"
            f" growth {[round(growth[p] / mib, 1) for p in children]} MiB"
            f" (the export ran in {busiest})"
        )
    assert max(growth.values()) < MAX_GROWTH, growth
