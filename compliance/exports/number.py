"""The `number` export kind: one phone number's evidence bundle (CONTRACT §9), the file a lawyer
asks for when a TCPA letter arrives.

Every line (JSON Lines) or row (CSV) has the same columns: `section`, `id`, `type`, `at`,
`recorded_at`, `recorded_later`, `record` (the record itself, as JSON in a CSV cell). The
sections, in order:

- `manifest` / `manifest_start`: what the file is: kind, filters (phone, as_of), who asked,
  when, the audit chain head it was made against; the same manifest as the export's own, less
  what only the finished file can know (its rows and sha256, kept on the export);
- `state`: the consent in force at `as_of` (`marketing_consent`, a null record when none) and
  each suppression active then;
- `history`: the number's consent and suppression records and keyword messages, oldest first,
  exactly as `GET /api/v1/numbers/{e164}?as_of=` gives them;
- the sections messaging adds: `message` (each message sent to it, with its whole timeline and
  the gate decisions in it) and `refusal` (each send refused for it; `type` is the gate's code);
- `manifest` / `manifest_end`: the manifest again with `rows`, the number of rows between.

The first and last rows are the manifest in both formats, so a CSV reader finds it without a
second file; the file's sha256 is kept on the export (a file cannot hold its own hash).
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from workspaces import clock
from workspaces.hooks import Hooks

from ..models import Export
from ..numbers import number_story
from .kinds import register_export_kind

FIELDS = ["section", "id", "type", "at", "recorded_at", "recorded_later", "record"]

# Messaging adds its sections here: `section(workspace_id, phone, as_of) -> rows`.
_SECTIONS = Hooks("number export sections")


def register_number_section(section: Callable[[str, str, datetime], Iterator[dict]]) -> None:
    """Offer more rows for a number's evidence bundle (MessagingConfig.ready() plugs in)."""
    _SECTIONS.register(section)


def row(
    section: str, record: dict | None, *, id="", type="", at=None, recorded_at=None, later=False
):
    """One row of the bundle."""
    return {
        "section": section,
        "id": id,
        "type": type,
        "at": at,
        "recorded_at": recorded_at,
        "recorded_later": later,
        "record": record,
    }


def export_as_of(export: Export) -> datetime:
    """The moment a number export reads the story at (kept in its filters)."""
    return datetime.fromisoformat(export.filters["as_of"].replace("Z", "+00:00")).astimezone(UTC)


def bundle_manifest(export: Export, head: dict) -> dict:
    """The manifest written inside the file."""
    return {
        "export": export.id,
        "workspace": export.workspace_id,
        "kind": export.kind,
        "format": export.format,
        "fields": FIELDS,
        "filters": dict(export.filters),
        "created_by": export.created_by,
        "created_at": clock.isoformat(export.created_at),
        "generated_at": clock.isoformat(clock.now()),
        "audit_chain_head": head,
    }


def _story_rows(story: dict) -> Iterator[dict]:
    consent = story["marketing_consent"]
    yield row("state", consent, id=consent["id"] if consent else "", type="marketing_consent")
    for s in story["suppressions"]:
        yield row("state", s, id=s["id"], type="suppression", at=s["at"], recorded_at=s["at"])
    for e in story["history"]:
        yield row(
            "history",
            e,
            id=e["id"],
            type=e["type"],
            at=e["at"],
            recorded_at=e["recorded_at"],
            later=e["recorded_later"],
        )


def number_rows(export: Export, head: dict) -> Iterator[dict]:
    """The bundle: manifest, state, history, messaging's sections, manifest again with rows."""
    phone, as_of = export.filters["phone"], export_as_of(export)
    manifest = bundle_manifest(export, head)
    yield row("manifest", manifest, id=export.id, type="manifest_start")
    count = 0
    story = number_story(workspace_id=export.workspace_id, phone=phone, as_of=as_of)
    for section in (_story_rows(story), *(s(export.workspace_id, phone, as_of) for s in _SECTIONS)):
        for item in section:
            count += 1
            yield item
    yield row("manifest", {**manifest, "rows": count}, id=export.id, type="manifest_end")


register_export_kind("number", fields=FIELDS, rows=number_rows, bundle=True)
