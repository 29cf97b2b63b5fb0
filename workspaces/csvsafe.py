"""CSV that a spreadsheet opens as data, never as formulas (OWASP "CSV Injection").

Every CSV Tern writes (exports, reports, the console's downloads) goes through `csv_line`, so a
message body or a suppression reason such as `=HYPERLINK("http://x","y")` reads as text:

- a cell whose first character (after any leading white space) is `=`, `+`, `-` or `@`, or that
  starts with a tab or a carriage return, is prefixed with a single quote `'`;
- a cell that is a number (`+14155550100`, `-0.0079`, `12`) is left exactly as it is;
- a cell holding a separator that some locale's spreadsheet splits on (`,` `;` tab `|`), a double
  quote or a line break is wrapped in double quotes (inner quotes doubled), so no part of it can
  become a cell of its own that starts a formula.

Output is RFC 4180, as `csv.writer` writes it (CRLF line ends, minimal quoting otherwise).
"""

import re
from collections.abc import Iterable

# Formula triggers; the full-width forms are read as formulas by some spreadsheets too.
_TRIGGERS = frozenset("=+-@＝＋－＠")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NEEDS_QUOTES = frozenset(',;|"\t\r\n')


def is_number(text: str) -> bool:
    """A plain decimal number, signed or not (phone numbers in E.164 are such numbers)."""
    return _NUMBER.fullmatch(text) is not None


def safe_cell(value) -> str:
    """The text of one cell, with a leading `'` if a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    if not text or is_number(text):
        return text
    if text[0] in "\t\r" or text.lstrip(" \t\r\n")[:1] in _TRIGGERS:
        return "'" + text
    return text


def _quoted(text: str) -> str:
    if any(c in _NEEDS_QUOTES for c in text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(cells: Iterable) -> str:
    """One CSV record (with its CRLF), every cell made safe and quoted where it must be."""
    texts = [_quoted(safe_cell(c)) for c in cells]
    if texts == [""]:  # a lone empty cell would read as a blank line, which readers skip
        texts = ['""']
    return ",".join(texts) + "\r\n"
