"""The writers: CSV and JSON Lines, streamed through a sink that hashes the bytes it writes."""

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from workspaces import clock
from workspaces.csvsafe import csv_line
from workspaces.jsonsafe import scrub_text


class HashingSink:
    """A text sink that encodes, hashes and writes as it goes: the digest is of the bytes."""

    def __init__(self, raw):
        self.raw = raw
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate stored before the API refused them
            data = scrub_text(text).encode()
        self.digest.update(data)
        self.raw.write(data)
        return len(text)


def _json_default(value):
    if isinstance(value, datetime):
        return clock.isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


# How a value reads in a CSV cell: times in ISO 8601 Z, decimals in full, JSON for structures.
_CELL = {
    type(None): lambda v: "",
    bool: lambda v: "true" if v else "false",
    datetime: clock.isoformat,
    date: date.isoformat,
    Decimal: lambda v: format(v, "f"),
    dict: _json,
    list: _json,
}


def _cell(value):
    convert = _CELL.get(type(value))
    return convert(value) if convert else value


def write_csv(sink, fields: tuple[str, ...], rows: Iterator[dict]) -> int:
    """A header, then one line per row (RFC 4180, formula-safe); returns the number of rows."""
    sink.write(csv_line(fields))
    count = 0
    for row in rows:
        sink.write(csv_line(_cell(row[f]) for f in fields))
        count += 1
    return count


def write_jsonl(sink, fields: tuple[str, ...], rows: Iterator[dict]) -> int:
    """One JSON object per line, keys in the kind's order; returns the number of rows."""
    count = 0
    for row in rows:
        sink.write(_json({f: row[f] for f in fields}) + "\n")
        count += 1
    return count


WRITERS = {"csv": write_csv, "jsonl": write_jsonl}
