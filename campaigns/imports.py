"""Contact imports (CONTRACT §7): a CSV uploaded to the API, read on the worker in batches.

Upload (`contact_import_create`): the header row is read at once (a `phone` column is required),
the file is checked to be UTF-8 as it is copied to MEDIA_ROOT/imports/<import id>.csv, where the
worker (another process) reads it, and the job is enqueued once the import's row commits.

Run (`contact_import_run`): the file is streamed with the csv module, `BATCH` rows at a time. Each
batch is one transaction: one query for the workspace's contacts among the batch's numbers, one
bulk insert of the new ones, one bulk update of the changed ones, and a consent record per
consenting row. So valid rows are kept whatever the other rows hold, and memory stays flat but
for the set of numbers already seen (to find duplicates across the whole file). The file is
removed when the job ends; a second run of a finished import does nothing, and a run lost with
its worker is resumed after the rows it committed (import_recovery).

Columns: `phone,first_name,last_name,timezone,tags,consent[,consent_captured_at]`, named in any
order and case by a header row; others are ignored. Numbers without `+` are read in the
workspace's `default_country`; `tags` are `;`-separated and join the import's own `tags`. A number
that is already a contact updates it (names and time zone when the row gives them; tags merged)
and counts in `updated`; a new one counts in `created`.

The report names every refused row as `{"row", "value", "code"}`. `row` counts records as a
spreadsheet shows them (the header is row 1, the first data row is row 2); `value` is the cell
that was refused, trimmed. A refused row writes nothing. Its code is the first that applies:

    nul_character                the cell          a cell holds a NUL character (shown without it)
    blank_row                    ""                every cell empty
    invalid_number               the phone cell    not a valid number (libphonenumber)
    duplicate_in_file            the phone cell    the number was on an earlier row of this file
    value_too_long               the cell          a name over 100 characters or a tag over 64
    invalid_timezone             the timezone      not an IANA time zone name
    invalid_consent              the consent cell  not yes/y/true/1, no/n/false/0 or empty
    consent_without_disclosure   the consent cell  consent given, but the import has no disclosure
    invalid_consent_captured_at  the cell          not ISO 8601, or in the future

These are codes of the import's report, not API errors: they are not in the error catalogue.
The report keeps the first `MAX_ERRORS` rows; past that the resource says `errors_truncated`.
"""

import codecs
import csv
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from pathlib import Path
from zoneinfo import available_timezones

from django.conf import settings
from django.db import IntegrityError, transaction

from compliance.services import consent_record
from workspaces import clock
from workspaces.audit import Actor, audit_record
from workspaces.enqueue import publish_on_commit
from workspaces.errors import TernError
from workspaces.models import Workspace
from workspaces.phones import to_e164

from . import import_recovery
from .models import Contact, ContactImport

logger = logging.getLogger("tern.imports")

BATCH = 1000  # rows per transaction, and per lookup of the contacts the workspace already has
MAX_FILE_BYTES = settings.FILE_UPLOAD_MAX_BYTES
TOO_LARGE = "The file is larger than 20 MiB; split it into several imports."
MAX_ERRORS = 10_000
COLUMNS = ("phone", "first_name", "last_name", "timezone", "tags", "consent", "consent_captured_at")
YES, NO = frozenset({"yes", "y", "true", "1"}), frozenset({"", "no", "n", "false", "0"})
NAME_MAX = Contact._meta.get_field("first_name").max_length
TAG_MAX = 64
UPDATED_FIELDS = ["first_name", "last_name", "timezone", "tags", "updated_at"]
# A concurrent writer may add one of a batch's numbers between our lookup and our insert.
WRITE_ATTEMPTS = 3


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def import_path(import_id: str) -> Path:
    """Where an import's uploaded file waits for the worker."""
    return Path(settings.MEDIA_ROOT) / "imports" / f"{import_id}.csv"


def split_tags(values: Iterable[str], separators: str = ";") -> list[str]:
    """Tags from `a;b` strings: trimmed, unique, sorted."""
    tags = set()
    for value in values:
        for separator in separators[1:]:
            value = value.replace(separator, separators[0])
        tags.update(t.strip() for t in value.split(separators[0]))
    return sorted(tags - {""})


