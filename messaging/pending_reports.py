"""Provider reports that arrive before Tern has stored the provider's message id.

The provider call runs outside the transaction that stores its id, so a fast report (a Twilio
callback, the simulator's) can come first. It is kept here and applied through the normal status
path once the id is stored; one whose id never appears is dropped after
PENDING_REPORT_TTL_SECONDS, with a log line.

No report is stranded: the submission stores its id, commits, then reads the kept reports; a
report is kept, committed, then the message is looked up again. Whichever commits second sees the
other's row. The messaging sweep applies any kept report whose id is known by now as a last net.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from workspaces import clock
from workspaces.jsonsafe import scrub

from .models import Message, PendingReport
from .providers.base import StatusReport

logger = logging.getLogger("tern.messaging")


def ttl() -> timedelta:
    """How long a report for an unknown id is kept."""
    return timedelta(seconds=settings.PENDING_REPORT_TTL_SECONDS)


def report_keep(report: StatusReport) -> None:
    """Keep a report whose provider id no message holds yet (the same status twice: one row)."""
    logger.info(
        "status report %s for unknown %s id %s kept for %s s",
        report.status,
        report.provider,
        report.provider_message_id,
        settings.PENDING_REPORT_TTL_SECONDS,
    )
    try:
        with transaction.atomic():
            PendingReport.objects.create(
                provider=report.provider,
                provider_message_id=report.provider_message_id,
                status=report.status,
                error_code=(report.error_code or "")[:16],
                raw=scrub(report.raw or {}),
                received_at=clock.now(),
            )
    except IntegrityError:
        return  # the provider posted the same report again: kept once
    transaction.on_commit(
        lambda: reports_apply_for(
            provider=report.provider, provider_message_id=report.provider_message_id
        )
    )


def reports_apply_for(*, provider: str, provider_message_id: str) -> int:
    """Apply, oldest first, the kept reports of a provider id now stored; they are then gone."""
    from .services import status_report_apply

    kept = list(
        PendingReport.objects.filter(
            provider=provider, provider_message_id=provider_message_id
        ).order_by("received_at", "id")
    )
    if not kept or not _known(provider, provider_message_id):
        return 0
    for row in kept:
        with transaction.atomic():
            # Deleted first: a report applied twice at once is applied once (the delete waits).
            if PendingReport.objects.filter(pk=row.pk).delete()[0]:
                status_report_apply(report=_as_report(row))
    return len(kept)


def _known(provider: str, provider_message_id: str) -> bool:
    return Message.objects.filter(
        provider=provider, provider_message_id=provider_message_id
    ).exists()


def _as_report(row: PendingReport) -> StatusReport:
    return StatusReport(
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        status=row.status,
        error_code=row.error_code or None,
        raw=row.raw,
    )


def pending_reports_sweep(*, limit: int = 500) -> tuple[int, int]:
    """Apply kept reports whose id is known by now, drop those past the TTL: (applied, expired)."""
    known = Message.objects.filter(
        provider=OuterRef("provider"), provider_message_id=OuterRef("provider_message_id")
    )
    ids = (
        PendingReport.objects.filter(Exists(known))
        .values_list("provider", "provider_message_id")
        .distinct()[:limit]
    )
    applied = sum(reports_apply_for(provider=p, provider_message_id=i) for p, i in list(ids))
    return applied, _expire(limit=limit)


def _expire(*, limit: int) -> int:
    """Drop reports whose id never appeared within the TTL, each with a log line."""
    old = PendingReport.objects.filter(received_at__lte=clock.now() - ttl()).order_by("id")
    expired = list(old[:limit])
    for row in expired:
        logger.warning(
            "status report %s for %s id %s expired: no message took that id within %s s",
            row.status,
            row.provider,
            row.provider_message_id,
            settings.PENDING_REPORT_TTL_SECONDS,
        )
    PendingReport.objects.filter(pk__in=[row.pk for row in expired]).delete()
    return len(expired)
