"""Compliance exports (CONTRACT §9): the kinds, the writers, the run, and its files.

Kinds register in `kinds` with `register_export_kind`; compliance brings `consents`,
`suppressions` and `audit_events`, and higher apps plug theirs in from `AppConfig.ready()`
(messaging adds `messages`), so compliance never imports them. A kind's rows are streamed from
the database a chunk at a time and written row by row while the file's SHA-256 is computed, so
an export of any size runs in constant memory on the worker, and its download streams from disk.
"""
