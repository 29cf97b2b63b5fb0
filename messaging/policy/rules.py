"""CONTRACT §3's verdicts that need no database, as pure functions over plain values.

Each returns None or the refusal (a `Refusal`, not raised): the per-message checks raise it, the
fan-out keeps its code as a recipient's skip. Both paths ask the same function, so a verdict is
written once.
"""

import re
from functools import lru_cache
from typing import NamedTuple

from workspaces.errors import TernError
from workspaces.models import Sender, Workspace

from ..encoding import EncodedBody

# The verdicts the database decides: for one number in `checks` (compliance's selectors), for a
# whole audience at once in `audience` (one SQL statement).
WORKSPACE_SUPPRESSED = "workspace_suppressed"
CAMPAIGN_SUPPRESSED = "campaign_suppressed"
CONSENT_REQUIRED = "consent_required"

MAX_SEGMENTS = 10
# The platform's own list; workspaces add theirs in `blocked_terms`.
PLATFORM_BLOCKED_TERMS = (
    "cannabis",
    "marijuana",
    "payday loan",
    "sweepstakes winner",
    "guaranteed winnings",
)


class Refusal(NamedTuple):
    """A verdict against a send: its catalogue code, and what the error envelope says."""

    code: str
    details: dict
    message: str | None = None

    def error(self) -> TernError:
        """The refusal as the error the API answers with."""
        return TernError(self.code, self.message, details=self.details)


def invalid_number(raw: str, parsed: str | None) -> Refusal | None:
    """`to` must be a valid number: `parsed` (its E.164, or its country) is None when it is not."""
    if parsed is None:
        return Refusal("invalid_number", {"to": raw})
    return None


def same_to_from(to: str, from_: str) -> Refusal | None:
    """A sender cannot text itself."""
    if to == from_:
        return Refusal("same_to_from", {"to": to, "from": from_})
    return None


def sender_unable(sender: Sender | None, number: str) -> Refusal | None:
    """`from` must be one of the workspace's active, SMS-capable senders."""
    if sender is None or not sender.sms_capable:
        return Refusal("sender_not_sms_capable", {"from": number})
    return None


def toll_free_unverified(sender: Sender, number: str) -> Refusal | None:
    """Toll-free numbers send only once verified."""
    if sender.kind == Sender.TOLL_FREE and not sender.toll_free_verified:
        return Refusal("toll_free_not_verified", {"from": number})
    return None


def region_refused(country: str, sender: Sender, workspace: Workspace) -> Refusal | None:
    """The destination must be allowed, and short codes stay in their own country."""
    if country not in workspace.allowed_countries:
        details = {"country": country, "allowed": workspace.allowed_countries}
        return Refusal("unsupported_region", details)
    if sender.kind == Sender.SHORT_CODE and sender.country != country:
        details = {"country": country, "sender_country": sender.country}
        message = "Short codes send only within their own country."
        return Refusal("unsupported_region", details, message)
    return None


def recipient_unverified(to: str, *, test: bool, workspace: Workspace) -> Refusal | None:
    """Test tokens (and campaigns) and test-mode workspaces send only to verified recipients."""
    if (test or workspace.test_mode) and to not in workspace.verified_recipients:
        return Refusal("recipient_not_verified", {"to": to})
    return None


@lru_cache(maxsize=256)  # one per distinct term list; bounded, as workspaces edit theirs
def _term_pattern(terms: tuple[str, ...]) -> re.Pattern:
    # Any run of whitespace between a term's words matches, so "payday\nloan" cannot slip by.
    escaped = sorted((r"\s+".join(map(re.escape, t.split())) for t in terms), key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(escaped) + r")(?!\w)", re.IGNORECASE)


def _normal_term(term: str) -> str:
    return " ".join(str(term).lower().split())


def blocked_terms_in(body: str, workspace_terms: list[str]) -> list[str]:
    """The blocked terms (platform + workspace) in the body: whole words, any case."""
    # An empty term (possible through the admin) would match between any two non-word characters.
    workspace = {_normal_term(t) for t in workspace_terms} - {""}
    terms = tuple(sorted({*PLATFORM_BLOCKED_TERMS, *workspace}))
    return sorted({_normal_term(m) for m in _term_pattern(terms).findall(body)})


def content_blocked(body: str, workspace: Workspace) -> Refusal | None:
    """No blocked term may appear in the body."""
    found = blocked_terms_in(body, workspace.blocked_terms)
    if found:
        return Refusal("content_blocked", {"terms": found})
    return None


def too_long(encoded: EncodedBody) -> Refusal | None:
    """At most 10 segments."""
    if encoded.segments > MAX_SEGMENTS:
        details = {
            "segments": encoded.segments,
            "max_segments": MAX_SEGMENTS,
            "encoding": encoded.encoding,
        }
        return Refusal("message_too_long", details)
    return None
