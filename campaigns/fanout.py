"""The fan-out: a campaign's whole audience judged at once, in CONTRACT §3's order.

One query brings every contact of the audience with the database's verdict on what needs the
other tables (workspace and campaign suppressions, the consent that decides); Python then renders
each body and prices it, remembering every distinct body's content and length verdicts, and the
messages are written in bulk by `messaging.campaign_messages`. Nothing is sent from here.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from compliance.models import Consent, Suppression
from messaging.encoding import encode_body
from messaging.policy import MAX_SEGMENTS, blocked_terms_in
from messaging.pricing import price_for
from workspaces.clock import isoformat
from workspaces.ids import new_ids
from workspaces.models import Sender, Workspace
from workspaces.phones import country_of

from .messages import CampaignMessage, aware_utc
from .models import Campaign, Contact
from .rendering import MissingMergeField, render

# What the database decides for the whole audience in one pass: suppressions, then consent
# (a workspace-wide revocation wins; else a workspace grant, or a grant for this campaign).
_AUDIENCE_SQL = """
SELECT c.id, c.phone, c.first_name, c.last_name, {attributes},
  CASE
    WHEN EXISTS (SELECT 1 FROM {suppression} s WHERE s.workspace_id = %(ws)s
                 AND s.phone = c.phone AND s.active = %(yes)s AND s.scope = 'workspace')
      THEN 'workspace_suppressed'
    WHEN EXISTS (SELECT 1 FROM {suppression} s WHERE s.workspace_id = %(ws)s
                 AND s.phone = c.phone AND s.active = %(yes)s AND s.scope = 'campaign'
                 AND s.campaign_id = %(cmp)s)
      THEN 'campaign_suppressed'
    WHEN wc.action = 'grant' THEN NULL
    WHEN wc.id IS NULL AND cc.action = 'grant' THEN NULL
    ELSE 'consent_required'
  END AS skip,
  CASE WHEN wc.action = 'grant' THEN wc.id ELSE cc.id END AS consent_id,
  CASE WHEN wc.action = 'grant' THEN wc.method ELSE cc.method END AS consent_method,
  CASE WHEN wc.action = 'grant' THEN wc.captured_at ELSE cc.captured_at END AS consent_at
FROM {contact} c
LEFT JOIN {consent} wc ON wc.id = ({latest_workspace})
LEFT JOIN {consent} cc ON cc.id = ({latest_campaign})
WHERE c.workspace_id = %(ws)s {tags}
ORDER BY c.id
"""
# The newest marketing consent record of the contact's phone in a scope: one probe of the
# `consent_latest` index per contact (a join against "latest per phone" computed for the whole
# table would make the planner guess, and a bad guess is a nested loop over both).
_LATEST_CONSENT = """SELECT k.id FROM {consent} k WHERE k.workspace_id = %(ws)s
  AND k.phone = c.phone AND k.scope = {scope} AND k.category = 'marketing'
  ORDER BY k.created_at DESC, k.id DESC LIMIT 1"""


def _tags_clause(tags: list[str]) -> str:
    """`any of these tags`, in the dialect of the database (tags are a JSON list)."""
    if connection.vendor == "postgresql":
        return "AND c.tags ?| %(tags)s"
    return "AND EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value IN (SELECT value FROM json_each(%(tags)s)))"  # noqa: E501


# Fresh rows the planner has not seen: past this many, its statistics are refreshed first.
STALE_ROWS = 1000


def _refresh_statistics() -> None:
    """ANALYZE the audience's tables when many rows changed since the last ANALYZE (an import
    just before a launch): with a table it believes empty, PostgreSQL may probe the consents
    through the wrong index, once per contact, and the launch turns quadratic."""
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Contact, Consent, Suppression)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
            "AND n_mod_since_analyze > GREATEST(%s, n_live_tup / 10)",
            [tables, STALE_ROWS],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _audience_rows(campaign: Campaign, *, with_attributes: bool = True):
    """Every contact of the audience with the database's verdict, in a stable order."""
    _refresh_statistics()
    tags = [] if campaign.audience.get("all") else list(campaign.audience.get("tags") or [])
    consent = Consent._meta.db_table
    sql = _AUDIENCE_SQL.format(
        consent=consent,
        suppression=Suppression._meta.db_table,
        contact=Contact._meta.db_table,
        attributes="c.attributes" if with_attributes else "NULL",
        latest_workspace=_LATEST_CONSENT.format(consent=consent, scope="'workspace'"),
        latest_campaign=_LATEST_CONSENT.format(consent=consent, scope="%(cmp)s"),
        tags=_tags_clause(tags) if tags else "",
    )
    params = {"ws": campaign.workspace_id, "cmp": campaign.id, "yes": True}
    if tags:
        params["tags"] = tags if connection.vendor == "postgresql" else json.dumps(tags)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            yield from batch


_COUNTRY_BY_PREFIX: dict[str, str | None] = {}


