"""The fan-out: a campaign's whole audience judged at once by the send policy.

One query brings every contact of the audience with the policy's database verdicts on it
(`messaging.policy.audience_verdicts`: workspace and campaign suppressions, the consent that
decides); the policy's `Audience` then gives each recipient's other verdicts in CONTRACT §3's
order, while this module renders each body and prices it; the messages are written in bulk by
`campaigns.messages`. Nothing is sent from here, and no verdict is decided here but the
campaign's own `missing_merge_field`.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from messaging.models import Message
from messaging.policy import Audience, audience_verdicts
from messaging.policy.audience import AUDIENCE_TABLES
from messaging.pricing import price_for
from workspaces.clock import isoformat
from workspaces.ids import new_ids
from workspaces.models import Sender, Workspace

from .messages import CampaignMessage, aware_utc
from .models import Campaign, Contact
from .rendering import MissingMergeField, render

# Campaign-only, so not the policy's: a contact lacking a merge field the template needs.
MISSING_MERGE_FIELD = "missing_merge_field"

# Every contact of the audience, with the policy's database verdicts on it (suppressions, consent).
_AUDIENCE_SQL = """
SELECT c.id, c.phone, c.first_name, c.last_name, {attributes}, {verdicts}
FROM {contact} c {joins}
WHERE c.workspace_id = %(ws)s {tags}
ORDER BY c.id
"""

# `{"campaign_failed": "cmp_…"}` (Resend failed): the contacts whose message of that campaign of
# the same workspace failed or went undelivered, found through msg_campaign_status.
_FAILED_OF_CAMPAIGN = (
    "AND c.phone IN (SELECT m.to_number FROM {message} m WHERE m.campaign_id = %(source)s "
    "AND m.workspace_id = %(ws)s AND m.status IN ('failed', 'undelivered'))"
)


def _tags_clause(tags: list[str]) -> str:
    """`any of these tags`, in the dialect of the database (tags are a JSON list)."""
    if connection.vendor == "postgresql":
        return "AND c.tags ?| %(tags)s"
    return "AND EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value IN (SELECT value FROM json_each(%(tags)s)))"  # noqa: E501


def _source_clause(source: str) -> str:
    """The contacts a campaign failed, when the audience names one (else everyone)."""
    return _FAILED_OF_CAMPAIGN.format(message=Message._meta.db_table) if source else ""


# Fresh rows the planner has not seen: past this many, its statistics are refreshed first.
STALE_ROWS = 1000


def _refresh_statistics() -> None:
    """ANALYZE the audience's tables when many rows changed since the last ANALYZE (an import
    just before a launch): with a table it believes empty, PostgreSQL may probe the consents
    through the wrong index, once per contact, and the launch turns quadratic."""
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Contact, *AUDIENCE_TABLES)]
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
    source = campaign.audience.get("campaign_failed") or ""
    tags = [] if campaign.audience.get("all") else list(campaign.audience.get("tags") or [])
    verdicts = audience_verdicts(
        workspace_id=campaign.workspace_id, campaign_id=campaign.id, phone="c.phone"
    )
    sql = _AUDIENCE_SQL.format(
        contact=Contact._meta.db_table,
        attributes="c.attributes" if with_attributes else "NULL",
        verdicts=verdicts.columns,
        joins=verdicts.joins,
        tags=_tags_clause(tags) if tags else _source_clause(source),
    )
    params = {**verdicts.params, "source": source}
    if tags:
        params["tags"] = tags if connection.vendor == "postgresql" else json.dumps(tags)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            yield from batch


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
    """The policy's verdicts on each recipient, with what only a campaign adds: its merge fields
    (rendered between the recipient's verdicts and its body's, as a body exists only then) and
    its prices, remembered per country."""

    def __init__(self, campaign: Campaign, workspace: Workspace, sender: Sender):
        self.campaign, self.workspace = campaign, workspace
        self.policy = Audience(
            workspace=workspace, sender=sender, from_number=campaign.from_number, test=campaign.test
        )
        self.template = campaign.template.body if campaign.template_id else campaign.body
        self.rates: dict[str, Decimal] = {}

    def body(self, values: dict) -> tuple[str | None, object, str | None]:
        """(body, encoded, refusal code or None) for one recipient."""
        try:
            text = render(self.template, values)
        except MissingMergeField:
            return None, None, MISSING_MERGE_FIELD
        encoded, code = self.policy.body(text)
        return text, encoded, code

    def rate(self, country: str) -> Decimal:
        """The per-segment price to the country, asked once."""
        if country not in self.rates:
            self.rates[country] = price_for(
                workspace=self.workspace, country=country, segments=1, test=self.campaign.test
            )
        return self.rates[country]


def plan(campaign: Campaign, workspace: Workspace, sender: Sender) -> Plan:
    """Judge every contact of the campaign's audience; build the messages of those who pass."""
    judge, result, passed = _Judge(campaign, workspace, sender), Plan(), _PassedDetail(campaign)
    for contact_id, phone, first, last, attributes, skip, consent_id, method, at in _audience_rows(
        campaign, with_attributes="attributes." in judge.template
    ):
        result.recipients += 1
        country, code = judge.policy.recipient(phone, skip)
        if code is None:
            values = {
                "first_name": first,
                "last_name": last,
                "phone": phone,
                "attributes": _attributes(attributes),
            }
            text, encoded, code = judge.body(values)
        if code is not None:
            result.skips.append((contact_id, phone, code))
            continue
        price = judge.rate(country) * encoded.segments
        result.messages.append(
            CampaignMessage(
                id="",
                to=phone,
                body=text,
                segments=encoded.segments,
                encoding=encoded.encoding,
                price=price,
                passed=passed.text(country, consent_id, method, at),
            )
        )
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
        head = json.dumps(
            {"sender": campaign.from_number, "campaign": campaign.id, "suppression": "none active"}
        )
        self.head = head[:-1]
        self.times: dict = {}

    def text(self, country: str, consent_id: str, method: str, at) -> str:
        """The detail naming the country and the consent relied on."""
        if at not in self.times:
            self.times[at] = isoformat(aware_utc(at))
        return (
            f'{self.head}, "country": "{country}", "consent": {{"id": "{consent_id}", '
            f'"method": "{method}", "captured_at": "{self.times[at]}"}}}}'
        )


def _attributes(value) -> dict:
    """Contact attributes as stored (JSON text from a raw query; nothing when not selected)."""
    if isinstance(value, str):
        return json.loads(value or "{}")
    return value or {}
