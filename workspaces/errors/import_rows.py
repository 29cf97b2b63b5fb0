"""The codes a contact import records for a refused row in its report (CONTRACT §7), never an
HTTP answer; `campaigns.imports.rows` raises them, the console's report shows each one's fix.
A row whose phone is not a number records `invalid_number`, the API's own entry (one code, one
fix)."""

from .spec import RETRY_AFTER_FIX, ErrorSpec


def _row(code: str, message: str, fix: str, when: str) -> ErrorSpec:
    """A row code: recorded on the import's report, fixed in the file and imported again."""
    return ErrorSpec(code, None, message, fix, RETRY_AFTER_FIX, when, recorded_on="import report")


IMPORT_ROW_ENTRIES = [
    _row(
        "nul_character",
        "A cell of the row holds a NUL character.",
        "Remove the NUL character from the cell (re-save the file as CSV UTF-8).",
        "an import row with a NUL character in a cell",
    ),
    _row(
        "blank_row",
        "Every cell of the row is empty.",
        "Delete the empty row, or fill it in.",
        "an import row whose cells are all empty",
    ),
    _row(
        "duplicate_in_file",
        "The row's number is on an earlier row of the same file.",
        "The number is on an earlier row: merge the two rows into one.",
        "an import row repeating an earlier row's number",
    ),
    _row(
        "value_too_long",
        "A cell of the row is longer than its field allows.",
        "Shorten the cell: names are at most 100 characters, tags at most 64, attributes at most 4096 bytes in all.",
        "an import row with a name over 100 characters, a tag over 64 or attributes over 4096 bytes",
    ),
    _row(
        "invalid_timezone",
        "The row's time zone is not an IANA time zone name.",
        "Use an IANA time zone name such as America/Chicago, or leave it empty.",
        "an import row whose timezone is not an IANA name",
    ),
    _row(
        "invalid_consent",
        "The row's consent is neither yes nor no.",
        "Write yes or no (or y/n, true/false, 1/0), or leave it empty.",
        "an import row whose consent is not yes/y/true/1, no/n/false/0 or empty",
    ),
    _row(
        "consent_without_disclosure",
        "The row gives consent, but the import names no consent disclosure.",
        "Import again with the consent disclosure the contacts agreed to, or leave consent empty.",
        "an import row with consent in an import without `consent_disclosure`",
    ),
    _row(
        "invalid_consent_captured_at",
        "The row's consent time is not ISO 8601, or is in the future.",
        "Write when consent was given in ISO 8601 (2024-05-01T14:30:00Z), not in the future.",
        "an import row whose consent_captured_at is not ISO 8601 or is in the future",
    ),
]