def country_fast(phone: str) -> str | None:
    """The number's country, parsed once per leading-digits prefix (country and area code: the
    region never depends on the digits after them)."""
    prefix = phone[:7]
    if prefix not in _COUNTRY_BY_PREFIX:
        if len(_COUNTRY_BY_PREFIX) > 50_000:
            _COUNTRY_BY_PREFIX.clear()
        _COUNTRY_BY_PREFIX[prefix] = country_of(phone)
    return _COUNTRY_BY_PREFIX[prefix]


@dataclass
class Plan:
    """What a launch would do: the messages, and everyone skipped with the code why."""

    messages: list[CampaignMessage] = field(default_factory=list)
    skips: list[tuple[str, str, str]] = field(default_factory=list)  # contact, phone, code
    recipients: int = 0
    segments: int = 0
    cost: Decimal = Decimal(0)

    @property
    def skipped(self) -> dict[str, int]:
        """Code → how many contacts it skipped."""
        return dict(Counter(code for _, _, code in self.skips))


class _Judge:
    """Per-recipient verdicts that do not need the database, remembered per distinct value."""

    def __init__(self, campaign: Campaign, workspace: Workspace, sender: Sender | None):
        self.campaign, self.workspace, self.sender = campaign, workspace, sender
        self.template = campaign.template.body if campaign.template_id else campaign.body
        self.verify = campaign.test or workspace.test_mode
        self.bodies: dict[str, tuple] = {}
        self.rates: dict[str, Decimal] = {}

    def region(self, phone: str) -> tuple[str | None, str | None]:
        """(country, refusal code or None)."""
        if phone == self.campaign.from_number:
            return None, "same_to_from"
        country = country_fast(phone)
        if country is None:
            return None, "invalid_number"
        if country not in self.workspace.allowed_countries:
            return country, "unsupported_region"
        sender = self.sender
        if sender and sender.kind == Sender.SHORT_CODE and sender.country != country:
            return country, "unsupported_region"
        if self.verify and phone not in self.workspace.verified_recipients:
            return country, "recipient_not_verified"
        return country, None

    def body(self, values: dict) -> tuple[str | None, object, str | None]:
        """(body, encoded, refusal code or None) for one recipient."""
        try:
            text = render(self.template, values)
        except MissingMergeField:
            return None, None, "missing_merge_field"
        if text not in self.bodies:
            encoded = encode_body(text)
            code = None
            if blocked_terms_in(text, self.workspace.blocked_terms):
                code = "content_blocked"
            elif encoded.segments > MAX_SEGMENTS:
                code = "message_too_long"
            self.bodies[text] = (encoded, code)
        encoded, code = self.bodies[text]
        return text, encoded, code

    def rate(self, country: str) -> Decimal:
        """The per-segment price to the country, asked once."""
        if country not in self.rates:
            self.rates[country] = price_for(workspace=self.workspace, country=country,
                                            segments=1, test=self.campaign.test)  # fmt: skip
        return self.rates[country]


def plan(campaign: Campaign, workspace: Workspace, sender: Sender | None) -> Plan:
    """Judge every contact of the campaign's audience; build the messages of those who pass."""
    judge, result, passed = _Judge(campaign, workspace, sender), Plan(), _PassedDetail(campaign)
    for contact_id, phone, first, last, attributes, skip, consent_id, method, at in _audience_rows(
        campaign, with_attributes="attributes." in judge.template
    ):
        result.recipients += 1
        country, code = judge.region(phone)
        code = code or skip
        if code is None:
            values = {"first_name": first, "last_name": last, "phone": phone,
                      "attributes": _attributes(attributes)}  # fmt: skip
            text, encoded, code = judge.body(values)
        if code is not None:
            result.skips.append((contact_id, phone, code))
            continue
        price = judge.rate(country) * encoded.segments
        result.messages.append(
            CampaignMessage(id="", to=phone, body=text, segments=encoded.segments,
                            encoding=encoded.encoding, price=price,
                            passed=passed.text(country, consent_id, method, at))
        )  # fmt: skip
        result.segments += encoded.segments
        result.cost += price
    for message, message_id in zip(
        result.messages, new_ids("msg", len(result.messages)), strict=True
    ):
        message.id = message_id
    return result


class _PassedDetail:
    """A message's policy_passed detail as JSON text, built from parts that need no escaping
    (ids, a method from a fixed list, ISO times, country codes): 100,000 json.dumps calls cost
    more than the rest of the plan."""

    def __init__(self, campaign: Campaign):
        head = json.dumps({"sender": campaign.from_number, "campaign": campaign.id,
                           "suppression": "none active"})  # fmt: skip
        self.head = head[:-1]
        self.times: dict = {}

    def text(self, country: str, consent_id: str, method: str, at) -> str:
        """The detail naming the country and the consent relied on."""
        if at not in self.times:
            self.times[at] = isoformat(aware_utc(at))
        return (f'{self.head}, "country": "{country}", "consent": {{"id": "{consent_id}", '
                f'"method": "{method}", "captured_at": "{self.times[at]}"}}}}')  # fmt: skip


def _attributes(value) -> dict:
    """Contact attributes as stored (JSON text from a raw query; nothing when not selected)."""
    if isinstance(value, str):
        return json.loads(value or "{}")
    return value or {}
