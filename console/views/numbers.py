"""The Number page (CONTRACT §12): one phone number's compliance story, its state `As of` any
moment, the messages sent and refused to it, and `Download evidence` (a `number` export through
the API's service). Every read is the API's: `compliance.numbers.number_story` and
`messaging.numbers`, each walking an index from the number, bounded."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from compliance.exports.files import FORMATS
from compliance.exports.services import export_create
from compliance.numbers import as_of_parse, number_parse, number_story
from messaging.numbers import messages_to, refusals_for
from workspaces import clock
from workspaces.api.base import client_ip
from workspaces.errors import TernError
from workspaces.services import member_actor

from ..access import MANAGER, console_page
from ..feedback import show_error, show_success

SEE = ("consents:read", "suppressions:read")  # the API's two scopes for GET /numbers/{e164}
SHOWN = 50  # messages and refusals listed: the newest, each list one index range
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a `datetime-local` input sends (seconds optional)
BAD_AS_OF = TernError(
    "validation_error",
    "`As of` is not a date and time.",
    details={"as_of": ["Pick a date and a time, e.g. 2026-03-01T12:00."]},
)


def _require_both(seat) -> None:
    """The page needs what the API needs: `consents:read` and `suppressions:read`."""
    for scope in SEE:
        seat.require(scope)


def as_of_local(raw: str | None) -> datetime:
    """A `datetime-local` value read in the workspace's zone (the current one); empty = now."""
    if not raw:
        return clock.now()
    for layout in (LOCAL_INPUT, LOCAL_INPUT + ":%S"):
        try:
            return timezone.make_aware(datetime.strptime(raw.strip(), layout))
        except ValueError:
            continue
    try:  # an ISO time or a bare date, as the API reads `as_of`, works here too
        return as_of_parse(raw)
    except TernError:
        raise BAD_AS_OF from None


def exports_url(slug: str) -> str:
    """The Exports page (console:exports), or its path until that page exists."""
    try:
        return reverse("console:exports", kwargs={"slug": slug})
    except NoReverseMatch:
        return f"/w/{slug}/exports/"


def _message_rows(seat, phone: str, as_of: datetime) -> list[dict]:
    """The newest messages to the number by `as_of`, each with its gate decisions."""
    rows = messages_to(seat.workspace_id, phone, seat.is_test, as_of)[:SHOWN]
    return [{"message": m, "gates": m.gate_events} for m in rows]


def _context(seat, phone: str, as_of: datetime) -> dict:
    story = number_story(
        workspace_id=seat.workspace_id, phone=phone, as_of=as_of, test=seat.is_test
    )
    history = story["history"]
    return {
        "phone": phone,
        "story": story,
        "as_of": as_of,
        "as_of_input": timezone.localtime(as_of).strftime(LOCAL_INPUT),
        "keywords": [e for e in history if e["type"] == "keyword_message"],
        "records": [e for e in history if e["type"] != "keyword_message"],
        "sent": _message_rows(seat, phone, as_of),
        "refusals": list(refusals_for(seat.workspace_id, phone, seat.is_test, as_of)[:SHOWN]),
        "shown": SHOWN,
        "can_export": seat.is_manager and seat.can("exports:create"),
        "formats": FORMATS,
    }


@console_page("consents:read")
def number_page(request, e164: str):
    """The number's history, its state as of the `As of` moment, its messages and refusals."""
    seat = request.seat
    _require_both(seat)
    try:
        phone = number_parse(e164, seat.workspace.default_country)
    except TernError as error:
        return render(request, "console/number.html", {"error": error, "raw": e164}, status=400)
    error = None
    try:
        as_of = as_of_local(request.GET.get("as_of"))
    except TernError as bad:
        error, as_of = bad, clock.now()
    context = _context(seat, phone, as_of)
    return render(request, "console/number.html", {**context, "error": error})


@console_page("consents:read", post=MANAGER)
@require_POST
def number_evidence(request, e164: str):
    """Create the number's evidence bundle (the API's export service), then show the Exports."""
    seat = request.seat
    _require_both(seat)
    if not seat.can("exports:create"):
        raise PermissionDenied("Your role may not create exports.")
    back = exports_url(seat.workspace.slug)
    try:
        phone = number_parse(e164, seat.workspace.default_country)
        export = export_create(
            workspace_id=seat.workspace_id,
            kind="number",
            format=request.POST.get("format") or "jsonl",
            phone=phone,
            as_of=as_of_local(request.POST.get("as_of")),
            actor=member_actor(seat.member),
            ip=client_ip(request),
        )
    except TernError as error:
        show_error(request, error)
        return redirect(request.path.removesuffix("evidence/"))
    show_success(request, f"Evidence bundle {export.id} for {phone} is being written.")
    return redirect(f"{back}?export={export.id}")  # the Exports page marks this row
