"""One phone number's compliance story (CONTRACT §6 `GET /numbers/{e164}`): the one reading shared
by the API, the console's Number page and the `number` evidence export.

"As of" a moment means what Tern knew then: a consent recorded after it (a backdated grant whose
`captured_at` is earlier) is shown in the history marked `recorded_later`, but is never the consent
in force, because the send gate could not have relied on a record that did not exist yet. A
suppression's removal after the moment is not known then either, so the record is shown active.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time

from django.utils.dateparse import parse_date, parse_datetime

from workspaces import clock
from workspaces.errors import TernError
from workspaces.hooks import Hooks
from workspaces.phones import to_e164

from .models import Consent, Suppression
from .resources import consent_resource, suppression_resource

# Inbound keyword messages live in messaging, above this app: it plugs its reader in here.
# A reader is `(workspace_id, phone, test, until) -> [history entry]` (see `keyword_entry`).
_KEYWORD_READERS = Hooks("number keyword messages")
# Records of the same instant in the order they happen: a keyword, then what it did (a STOP
# suppresses then revokes; a START lifts then grants, as `keywords.keyword_apply` writes them).
CAUSE_FIRST = {"keyword_message": 0, "suppression": 1, "suppression_removed": 1, "consent": 2}


def register_keyword_messages(reader: Callable) -> None:
    """Offer the keyword messages a number sent (MessagingConfig.ready() plugs in)."""
    _KEYWORD_READERS.register(reader)


def number_parse(raw: str, default_country: str = "") -> str:
    """The number in E.164, or `validation_error` naming `phone`."""
    number = to_e164(raw, default_country or None) if raw else None
    if not number:
        raise TernError(
            "validation_error",
            "Not a valid phone number.",
            details={"phone": [f"{str(raw)[:40]!r} is not a valid number; give it in E.164."]},
        )
    return number


def as_of_parse(raw: str | None) -> datetime:
    """ISO 8601 time (naive = UTC) or a bare date (= the end of that UTC day); empty = now."""
    if raw is None or raw == "":
        return clock.now()
    # An unencoded `+` in a query string arrives as a space: "…T12:00:00 01:00" meant +01:00.
    text = str(raw).strip()
    text = text[:19] + text[19:].replace(" ", "+") if len(text) > 19 else text
    try:
        day = parse_date(text)  # first: Python 3.11 reads a bare date as midnight, too
        moment = None if day else parse_datetime(text)
    except ValueError:
        moment = day = None
    if day is not None:
        return datetime.combine(day, time.max, tzinfo=UTC)
    if moment is None:
        raise TernError(
            "validation_error",
            "`as_of` is not a time.",
            details={"as_of": ["Give an ISO 8601 time (2026-03-01T12:00:00Z) or a date."]},
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _entry(kind: str, record: dict, at: datetime, recorded_at: datetime, as_of) -> dict:
    """A history entry: the record, what kind it is, the moment it is about, when it was kept."""
    return {
        "type": kind,
        **record,
        "at": at,
        "recorded_at": recorded_at,
        "recorded_later": recorded_at > as_of,
    }


def keyword_entry(*, message_id, keyword, body, from_, to, at) -> dict:
    """A keyword message as a history entry (for the reader messaging plugs in)."""
    record = {"id": message_id, "keyword": keyword, "body": body, "from": from_, "to": to}
    return _entry("keyword_message", record, at, at, at)


def _consent_entries(consents, as_of) -> list[dict]:
    """Each consent about a moment up to `as_of` (captured or recorded by then)."""
    return [
        _entry("consent", consent_resource(c), c.captured_at, c.created_at, as_of)
        for c in consents
        if min(c.captured_at, c.created_at) <= as_of
    ]


def _suppression_as_of(suppression: Suppression, as_of: datetime) -> dict:
    """The suppression as it stood at `as_of`: a later removal is not known yet."""
    record = suppression_resource(suppression)
    if suppression.removed_at is None or suppression.removed_at > as_of:
        record.update(active=True, removed_at=None, removed_by=None, removal_reason=None)
    return record


def _suppression_entries(suppressions, as_of) -> list[dict]:
    """Each suppression created by `as_of`, and each removal made by then."""
    entries = []
    for s in suppressions:
        if s.created_at > as_of:
            continue
        record = _suppression_as_of(s, as_of)
        entries.append(_entry("suppression", record, s.created_at, s.created_at, as_of))
        if not record["active"]:
            entries.append(_entry("suppression_removed", record, s.removed_at, s.removed_at, as_of))
    return entries


def consent_in_force(consents, as_of: datetime) -> Consent | None:
    """The workspace-wide marketing grant the send gate relied on at `as_of`, or None.

    The gate reads the newest record *recorded* by then (`consent_latest`); a revocation wins.
    """
    known = [
        c
        for c in consents
        if c.created_at <= as_of and c.scope == "workspace" and c.category == "marketing"
    ]
    latest = max(known, key=lambda c: (c.created_at, c.id), default=None)
    return latest if latest is not None and latest.action == Consent.GRANT else None


def number_story(
    *, workspace_id: str, phone: str, as_of: datetime | None = None, test: bool = False
) -> dict:
    """The number's state at `as_of` (default now) and its history up to then, oldest first.

    Times in the entries are datetimes; `story_resource` renders them as the API does.
    """
    as_of = as_of or clock.now()
    consents = list(Consent.objects.for_workspace(workspace_id).filter(phone=phone))
    suppressions = list(Suppression.objects.for_workspace(workspace_id).filter(phone=phone))
    history = _consent_entries(consents, as_of) + _suppression_entries(suppressions, as_of)
    for reader in _KEYWORD_READERS:
        history += reader(workspace_id, phone, test, as_of)
    history.sort(key=lambda e: (e["at"], e["recorded_at"], CAUSE_FIRST[e["type"]], e["id"]))
    in_force = consent_in_force(consents, as_of)
    return {
        "phone": phone,
        "as_of": as_of,
        "marketing_consent": (
            _entry(
                "consent",
                consent_resource(in_force),
                in_force.captured_at,
                in_force.created_at,
                as_of,
            )
            if in_force
            else None
        ),
        "suppressions": [
            e
            for e in _suppression_entries(suppressions, as_of)
            if e["type"] == "suppression" and e["active"]
        ],
        "history": history,
    }


def _render(value):
    if isinstance(value, datetime):
        return clock.isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v) for v in value]
    return value


def story_resource(story: dict) -> dict:
    """The story as `GET /api/v1/numbers/{e164}` answers it (times ISO 8601 with `Z`)."""
    return _render(story)
