"""Parsing an import's CSV: its header row, and its records into valid rows or refused ones
(each named in the report with the first code that applies)."""

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from zoneinfo import available_timezones

from workspaces import clock
from workspaces.errors import TernError
from workspaces.models import Workspace
from workspaces.phones import to_e164

from ..models import ATTRIBUTES_MAX_BYTES, Contact, ContactImport
from .mapping import FIELDS
from .report import Report

COLUMNS = FIELDS
YES, NO = frozenset({"yes", "y", "true", "1"}), frozenset({"", "no", "n", "false", "0"})
NAME_MAX = Contact._meta.get_field("first_name").max_length
TAG_MAX = 64


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def split_tags(values: Iterable[str], separators: str = ";") -> list[str]:
    """Tags from `a;b` strings: trimmed, unique, sorted."""
    tags = set()
    for value in values:
        for separator in separators[1:]:
            value = value.replace(separator, separators[0])
        tags.update(t.strip() for t in value.split(separators[0]))
    return sorted(tags - {""})


def file_error(message: str, **details) -> TernError:
    """A 400 naming the uploaded file (the whole file is refused, not a row)."""
    return TernError("validation_error", message, details={"file": [message], **details})


def header_cells(reader) -> tuple[list[str], int]:
    """The header row's cells (trimmed) and its row number; blank lines before it skip."""
    try:
        for number, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):
                return [cell.strip() for cell in cells], number
    except csv.Error as exc:
        raise file_error(f"The header row is not valid CSV: {exc}.") from exc
    raise file_error(f"The file is empty; its first row must name the columns: {COLUMNS}.")


def header(reader) -> tuple[dict[str, int], int]:
    """The columns by name (lower case) and the header's row number; blank lines before it skip."""
    cells, number = header_cells(reader)
    columns: dict[str, int] = {}
    for index, name in enumerate(cells):
        columns.setdefault(name.lower(), index)
    return columns, number


@dataclass
class Row:
    """A valid row, ready to write."""

    phone: str
    first_name: str
    last_name: str
    timezone: str
    tags: list[str]
    consent: bool
    captured_at: datetime | None
    attributes: dict[str, str] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, code: str, value: str):
        super().__init__(code)
        self.code, self.value = code, value


class RowParser:
    """Turns the file's records into valid rows, naming each refused one in the report."""

    def __init__(
        self,
        contact_import: ContactImport,
        columns: dict[str, int],
        report: Report,
        attributes: dict[str, int] | None = None,
    ):
        workspace: Workspace = contact_import.workspace
        self.country = workspace.default_country
        self.disclosure = contact_import.consent_disclosure
        self.tags = list(contact_import.tags or [])
        self.columns, self.report = columns, report
        # Columns mapped to `attributes.<name>` (console imports only), by name.
        self.attribute_columns = attributes or {}
        self.seen: set[str] = set()

    def rows(self, reader, *, first: int, done: int = 0) -> Iterator[Row]:
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

    def parse(self, cells: list[str]) -> Row:
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
        return Row(
            phone,
            first_name,
            last_name,
            timezone,
            sorted({*tags, *self.tags}),
            consent,
            captured_at,
            self._attributes(cells),
        )

    def _attributes(self, cells: list[str]) -> dict[str, str]:
        """The row's filled attribute cells, within the contact's attributes' size."""
        found = {}
        for key, index in self.attribute_columns.items():
            value = cells[index].strip() if index < len(cells) else ""
            if value:
                found[key] = value
        if len(json.dumps(found).encode()) > ATTRIBUTES_MAX_BYTES:
            raise _Refused("value_too_long", max(found.values(), key=len))
        return found

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
