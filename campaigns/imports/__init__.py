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
its worker is resumed after the rows it committed (imports.recovery).

Columns: `phone,first_name,last_name,timezone,tags,consent[,consent_captured_at]`, named in any
order and case by a header row; others are ignored. Numbers without `+` are read in the
workspace's `default_country`; `tags` are `;`-separated and join the import's own `tags`. A number
that is already a contact updates it (names and time zone when the row gives them; tags merged)
and counts in `updated`; a new one counts in `created`. An upload may instead name what each
column becomes (`columns`, the console's mapping, below), checked against the header at once.

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

These are codes of the import's report, never an HTTP answer; the error catalogue holds each
(`workspaces/errors/import_rows.py`) with what to change, which the console's report and its CSV
show (`report.row_fix`).

The console stages an upload (`staged`: file and header kept, nothing runs, not in the API), then
`contact_import_start` saves a mapping of each column to one of the columns above,
`attributes.<name>` or `ignore` (`mapping`) and enqueues it. `rows_total` (records after the
header, counted at upload) and `rows_read` (kept at each batch's checkpoint) are the progress.
The report keeps the first `MAX_ERRORS` rows; past that the resource says `errors_truncated`.

Modules, top down: `upload` and `run` (the two verbs), `mapping` (columns to fields), `recovery`
(leases, the sweep, the job's publishing by name), `rows` (parsing), `report` (the report, the
resource, the file's path).
"""
