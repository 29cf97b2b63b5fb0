"""Beat's sweep of exports: expired files, lost pending exports, runs whose worker died."""

import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from workspaces import clock

from ..models import Export
from .files import part_path
from .kinds import CHUNK
from .run import TIME_LIMIT, fail
from .services import enqueue_on_commit

# A pending export this old has lost its task (a crash between commit and enqueue): enqueue again.
REQUEUE_PENDING_AFTER = timedelta(minutes=2)


def export_sweep() -> dict:
    """Beat: remove expired files, re-enqueue lost pending exports, fail interrupted runs."""
    return {
        "expired": _sweep_expired(),
        "requeued": _sweep_lost_pending(),
        "interrupted": _sweep_interrupted(),
    }


def _sweep_expired() -> int:
    """Delete the files of exports past `expires_at`; the rows stay (status still completed)."""
    due = Export.objects.filter(status=Export.COMPLETED, expires_at__lte=clock.now()).exclude(
        file_name=""
    )
    removed = 0
    for export_id, file_name in due.values_list("id", "file_name").iterator(chunk_size=CHUNK):
        (Path(settings.EXPORTS_DIR) / file_name).unlink(missing_ok=True)
        removed += Export.objects.filter(pk=export_id).update(file_name="")
    return removed


def _sweep_lost_pending() -> int:
    """Pending exports whose task went missing are enqueued again (a duplicate finds no claim)."""
    cutoff = clock.now() - REQUEUE_PENDING_AFTER
    ids = list(
        Export.objects.filter(status=Export.PENDING, created_at__lte=cutoff).values_list(
            "id", flat=True
        )[:500]
    )
    for export_id in ids:
        enqueue_on_commit(export_id)
    return len(ids)


def _sweep_interrupted() -> int:
    """Fail running exports whose worker died: no write to their file for over the time limit.

    A live run's file is created when it starts and cannot outlive the hard time limit, so a
    file untouched for longer belongs to a run that is gone.
    """
    failed = 0
    for export in Export.objects.filter(status=Export.RUNNING).iterator(chunk_size=CHUNK):
        part = part_path(export)
        try:
            idle = time.time() - part.stat().st_mtime
        except FileNotFoundError:
            continue  # just claimed, or just completed: nothing to judge yet
        if idle > TIME_LIMIT + 60:
            fail(export, "The export was interrupted (its worker stopped); create it again.")
            failed += 1
    return failed
