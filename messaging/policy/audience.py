"""A whole audience judged at once: the same verdicts as `checks`, set-based.

The database decides suppressions and consent for every recipient in one statement (the fan-out
puts `AudienceVerdicts` into its query over the audience); the verdicts that need no database run
in Python per recipient through `rules`, remembered per distinct value (a country, a body), so
100,000 recipients cost one query and a few dictionary lookups each. A verdict here must always
be the one `checks.evaluate` gives the same send alone (tests/messaging/test_policy_parity.py).
"""

from dataclasses import dataclass

import phonenumbers

from compliance.models import Consent, Suppression
from workspaces.models import Sender, Workspace
from workspaces.phones import country_of
from workspaces.selectors import sender_get_active

from ..encoding import EncodedBody, encode_body
from . import rules
from .rules import CAMPAIGN_SUPPRESSED, CONSENT_REQUIRED, WORKSPACE_SUPPRESSED

# Suppressions, then consent, in CONTRACT §3's order, as `compliance.selectors` decide them for
# one number: a workspace-wide revocation wins; else a workspace grant, or a grant for this
# campaign (`marketing_consent`). The consent relied on is kept as the send's proof.
_VERDICT_COLUMNS = """
  CASE
    WHEN EXISTS (SELECT 1 FROM {suppression} s WHERE s.workspace_id = %(ws)s
                 AND s.phone = {phone} AND s.active = %(yes)s AND s.scope = 'workspace')
      THEN '{workspace_suppressed}'
    WHEN EXISTS (SELECT 1 FROM {suppression} s WHERE s.workspace_id = %(ws)s
                 AND s.phone = {phone} AND s.active = %(yes)s AND s.scope = 'campaign'
                 AND s.campaign_id = %(cmp)s)
      THEN '{campaign_suppressed}'
    WHEN wc.action = 'grant' THEN NULL
    WHEN wc.id IS NULL AND cc.action = 'grant' THEN NULL
    ELSE '{consent_required}'
  END AS skip,
  CASE WHEN wc.action = 'grant' THEN wc.id ELSE cc.id END AS consent_id,
  CASE WHEN wc.action = 'grant' THEN wc.method ELSE cc.method END AS consent_method,
  CASE WHEN wc.action = 'grant' THEN wc.captured_at ELSE cc.captured_at END AS consent_at"""
_VERDICT_JOINS = """
LEFT JOIN {consent} wc ON wc.id = ({latest_workspace})
LEFT JOIN {consent} cc ON cc.id = ({latest_campaign})"""
# The newest marketing consent record of the phone in a scope: one probe of the
# `consent_latest` index per recipient (a join against "latest per phone" computed for the whole
# table would make the planner guess, and a bad guess is a nested loop over both).
_LATEST_CONSENT = """SELECT k.id FROM {consent} k WHERE k.workspace_id = %(ws)s
  AND k.phone = {phone} AND k.scope = {scope} AND k.category = 'marketing'
  ORDER BY k.created_at DESC, k.id DESC LIMIT 1"""
# The tables these verdicts read (their planner statistics matter to the audience's query).
AUDIENCE_TABLES = (Consent, Suppression)


@dataclass(frozen=True)
class AudienceVerdicts:
    """SQL for a query over an audience: `columns` (skip code or NULL, then the consent relied
    on: id, method, captured_at) and the `joins` they need, with their `params` (`ws`, `cmp`,
    `yes`; the query may use `%(ws)s` too)."""

    columns: str
    joins: str
    params: dict


def audience_verdicts(*, workspace_id: str, campaign_id: str, phone: str) -> AudienceVerdicts:
    """The database's verdicts on every row of a query whose phone column is `phone`."""
    consent, suppression = Consent._meta.db_table, Suppression._meta.db_table
    joins = _VERDICT_JOINS.format(
        consent=consent,
        latest_workspace=_LATEST_CONSENT.format(consent=consent, phone=phone, scope="'workspace'"),
        latest_campaign=_LATEST_CONSENT.format(consent=consent, phone=phone, scope="%(cmp)s"),
    )
    return AudienceVerdicts(
        columns=_VERDICT_COLUMNS.format(
            suppression=suppression,
            phone=phone,
            workspace_suppressed=WORKSPACE_SUPPRESSED,
            campaign_suppressed=CAMPAIGN_SUPPRESSED,
            consent_required=CONSENT_REQUIRED,
        ),
        joins=joins,
        params={"ws": workspace_id, "cmp": campaign_id, "yes": True},
    )


