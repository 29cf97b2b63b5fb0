"""One send judged alone: CONTRACT §3's ordered checks; the first failure is the answer.

Checks that need no lock run here, before the send's transaction; `duplicate_message` and
`spend_limit_exceeded` are decided atomically inside it (services.message_send). The verdicts
themselves are `rules` (pure) and, for suppressions and consent, compliance's selectors, whose
set-based twins over a whole audience are in `audience`.
"""

from dataclasses import dataclass, field

from compliance import selectors as compliance
from workspaces.errors import TernError
from workspaces.models import Sender, Workspace
from workspaces.phones import country_of, to_e164
from workspaces.selectors import sender_get_active

from ..encoding import EncodedBody, encode_body
from . import rules
from .rules import CAMPAIGN_SUPPRESSED, CONSENT_REQUIRED, WORKSPACE_SUPPRESSED, Refusal


class Lookups:
    """What the checks ask the database; a batch asks each question once for all its items."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._senders: dict[str, Sender | None] = {}
        self._suppressed: set[str] | None = None

    def sender(self, number: str) -> Sender | None:
        """The workspace's active sender with this number (remembered per number)."""
        if number not in self._senders:
            self._senders[number] = sender_get_active(workspace=self.workspace, number=number)
        return self._senders[number]

    def preload_suppressions(self, phones: set[str]) -> None:
        """Fetch the workspace suppressions of all these numbers in one query."""
        self._suppressed = compliance.workspace_suppressed_among(
            workspace_id=self.workspace.pk, phones=phones
        )

    def workspace_suppressed(self, phone: str) -> bool:
        """True when the number has an active workspace-wide suppression."""
        if self._suppressed is not None:
            return phone in self._suppressed
        return compliance.is_workspace_suppressed(workspace_id=self.workspace.pk, phone=phone)


@dataclass
class SendDraft:
    """A send request as it passes the checks, gathering what each check learns."""

    workspace: Workspace
    test: bool
    to: str
    from_: str | None
    body: str
    category: str = "transactional"
    campaign_id: str = ""
    sender: Sender | None = None
    country: str = ""
    encoded: EncodedBody | None = None
    relied_on: dict = field(default_factory=dict)
    lookups: Lookups | None = None


def _is_short_code(number: str) -> bool:
    return number.isdigit() and 3 <= len(number) <= 8


def check_from(d: SendDraft) -> None:
    """`from`, else the default sender, must be given (validation: it precedes every other check).

    A long code given in national format is read in the workspace's default country, as `to` is,
    so that it matches the E.164 sender (and `same_to_from` compares like with like).
    """
    d.from_ = d.from_ or d.workspace.default_sender
    if not d.from_:
        raise TernError(
            "validation_error",
            "No `from` given and no default sender is set.",
            details={"from": ["This field is required (no default sender is set)."]},
        )
    if not _is_short_code(d.from_):
        d.from_ = to_e164(d.from_, d.workspace.default_country) or d.from_


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise refusal.error()


def check_number(d: SendDraft) -> None:
    """`to` must be a valid number once the workspace's default country is applied."""
    number = to_e164(d.to, d.workspace.default_country)
    _refuse(rules.invalid_number(d.to, number))
    d.to, d.country = number, country_of(number)


def check_same_to_from(d: SendDraft) -> None:
    """A sender cannot text itself."""
    _refuse(rules.same_to_from(d.to, d.from_))


def check_sender(d: SendDraft) -> None:
    """`from` must be one of this workspace's SMS-capable senders."""
    d.sender = d.lookups.sender(d.from_)
    _refuse(rules.sender_unable(d.sender, d.from_))


def check_toll_free(d: SendDraft) -> None:
    """Toll-free numbers send only once verified."""
    _refuse(rules.toll_free_unverified(d.sender, d.from_))


def check_region(d: SendDraft) -> None:
    """The destination must be allowed, and short codes stay in their own country."""
    _refuse(rules.region_refused(d.country, d.sender, d.workspace))


def check_verified_recipient(d: SendDraft) -> None:
    """Test tokens and test-mode workspaces send only to verified recipients."""
    _refuse(rules.recipient_unverified(d.to, test=d.test, workspace=d.workspace))


def check_workspace_suppression(d: SendDraft) -> None:
    """An opted-out or suppressed number is never messaged."""
    if d.lookups.workspace_suppressed(d.to):
        raise TernError(WORKSPACE_SUPPRESSED, details={"to": d.to})
    d.relied_on["suppression"] = "none active"


def check_campaign_suppression(d: SendDraft) -> None:
    """A number that opted out of this campaign gets none of its messages."""
    if compliance.is_campaign_suppressed(
        workspace_id=d.workspace.pk, phone=d.to, campaign_id=d.campaign_id
    ):
        raise TernError(CAMPAIGN_SUPPRESSED, details={"to": d.to, "campaign": d.campaign_id})


def check_consent(d: SendDraft) -> None:
    """Marketing needs the recipient's active marketing consent; the record is kept as proof."""
    if d.category != "marketing":
        return
    consent = compliance.marketing_consent(
        workspace_id=d.workspace.pk, phone=d.to, campaign_id=d.campaign_id
    )
    if consent is None:
        raise TernError(CONSENT_REQUIRED, details={"to": d.to})
    d.relied_on["consent"] = {
        "id": consent.id,
        "method": consent.method,
        "captured_at": consent.captured_at,
    }


def check_content(d: SendDraft) -> None:
    """No blocked term may appear in the body."""
    _refuse(rules.content_blocked(d.body, d.workspace))


def check_length(d: SendDraft) -> None:
    """At most 10 segments."""
    d.encoded = encode_body(d.body)
    _refuse(rules.too_long(d.encoded))


CHECKS = [
    check_from,
    check_number,
    check_same_to_from,
    check_sender,
    check_toll_free,
    check_region,
    check_verified_recipient,
    check_workspace_suppression,
    check_campaign_suppression,
    check_consent,
    check_content,
    check_length,
]


def evaluate(draft: SendDraft) -> SendDraft:
    """Run every check in order; raises the first failure, returns the enriched draft."""
    draft.lookups = draft.lookups or Lookups(draft.workspace)
    for check in CHECKS:
        check(draft)
    return draft
