"""Retention (CONTRACT §13): one registry of purges, run by beat in bounded batches.

Each app registers what it may purge with `register_purge` from its AppConfig.ready() (the one
way a lower app offers a hook). A purge deletes at most `batch_size` rows per statement and
`max_batches` statements per run, so no purge holds a long lock; what is left goes next run.
What CONTRACT §13 keeps for good (messages, timelines, consents, suppressions, campaign skips,
audit events, compliance-gate refusals) is never registered.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from . import clock

logger = logging.getLogger("tern.retention")

# name → rows_due(now) -> QuerySet of rows past their period (or a callable doing its own work)
_PURGES: dict[str, Callable[[datetime], QuerySet]] = {}


def register_purge(name: str, rows_due: Callable[[datetime], QuerySet]) -> None:
    """Register the rows a table may lose at `now`; the runner deletes them in batches."""
    _PURGES[name] = rows_due


def registered_purges() -> dict[str, Callable[[datetime], QuerySet]]:
    """A copy of the registry (for tests and the README)."""
    return dict(_PURGES)


# name → (the folder, the RETENTION_*_DAYS setting): files past their period are unlinked.
_FILE_PURGES: dict[str, tuple[Callable[[], Path], str]] = {}


def register_file_purge(name: str, folder: Callable[[], Path], setting: str) -> None:
    """Register a folder whose files are kept `setting` days (export files, uploads, mail)."""
    _FILE_PURGES[name] = (folder, setting)


def registered_file_purges() -> dict[str, tuple[Callable[[], Path], str]]:
    """A copy of the file registry (for tests)."""
    return dict(_FILE_PURGES)


def purge_files(folder: Path, *, older_than: datetime, limit: int) -> int:
    """Unlink at most `limit` regular files in `folder` last changed before `older_than`."""
    if not folder.is_dir():
        return 0
    cutoff, deleted = older_than.timestamp(), 0
    for path in folder.iterdir():
        if deleted >= limit:
            break
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # another process purged or consumed it first
            continue
    return deleted


def days(setting: str) -> timedelta:
    """A `RETENTION_*_DAYS` setting as a period."""
    return timedelta(days=getattr(settings, setting))


def purge_batches(rows: QuerySet, *, batch_size: int, max_batches: int) -> int:
    """Delete `rows` by primary key, `batch_size` at a time, at most `max_batches` times."""
    deleted = 0
    for _ in range(max_batches):
        ids = list(rows.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        rows.model._base_manager.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            break
    return deleted


def purge_run(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> dict[str, int]:
    """Run every registered purge once; a failing one is logged and the others still run."""
    now = now or clock.now()
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    max_batches = max_batches or settings.RETENTION_MAX_BATCHES
    done = {}
    for name, rows_due in _PURGES.items():
        try:
            done[name] = purge_batches(
                rows_due(now), batch_size=batch_size, max_batches=max_batches
            )
        except Exception:
            logger.exception("retention: the %s purge failed", name)
    for name, (folder, setting) in _FILE_PURGES.items():
        try:
            done[name] = purge_files(
                folder(), older_than=now - days(setting), limit=batch_size * max_batches
            )
        except Exception:
            logger.exception("retention: the %s purge failed", name)
    return done