def campaign_sender(*, workspace: Workspace, number: str) -> Sender:
    """The campaign's sender, able to send, or `sender_not_sms_capable` / `toll_free_not_verified`
    for the whole campaign: judged once, before any recipient (a single send judges its `to`'s
    `invalid_number` and `same_to_from` first)."""
    sender = sender_get_active(workspace=workspace, number=number)
    refusal = rules.sender_unable(sender, number) or rules.toll_free_unverified(sender, number)
    if refusal is not None:
        raise refusal.error()
    return sender


_COUNTRY_BY_PREFIX: dict[str, str] = {}
# Country codes shared by several regions: there the region may hang on any digit of the
# number (+61 8 9162 is CC, +61 8 9160 AU), except in the NANP (+1), where the area code, inside
# the prefix, decides it. (+39 keeps its national leading zero: it is parsed the long way.)
_SHARED_CODES = {
    f"+{code}": code
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    if len(regions) > 1 and code not in (1, 39)
}


def _shared_code(phone: str) -> int | None:
    return (
        _SHARED_CODES.get(phone[:2]) or _SHARED_CODES.get(phone[:3]) or _SHARED_CODES.get(phone[:4])
    )


def country_fast(phone: str) -> str | None:
    """The country of a stored (E.164, validated on entry) number: once per leading-digits prefix
    where the prefix decides it (country and area code), else from the whole number."""
    code = _shared_code(phone)
    if code is not None and phone[len(str(code)) + 1 :].isdigit():
        # Built, not parsed: a third of the cost, for numbers parsed one by one.
        national = int(phone[len(str(code)) + 1 :])
        number = phonenumbers.PhoneNumber(country_code=code, national_number=national)
        return phonenumbers.region_code_for_number(number)
    if phone.startswith("+39"):
        return country_of(phone)
    prefix = phone[:7]
    country = _COUNTRY_BY_PREFIX.get(prefix)
    if country is None:
        country = country_of(phone)
        if len(_COUNTRY_BY_PREFIX) > 50_000:
            _COUNTRY_BY_PREFIX.clear()
        if country is not None:  # no country is the number's own fault, not its prefix's
            _COUNTRY_BY_PREFIX[prefix] = country
    return country


class Audience:
    """Per-recipient verdicts of one campaign that need no database, in CONTRACT §3's order."""

    def __init__(self, *, workspace: Workspace, sender: Sender, from_number: str, test: bool):
        self.workspace, self.sender, self.sent_from = workspace, sender, from_number
        self.test = test
        self.regions: dict[str, str | None] = {}
        self.bodies: dict[str, tuple[EncodedBody, str | None]] = {}

    def recipient(self, phone: str, database: str | None) -> tuple[str | None, str | None]:
        """(country, refusal code or None) for one recipient, given the database's verdict on it
        (`skip` of `AudienceVerdicts`, which §3 puts after these); its body's come in `body`."""
        country = country_fast(phone)
        return country, self._number_code(phone, country) or database

    def _number_code(self, phone: str, country: str | None) -> str | None:
        """invalid_number, same_to_from, unsupported_region, recipient_not_verified."""
        refusal = rules.invalid_number(phone, country) or rules.same_to_from(phone, self.sent_from)
        if refusal is None:
            if country not in self.regions:  # the region's verdict hangs on the country alone
                region = rules.region_refused(country, self.sender, self.workspace)
                self.regions[country] = region and region.code
            if self.regions[country]:
                return self.regions[country]
            refusal = rules.recipient_unverified(phone, test=self.test, workspace=self.workspace)
        return refusal and refusal.code

    def body(self, text: str) -> tuple[EncodedBody, str | None]:
        """(encoded, refusal code or None) for one rendered body, remembered per distinct body."""
        if text not in self.bodies:
            encoded = encode_body(text)
            refusal = rules.content_blocked(text, self.workspace) or rules.too_long(encoded)
            self.bodies[text] = (encoded, refusal and refusal.code)
        return self.bodies[text]
