"""Idempotency keys (Stripe's rules, CONTRACT §4): claim a key, find the answer to replay byte for
byte, or refuse with 409. The HTTP side is `messaging.api.idempotency.IdempotentMixin`."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from workspaces import clock
from workspaces.audit import canonical_json
from workspaces.errors import TernError

from .models import IdempotencyKey

IN_FLIGHT_FOR = timedelta(seconds=60)


def _kept_until(now):
    """A key answers replays for RETENTION_IDEMPOTENCY_HOURS (24 h, CONTRACT §13)."""
    return now + timedelta(hours=settings.RETENTION_IDEMPOTENCY_HOURS)


NOT_STORED_STATUSES = {409, 429}


@dataclass(frozen=True)
class StoredAnswer:
    """The first request's answer, to be replayed byte for byte."""

    status: int
    body: bytes


def request_hash(data) -> str:
    """SHA-256 of the request's canonical JSON."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def _conflict(reason: str) -> TernError:
    return TernError("idempotency_conflict", reason, details={"reason": reason})


def idempotency_claim(*, token, path: str, key: str, data) -> IdempotencyKey | StoredAnswer:
    """Claim the key for this request; or the stored answer to replay; or raise a conflict."""
    if not 1 <= len(key) <= 255:
        raise TernError(
            "validation_error", details={"Idempotency-Key": ["Must be 1 to 255 characters."]}
        )
    digest, now = request_hash(data), clock.now()
    fields = {"workspace_id": token.workspace_id, "test": token.is_test, "path": path, "key": key}
    # A row that blocked our insert may be gone by the time we read it (its request ended with
    # an answer that is not stored): then the key is free again, so try once more to take it.
    for _ in range(3):
        outcome = _insert(fields, digest, now) or _judge_existing(fields, digest, now)
        if outcome is not None:
            return outcome
    raise _conflict("The first request with this key is still in flight.")


def _insert(fields: dict, digest: str, now) -> IdempotencyKey | None:
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                **fields,
                request_hash=digest,
                locked_until=now + IN_FLIGHT_FOR,
                created_at=now,
                expires_at=_kept_until(now),
            )
    except IntegrityError:
        return None


def _judge_existing(fields: dict, digest: str, now) -> IdempotencyKey | StoredAnswer | None:
    """Replay, take over or refuse the key's row; None when the row has vanished meanwhile."""
    with transaction.atomic():
        existing = IdempotencyKey.objects.select_for_update().filter(**fields).first()
        if existing is None:
            return None
        if existing.expires_at <= now:
            _reset(existing, digest, now)
            return existing
        if existing.request_hash != digest:
            raise _conflict("This key was used with a different request.")
        if existing.response_status is not None:
            return StoredAnswer(existing.response_status, bytes(existing.response_body))
        if existing.locked_until and existing.locked_until > now:
            raise _conflict("The first request with this key is still in flight.")
        _reset(existing, digest, now)  # abandoned in flight: this request takes it over
        return existing


def _reset(row: IdempotencyKey, digest: str, now) -> None:
    row.request_hash, row.response_status, row.response_body = digest, None, None
    row.locked_until, row.created_at, row.expires_at = now + IN_FLIGHT_FOR, now, _kept_until(now)
    row.save()


def idempotency_finish(*, row: IdempotencyKey, status: int, body: bytes) -> None:
    """Store the response for replays, or free the key when this answer must not be stored."""
    if status in NOT_STORED_STATUSES or status >= 500:
        IdempotencyKey.objects.filter(pk=row.pk).delete()
        return
    IdempotencyKey.objects.filter(pk=row.pk).update(
        response_status=status, response_body=body, locked_until=None
    )
