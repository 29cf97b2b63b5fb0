"""What messaging may forget, and when (CONTRACT §13); registered with workspaces' purge registry.

Messages and their timelines are never purged, nor refusals whose code is a compliance gate. A
provider registers the purge of its own records from its `ready()`.
"""

from datetime import datetime, timedelta

from django.conf import settings

from workspaces.retention import days, register_purge

from .models import DuplicateGuard, IdempotencyKey
from .records import EVIDENCE_CODES, ProviderExchange, Refusal


def refusals_due(now: datetime):
    """Refusals past RETENTION_REFUSALS_DAYS, except the compliance gates' (evidence)."""
    old = Refusal.objects.filter(created_at__lt=now - days("RETENTION_REFUSALS_DAYS"))
    return old.exclude(code__in=EVIDENCE_CODES)


def provider_log_due(now: datetime):
    """Provider exchanges past RETENTION_PROVIDER_LOG_DAYS."""
    return ProviderExchange.objects.filter(at__lt=now - days("RETENTION_PROVIDER_LOG_DAYS"))


def idempotency_keys_due(now: datetime):
    """Keys past RETENTION_IDEMPOTENCY_HOURS that Tern no longer honours either."""
    hours = timedelta(hours=settings.RETENTION_IDEMPOTENCY_HOURS)
    return IdempotencyKey.objects.filter(created_at__lt=now - hours, expires_at__lte=now)


def duplicate_guards_due(now: datetime):
    """Duplicate guards whose window has passed."""
    return DuplicateGuard.objects.filter(expires_at__lte=now)


def register() -> None:
    """Called from MessagingConfig.ready()."""
    register_purge("messaging.refusals", refusals_due)
    register_purge("messaging.provider_log", provider_log_due)
    register_purge("messaging.idempotency_keys", idempotency_keys_due)
    register_purge("messaging.duplicate_guards", duplicate_guards_due)
