"""Transaction-scoped locks shared by every app: the (workspace, phone) lock of claims and STOPs."""

import hashlib

from django.db import connection


def _lock_key(*parts: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, stable across processes."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def phone_lock(*, workspace_id: str, phone: str) -> None:
    """Hold the (workspace, phone) lock until the transaction ends.

    PostgreSQL: an advisory transaction lock. SQLite: every write transaction is IMMEDIATE,
    so the database lock already serialises writers and nothing more is needed.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(workspace_id, phone)])