def import_actor(contact_import: ContactImport) -> Actor:
    """The audit actor of the worker's writes: the import, on behalf of whoever uploaded it."""
    label = f"contact import {contact_import.id} by {contact_import.created_by or 'unknown'}"
    return Actor("system", contact_import.id, label[:254])


# --- the resource ------------------------------------------------------------------------------


def contact_import_resource(contact_import: ContactImport) -> dict:
    """An import as the API shows it."""
    errors = contact_import.errors or []
    return {
        "id": contact_import.id,
        "status": contact_import.status,
        "file_name": contact_import.file_name,
        "tags": contact_import.tags,
        "consent_disclosure": contact_import.consent_disclosure or None,
        "created": contact_import.created,
        "updated": contact_import.updated,
        "errors": errors[:MAX_ERRORS],
        # One error past the cap is kept only to know the report was cut short.
        "errors_truncated": len(errors) > MAX_ERRORS,
        "failure": contact_import.failure or None,
        "created_by": contact_import.created_by,
        "created_at": clock.isoformat(contact_import.created_at),
        "completed_at": clock.isoformat(contact_import.completed_at),
    }


# --- upload ------------------------------------------------------------------------------------


def _file_error(message: str, **details) -> TernError:
    return TernError("validation_error", message, details={"file": [message], **details})


def contact_import_create(
    *,
    workspace_id: str,
    upload,
    tags: list[str],
    consent_disclosure: str = "",
    actor: Actor,
    ip: str | None = None,
) -> ContactImport:
    """Check the CSV's header, keep the file for the worker, record a pending import; audited."""
    if upload.size > MAX_FILE_BYTES:
        raise _file_error(TOO_LARGE)
    contact_import = ContactImport(
        workspace_id=workspace_id,
        file_name=(upload.name or "")[:300],
        tags=tags,
        consent_disclosure=consent_disclosure,
        created_at=clock.now(),
        created_by=actor.label[:254],
    )
    path = import_path(contact_import.id)
    _save_upload(upload, path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            _check_columns(_header(csv.reader(handle))[0])
        _record(contact_import, actor=actor, ip=ip)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return contact_import


def _save_upload(upload, path: Path) -> None:
    """Copy the upload to disk, refusing bytes that are not UTF-8 (checked as they stream)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > MAX_FILE_BYTES:  # the declared size may not be the real one
                    raise _file_error(TOO_LARGE)
                decoder.decode(chunk)
                out.write(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        path.unlink(missing_ok=True)
        raise _file_error("The file is not UTF-8 text; save it as CSV UTF-8.") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _header(reader) -> tuple[dict[str, int], int]:
    """The columns by name (lower case) and the header's row number; blank lines before it skip."""
    try:
        for number, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):
                columns: dict[str, int] = {}
                for index, name in enumerate(cells):
                    columns.setdefault(name.strip().lower(), index)
                return columns, number
    except csv.Error as exc:
        raise _file_error(f"The header row is not valid CSV: {exc}.") from exc
    raise _file_error(f"The file is empty; its first row must name the columns: {COLUMNS}.")


def _check_columns(columns: dict[str, int]) -> None:
    """A file without a `phone` column cannot be imported at all."""
    if "phone" not in columns:
        raise _file_error(
            "The header row has no `phone` column; columns: " + ",".join(COLUMNS) + ".",
            missing_columns=["phone"],
        )


@transaction.atomic
def _record(contact_import: ContactImport, *, actor: Actor, ip: str | None) -> None:
    """Save the pending import, audited; its job is enqueued when the transaction commits."""
    contact_import.save(force_insert=True)
    audit_record(
        workspace=contact_import.workspace_id,
        actor=actor,
        action="contact_import.created",
        target=contact_import,
        ip=ip,
        after={
            "file_name": contact_import.file_name,
            "tags": contact_import.tags,
            "consent_disclosure": contact_import.consent_disclosure,
        },
    )
    enqueue_on_commit(contact_import.id)


def enqueue_on_commit(import_id: str) -> None:
    """Run the import on the worker once the current transaction commits."""
    from .tasks import contact_import_run as task

    publish_on_commit(task, (import_id,), queue="default")


# --- the job -----------------------------------------------------------------------------------


