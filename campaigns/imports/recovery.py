"""Contact imports lost with a worker are resumed, not left `running` for ever.

A run holds its import under a token of its own until `leased_until`. Each batch commits, in its
own transaction, the import's progress: the file's last row it covers, the counts and the report's
refused rows so far, and a renewed lease, on condition that the token is still the run's. The
sweep (every 5 s) hands an import whose lease passed (a pending one whose task was lost, a running
one whose worker died) to a new run: it clears the token, so the old run, if it still lives, can
commit nothing more, renews the lease and enqueues the job. The new run reads the file from the
top again, parsing the rows already committed only to know their numbers (duplicate_in_file spans
the whole file) without writing or reporting them, and goes on after them with the counts and the
report restored: no contact is written twice and no row is reported twice.
"""

import logging
import secrets
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import Q

from workspaces import clock
from workspaces.audit import audit_record
from workspaces.enqueue import publish_on_commit

from ..models import ContactImport
from .report import import_actor

logger = logging.getLogger("tern.imports")

# A batch of 1,000 rows commits in seconds: a lease this long that was not renewed is a dead run.
LEASE = timedelta(minutes=2)
SWEEP_LIMIT = 100
LIVE = (ContactImport.PENDING, ContactImport.RUNNING)
# Published by its registered name: this module never imports the tasks above it.
CONTACT_IMPORT_RUN = "campaigns.tasks.contact_import_run"


class LeaseLost(Exception):
    """Another run took the import over: this one stops and writes nothing more."""


def claim(import_id: str) -> ContactImport | None:
    """Take an import no run holds (new, or handed back by the sweep); None when another has it."""
    token, now = secrets.token_hex(16), clock.now()
    claimed = ContactImport.objects.filter(pk=import_id, status__in=LIVE, lease_token="").update(
        status=ContactImport.RUNNING, lease_token=token, leased_until=now + LEASE
    )
    if not claimed:
        return None
    contact_import = ContactImport.objects.select_related("workspace").get(pk=import_id)
    if contact_import.progress_row:
        logger.warning(
            "contact import %s resumes after row %s", import_id, contact_import.progress_row
        )
    return contact_import


def checkpoint(
    contact_import: ContactImport, report, *, row: int, created: int, updated: int
) -> None:
    """In the batch's transaction (`created`/`updated` its own counts, not yet in the report):
    the progress and a renewed lease, or LeaseLost, which rolls the batch back."""
    fields = {
        "progress_row": row,
        "created": report.created + created,
        "updated": report.updated + updated,
        "refused": report.refused,
        "rows_read": report.rows_read,
        "leased_until": clock.now() + LEASE,
    }
    if len(report.errors) != len(contact_import.errors or []):  # the report grew in this batch
        fields["errors"] = list(report.errors)
    mine = ContactImport.objects.filter(
        pk=contact_import.pk, lease_token=contact_import.lease_token
    )
    if not mine.update(**fields):
        raise LeaseLost(contact_import.pk)
    contact_import.errors = fields.get("errors", contact_import.errors)


def finish(contact_import: ContactImport, report, *, status: str, failure: str) -> bool:
    """Write the report and the outcome, audited as contact_import.completed (or .failed);
    False, writing nothing, when another run has taken the import over."""
    now = clock.now()
    with transaction.atomic():
        mine = ContactImport.objects.filter(
            pk=contact_import.pk, lease_token=contact_import.lease_token
        )
        if not mine.update(
            status=status,
            failure=failure[:2000],
            created=report.created,
            updated=report.updated,
            refused=report.refused,
            errors=report.errors,
            rows_read=report.rows_read,
            completed_at=now,
            lease_token="",
            leased_until=None,
        ):
            return False
        contact_import.status, contact_import.failure = status, failure[:2000]
        contact_import.created, contact_import.updated = report.created, report.updated
        contact_import.errors, contact_import.completed_at = report.errors, now
        contact_import.rows_read = report.rows_read
        audit_record(
            workspace=contact_import.workspace_id,
            actor=import_actor(contact_import),
            action=f"contact_import.{status}",
            target=contact_import,
            after={
                "created": report.created,
                "updated": report.updated,
                "refused": report.refused,
                "failure": failure or None,
            },
        )
    return True


def enqueue_on_commit(import_id: str) -> None:
    """Run the import on the worker once the current transaction commits."""
    publish_on_commit(current_app.tasks[CONTACT_IMPORT_RUN], (import_id,), queue="default")


def sweep_lost_imports(*, limit: int = SWEEP_LIMIT) -> int:
    """Hand imports whose lease passed to a new run (which resumes them); how many."""
    now = clock.now()
    # A new import's task holds it for LEASE from its creation.
    expired = Q(leased_until__lte=now) | Q(leased_until=None, created_at__lte=now - LEASE)
    with transaction.atomic():
        lost = ContactImport.objects.filter(expired, status__in=LIVE)
        ids = list(
            lost.order_by("created_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        ContactImport.objects.filter(pk__in=ids).update(lease_token="", leased_until=now + LEASE)
        for import_id in ids:
            enqueue_on_commit(import_id)
    logger.warning("contact imports handed to a new run after their lease passed: %s", ids)
    return len(ids)
