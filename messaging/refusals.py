"""Refused sends, kept as an integrator's error log (CONTRACT §13).

Recorded where a send turns into an error, after the refused work rolled back, in a short
transaction of its own: one INSERT per refusal (one for a whole batch), nothing on success.
401s have no workspace and are not recorded; a token's 429s count into one row per minute.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from workspaces import clock
from workspaces.errors import TernError
from workspaces.ids import new_id

from .records import Refusal

NOT_RECORDED = frozenset({"unauthorized", "internal_error"})


@dataclass(frozen=True)
class SendOrigin:
    """Who asked for a send: workspace and mode, token id, door (`api`/`console`), request id."""

    workspace_id: str
    test: bool
    token_id: str = ""
    via: str = Refusal.API
    request_id: str = ""

    @classmethod
    def of_request(cls, request, *, via: str = Refusal.API) -> "SendOrigin | None":
        """The origin of an authenticated API request; None without a workspace (a 401)."""
        token = getattr(request, "token", None)
        if token is None or getattr(request, "workspace", None) is None:
            return None
        return cls(
            workspace_id=token.workspace_id,
            test=token.is_test,
            token_id=token.pk,
            via=via,
            request_id=getattr(request, "request_id", "") or "",
        )


def _text(value, limit: int) -> str:
    """What the client sent, as text cut to the column's size (it may be anything)."""
    return value[:limit] if isinstance(value, str) else ""


def _row(origin: SendOrigin, code: str, to, from_, now) -> Refusal:
    return Refusal(
        workspace_id=origin.workspace_id,
        test=origin.test,
        code=code[:40],
        to_number=_text(to, 64),
        from_number=_text(from_, 64),
        token_id=origin.token_id,
        via=origin.via,
        request_id=origin.request_id[:128],
        created_at=now,
    )


def refusals_record(*, origin: SendOrigin, refused: list[tuple[TernError, object, object]]) -> None:
    """Keep each (error, to, from) refused send in one INSERT; 429s count per token and minute."""
    now = clock.now()
    # A token's 429s count into its minute's row; the console has no token (its minute would be
    # every workspace's), and a person's clicks are few: each of its 429s is a row of its own.
    counted = bool(origin.token_id)
    rows = [
        _row(origin, error.code, to, from_, now)
        for error, to, from_ in refused
        if error.code not in NOT_RECORDED and not (counted and error.code == "rate_limited")
    ]
    if counted and any(error.code == "rate_limited" for error, _, _ in refused):
        rate_limited_record(origin=origin)
    if rows:
        with transaction.atomic():
            Refusal.objects.bulk_create(rows)


def refusal_record(*, origin: SendOrigin, error: TernError, to=None, from_=None) -> None:
    """Keep one refused send (see `refusals_record`)."""
    refusals_record(origin=origin, refused=[(error, to, from_)])


_COUNT_MINUTE_SQL = """
INSERT INTO {table} (id, workspace_id, test, code, to_number, from_number, token_id, via,
                     request_id, created_at, minute, count)
VALUES (%s, %s, %s, 'rate_limited', '', '', %s, %s, %s, %s, %s, 1)
ON CONFLICT (token_id, minute) WHERE minute IS NOT NULL
DO UPDATE SET count = {table}.count + 1
"""


def rate_limited_record(*, origin: SendOrigin) -> None:
    """Count a 429 into its token's row for this minute: one atomic upsert, not read-then-write."""
    now = clock.now()
    minute = now.replace(second=0, microsecond=0)
    adapt = connection.ops.adapt_datetimefield_value
    sql = _COUNT_MINUTE_SQL.format(table=connection.ops.quote_name(Refusal._meta.db_table))
    params = [
        new_id("ref"),
        origin.workspace_id,
        origin.test,
        origin.token_id,
        origin.via,
        origin.request_id[:128],
        adapt(now),
        adapt(minute),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