@dataclass
class _Report:
    """What the job did so far."""

    created: int = 0
    updated: int = 0
    refused: int = 0
    errors: list = field(default_factory=list)

    def refuse(self, row: int, value: str, code: str) -> None:
        """Name a refused row in the report (up to one past the cap, which marks truncation)."""
        self.refused += 1
        if len(self.errors) <= MAX_ERRORS:
            self.errors.append({"row": row, "value": value, "code": code})


@dataclass
class _Row:
    """A valid row, ready to write."""

    phone: str
    first_name: str
    last_name: str
    timezone: str
    tags: list[str]
    consent: bool
    captured_at: datetime | None


class _Refused(Exception):
    def __init__(self, code: str, value: str):
        super().__init__(code)
        self.code, self.value = code, value


def contact_import_run(*, import_id: str) -> ContactImport | None:
    """Claim an import no run holds, read its file (after the rows already committed), write its
    report; a second run of a held or finished import finds nothing."""
    contact_import = import_recovery.claim(import_id)
    if contact_import is None:
        return None
    done = contact_import  # what earlier runs committed, when this one resumes
    report = _Report(done.created, done.updated, done.refused, list(done.errors or []))
    try:
        _read(contact_import, report)
        status, failure = ContactImport.COMPLETED, ""
    except import_recovery.LeaseLost:
        return None  # another run took over and now owns the file
    except Exception as exc:  # the soft time limit included: the import ends as `failed`
        logger.exception("contact import %s failed", import_id)
        status, failure = ContactImport.FAILED, _failure_text(exc)
    if not import_recovery.finish(contact_import, report, status=status, failure=failure):
        return None
    import_path(import_id).unlink(missing_ok=True)
    return contact_import


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "The uploaded file is gone; upload it again."
    if isinstance(exc, TernError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _read(contact_import: ContactImport, report: _Report) -> None:
    """Stream the file and write it a batch at a time, keeping the counts up to date."""
    actor = import_actor(contact_import)
    with open(import_path(contact_import.id), encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        columns, header_row = _header(reader)
        parser = _RowParser(contact_import, columns, report)
        rows = parser.rows(reader, first=header_row + 1, done=contact_import.progress_row)
        while batch := list(islice(rows, BATCH)):
            _write_batch(contact_import, batch, actor=actor, report=report, row=parser.row)


class _RowParser:
    """Turns the file's records into valid rows, naming each refused one in the report."""

    def __init__(self, contact_import: ContactImport, columns: dict[str, int], report: _Report):
        workspace: Workspace = contact_import.workspace
        self.country = workspace.default_country
        self.disclosure = contact_import.consent_disclosure
        self.tags = list(contact_import.tags or [])
        self.columns, self.report = columns, report
        self.seen: set[str] = set()

    def rows(self, reader, *, first: int, done: int = 0) -> Iterator[_Row]:
        """The valid rows after row `done` (rows up to it, committed by an earlier run, are parsed
        only to know their numbers), in file order; csv errors end the import, naming the row."""
        number = self.row = first - 1
        try:
            for number, cells in enumerate(reader, start=first):
                self.row = number  # the last row read: a batch's progress
                try:
                    row = self.parse(cells)
                except _Refused as refused:
                    if number > done:
                        self.report.refuse(number, refused.value, refused.code)
                    continue
                if number > done:
                    yield row
        except csv.Error as exc:
            message = f"Row {number + 1} is not valid CSV: {exc}."
            raise TernError("validation_error", message) from exc

    def cell(self, cells: list[str], name: str) -> str:
        """The trimmed cell of a column; empty when the column or the cell is missing."""
        index = self.columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def parse(self, cells: list[str]) -> _Row:
        """A valid row, or `_Refused` with the first code that applies."""
        for cell in cells:
            if "\x00" in cell:  # no database column takes NUL; the report shows the cell without
                raise _Refused("nul_character", cell.replace("\x00", "").strip())
        if not any(cell.strip() for cell in cells):
            raise _Refused("blank_row", "")
        phone = self._phone(self.cell(cells, "phone"))
        first_name, last_name = self.cell(cells, "first_name"), self.cell(cells, "last_name")
        for name in (first_name, last_name):
            if len(name) > NAME_MAX:
                raise _Refused("value_too_long", name)
        tags = split_tags([self.cell(cells, "tags")])
        for tag in tags:
            if len(tag) > TAG_MAX:
                raise _Refused("value_too_long", tag)
        timezone = self.cell(cells, "timezone")
        if timezone and timezone not in _zones():
            raise _Refused("invalid_timezone", timezone)
        consent = self._consent(self.cell(cells, "consent"))
        captured_at = _captured_at(self.cell(cells, "consent_captured_at")) if consent else None
        return _Row(
            phone,
            first_name,
            last_name,
            timezone,
            sorted({*tags, *self.tags}),
            consent,
            captured_at,
        )

    def _phone(self, raw: str) -> str:
        """E.164, refused when invalid or already on an earlier row."""
        phone = to_e164(raw, self.country) if raw else None
        if not phone:
            raise _Refused("invalid_number", raw)
        if phone in self.seen:
            raise _Refused("duplicate_in_file", raw)
        self.seen.add(phone)
        return phone

    def _consent(self, raw: str) -> bool:
        """Whether the row grants consent; a grant needs the import's disclosure."""
        value = raw.lower()
        if value not in YES and value not in NO:
            raise _Refused("invalid_consent", raw)
        if value in YES and not self.disclosure:
            raise _Refused("consent_without_disclosure", raw)
        return value in YES


def _captured_at(raw: str) -> datetime | None:
    """An ISO 8601 time (UTC when it names no offset), not in the future; None when empty."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _Refused("invalid_consent_captured_at", raw) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > clock.now():
        raise _Refused("invalid_consent_captured_at", raw)
    return moment


def _write_batch(
    contact_import: ContactImport, rows: list[_Row], *, actor: Actor, report: _Report, row: int
) -> None:
    """Insert new contacts, update known ones and record consents, in one transaction with the
    import's progress up to file row `row` (where a lost run resumes)."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                created = _upsert(contact_import.workspace_id, rows)
                _record_consents(contact_import, rows, actor=actor)
                import_recovery.checkpoint(
                    contact_import, report, row=row, created=created, updated=len(rows) - created
                )
            break
        except IntegrityError:
            # Someone added one of these numbers since we looked: look again.
            if attempt == WRITE_ATTEMPTS:
                raise
    report.created += created
    report.updated += len(rows) - created


def _upsert(workspace_id: str, rows: list[_Row]) -> int:
    """Write the batch's contacts with one lookup, one insert and one update; the number new."""
    now = clock.now()
    existing = {
        contact.phone: contact
        for contact in Contact.objects.for_workspace(workspace_id)
        .filter(phone__in=[row.phone for row in rows])
        .only("id", "phone", *UPDATED_FIELDS)
    }
    new = [_new_contact(workspace_id, row, now) for row in rows if row.phone not in existing]
    changed = [
        existing[row.phone]
        for row in rows
        if row.phone in existing and _merge(existing[row.phone], row, now)
    ]
    Contact.objects.bulk_create(new, batch_size=BATCH)
    Contact.objects.bulk_update(changed, UPDATED_FIELDS, batch_size=BATCH)
    return len(new)


def _new_contact(workspace_id: str, row: _Row, now: datetime) -> Contact:
    return Contact(
        workspace_id=workspace_id,
        phone=row.phone,
        first_name=row.first_name,
        last_name=row.last_name,
        timezone=row.timezone,
        tags=row.tags,
        created_at=now,
        updated_at=now,
    )


def _merge(contact: Contact, row: _Row, now: datetime) -> bool:
    """Apply a row to a known contact (only the cells it fills; tags added); whether it changed."""
    before = (contact.first_name, contact.last_name, contact.timezone, contact.tags)
    contact.first_name = row.first_name or contact.first_name
    contact.last_name = row.last_name or contact.last_name
    contact.timezone = row.timezone or contact.timezone
    contact.tags = sorted({*(contact.tags or []), *row.tags})
    if (contact.first_name, contact.last_name, contact.timezone, contact.tags) == before:
        return False
    contact.updated_at = now  # bulk_update does not apply auto_now
    return True


def _record_consents(contact_import: ContactImport, rows: list[_Row], *, actor: Actor) -> None:
    """Marketing consent, method `import`, with the import's disclosure, for each granting row."""
    for row in rows:
        if row.consent:
            consent_record(
                workspace_id=contact_import.workspace_id,
                phone=row.phone,
                method="import",
                actor=actor,
                disclosure=contact_import.consent_disclosure,
                captured_at=row.captured_at,
            )
