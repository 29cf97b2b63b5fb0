"""Apply what providers say of a message: status reports (kept when early) and delivery failures.

A provider's callback view, or its own report code, calls `status_report_apply`; nothing here
knows which provider spoke. The provider call runs outside the transaction that stores its id,
so a fast report can come first: it is kept (PendingReport) and applied through the same path
once the id is stored; one whose id never appears is dropped after PENDING_REPORT_TTL_SECONDS,
with a log line. No report is stranded: the submission stores its id, commits, then reads the
kept reports; a report is kept, committed, then the message is looked up again. Whichever
commits second sees the other's row. The messaging sweep applies any kept report whose id is
known by now as a last net.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from workspaces import clock
from workspaces.errors import CLASS_REVIEW, CLASS_SUPPRESS, delivery_error, delivery_error_for, spec
from workspaces.jsonsafe import scrub

from ..lifecycle import announce, carrier_suppress, finish
from ..models import FINAL_STATUSES, STATUS_RANK, Message, PendingReport, Status
from ..providers.base import StatusReport
from ..timeline import event_add, event_add_once

logger = logging.getLogger("tern.messaging")

REPORTED_STATUSES = {Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}


def status_report_apply(*, report: StatusReport) -> Message | None:
    """Apply a provider's status report: deduplicated, never moving a status backwards.

    One transaction under the message's row lock: the check, the timeline event and the change.
    """
    if report.status not in REPORTED_STATUSES:
        return None
    same = Message.objects.filter(
        provider=report.provider, provider_message_id=report.provider_message_id
    )
    with transaction.atomic():
        message = same.select_for_update().first()
        if message is None:  # may be faster than the commit of its id: kept until then
            report_keep(report)
            return None
        if report.status == message.status:
            return message  # e.g. the provider's own `sent` after acceptance: nothing new
        if STATUS_RANK[report.status] <= STATUS_RANK[message.status]:
            event_add_once(
                message,
                "out_of_order_status_ignored",
                f"late:{report.status}",
                {"reported": report.status, "current": message.status},
            )
            return message
        if not event_add_once(
            message,
            report.status,
            f"report:{report.status}",
            {"provider_code": report.error_code} if report.error_code else {},
        ):
            return message
        if report.status in (Status.UNDELIVERED, Status.FAILED):
            _report_failure(message, report)
        else:
            _report_progress(message, report.status)
    return message


def _report_progress(locked: Message, status: str) -> None:
    """`sent` or `delivered`, on the locked message."""
    if status == Status.DELIVERED:
        finish(locked, status, reached_provider=True)
    else:
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        announce(locked, status)


def _report_failure(locked: Message, report: StatusReport) -> None:
    """`undelivered` or `failed` with its catalogue error, on the locked message."""
    entry = delivery_error_for(report.error_code)
    error = delivery_error(entry.code, report.error_code)
    locked.review = Message.REVIEW_PENDING if entry.delivery_class == CLASS_REVIEW else ""
    finish(locked, report.status, reached_provider=True, error=error, extra_fields=("review",))
    if entry.delivery_class == CLASS_SUPPRESS and not locked.test:
        carrier_suppress(locked, entry.code)
    if locked.review:
        event_add(locked, "review_opened", {"code": entry.code})


def delivery_failed(
    *,
    message: Message,
    status: str,
    provider_code: str | None,
    reached_provider: bool,
    code: str | None = None,
    detail: dict | None = None,
) -> None:
    """Record a delivery failure with its catalogue code, and act on its class."""
    entry = spec(code) if code else delivery_error_for(provider_code)
    error = delivery_error(entry.code, provider_code)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.status in FINAL_STATUSES:
            return
        locked.review = Message.REVIEW_PENDING if entry.delivery_class == CLASS_REVIEW else ""
        finish(
            locked, status, reached_provider=reached_provider, error=error, extra_fields=("review",)
        )
        event_add(
            locked, status, {"code": entry.code, "provider_code": provider_code, **(detail or {})}
        )
        if entry.delivery_class == CLASS_SUPPRESS and not locked.test:
            carrier_suppress(locked, entry.code)
        if locked.review:
            event_add(locked, "review_opened", {"code": entry.code})


# --- Reports that came before their message's provider id -------------------------------------


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
    """Whether a message holds this provider id by now."""
    return Message.objects.filter(
        provider=provider, provider_message_id=provider_message_id
    ).exists()


def _as_report(row: PendingReport) -> StatusReport:
    """A kept row as the report it was."""
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
