"""Parity: a campaign's verdict on a recipient is the API's verdict on the same send.

Hypothesis draws the workspace's settings, a sender, a recipient with its suppressions, consents
and time zone, a body and the hour; the campaign's dry run (the fan-out: set-based, one query for
the whole audience) and the per-message policy that `POST /messages` runs must answer the same
catalogue code, or both accept. Each example runs in a savepoint rolled back at its end.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from campaigns.fanout import plan
from campaigns.models import Campaign, Contact
from campaigns.services.launch import campaign_dry_run
from compliance.models import Consent, Suppression
from messaging.policy import SendDraft, evaluate
from tests.support.factories import WorkspaceFactory, contacts_for, sender_for
from workspaces import clock
from workspaces.errors import TernError
from workspaces.models import Sender, Workspace
from workspaces.phones import to_e164

# Raw `to` values as an integrator types them: valid, national, magic simulator endings,
# landline-ish and toll-free, countries allowed by default and not, regions sharing a country
# code (+61 8 916x: AU, CC, CX; +39 06 69: IT, VA; +44: GB, GG), and invalid ones.
RECIPIENTS = (
    "+14155550100",
    "+14155550003",
    "+14155550005",
    "+14155550006",
    "+14155550007",
    "+14155550429",
    "+14155550500",
    "4155550123",
    "+16045550123",
    "+14165550123",
    "+18005550199",
    "+442079460123",
    "+447781123456",
    "+61412345678",
    "+61891600123",
    "+61891620123",
    "+61891640123",
    "+33612345678",
    "+390669812345",
    "+390669123456",
    "12",
    "+1555",
    "+15550100000",
    "hello",
    "+4479112345",
)
COUNTRIES = ("US", "CA", "GB", "AU", "FR", "CC", "CX", "IT", "VA", "GG")
# (number, kind, country) of the senders a campaign may name.
SENDERS = (
    ("+14155550199", Sender.LONG_CODE, "US"),
    ("+16045551234", Sender.LONG_CODE, "CA"),
    ("+442079460999", Sender.LONG_CODE, "GB"),
    ("+18885550125", Sender.TOLL_FREE, "US"),
    ("54321", Sender.SHORT_CODE, "US"),
    ("65432", Sender.SHORT_CODE, "GB"),
)
BODIES = (
    "Your code is 1234",
    "Sale! 20% off today",
    "Grüße — ¡hola! ✓",
    "Winter sale 🎉",
    "Get CANNABIS now",
    "a payday\nloan for you",
    "win big tonight",
    "this is FREE",
    "freedom",
    " ",
    "\n",
    "a" * 160,
    "a" * 161,
    "€" * 800,
    "b" * 1530,
    "c" * 1531,
    "é" * 670,
    "😀" * 336,
    "payday loan " * 140,
    "free " * 330,
)
SUPPRESSIONS = ("none", "workspace", "workspace_removed", "campaign", "other_campaign")
CONSENTS = (
    "none",
    "grant",
    "revoke",
    "grant_then_revoke",
    "revoke_then_grant",
    "campaign",
    "campaign_revoked",
    "revoke_and_campaign",
    "grant_and_campaign_revoked",
)
ZONES = ("", "America/New_York", "America/Chicago", "Europe/London", "Australia/Perth")
SENDER_CODES = {"sender_not_sms_capable", "toll_free_not_verified"}


@dataclass
class Case:
    """One send, as a campaign of one recipient and as an API request."""

    default_country: str
    allowed: list
    test_mode: bool
    test: bool
    verified: bool
    blocked_terms: list
    sender: tuple
    sender_state: str
    sms_capable: bool
    toll_free_verified: bool
    to_self: bool
    to: str
    suppression: str
    consent: str
    body: str
    timezone: str
    at: datetime


def _mostly(usual, *others, weight: int = 4):
    """`usual` about `weight` times as often as each of the others (a gate that refuses early
    would otherwise hide every later one)."""
    return st.sampled_from((usual,) * weight + others)


@st.composite
def cases(draw) -> Case:
    """A drawn send with everything that could decide its verdict."""
    countries = st.lists(st.sampled_from(COUNTRIES), min_size=1, unique=True)
    terms = st.lists(st.sampled_from(("", "free", "win  big", "URGENT", "sale")), max_size=3)
    # No merge fields, and no NUL: the API's parser refuses it, PostgreSQL cannot store it.
    text = st.text(st.characters(codec="utf-8", exclude_characters="\x00{"), max_size=200)
    return Case(
        default_country=draw(_mostly("US", "GB", weight=2)),
        allowed=draw(_mostly(list(COUNTRIES), ["US", "CA", "GB", "AU"], weight=2) | countries),
        test_mode=draw(_mostly(False, True, weight=6)),
        test=draw(_mostly(False, True, weight=6)),
        verified=draw(st.booleans()),
        blocked_terms=draw(terms),
        sender=draw(st.sampled_from(SENDERS)),
        sender_state=draw(_mostly("active", "removed", "none", weight=8)),
        sms_capable=draw(_mostly(True, False, weight=8)),
        toll_free_verified=draw(st.booleans()),
        to_self=draw(_mostly(False, True, weight=12)),
        to=draw(st.sampled_from(RECIPIENTS)),
        suppression=draw(_mostly("none", *SUPPRESSIONS[1:], weight=10)),
        consent=draw(_mostly("grant", *CONSENTS, weight=12)),
        body=draw(st.sampled_from(BODIES) | text),
        timezone=draw(st.sampled_from(ZONES)),
        at=datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 7 * 1440))),
    )


def _workspace(base: Workspace, case: Case, phone: str | None) -> Workspace:
    Workspace.objects.filter(pk=base.pk).update(
        default_country=case.default_country,
        allowed_countries=case.allowed,
        test_mode=case.test_mode,
        blocked_terms=case.blocked_terms,
        verified_recipients=[phone] if case.verified and phone else [],
    )
    return Workspace.objects.get(pk=base.pk)


def _sender(workspace: Workspace, case: Case, now) -> None:
    number, kind, country = case.sender
    if case.sender_state == "none":
        return
    Sender.objects.create(
        workspace=workspace,
        number=number,
        kind=kind,
        country=country,
        sms_capable=case.sms_capable,
        toll_free_verified=case.toll_free_verified,
        removed_at=now if case.sender_state == "removed" else None,
    )


def _compliance(workspace: Workspace, case: Case, phone: str, campaign: Campaign, now) -> None:
    scope, campaign_id = {
        "workspace": ("workspace", ""),
        "workspace_removed": ("workspace", ""),
        "campaign": ("campaign", campaign.pk),
        "other_campaign": ("campaign", "cmp_other"),
    }.get(case.suppression, (None, None))
    if scope:
        Suppression.objects.create(
            workspace=workspace,
            phone=phone,
            scope=scope,
            campaign_id=campaign_id,
            active=case.suppression != "workspace_removed",
            created_at=now,
        )
    records = {
        "none": [],
        "grant": [("workspace", "grant")],
        "revoke": [("workspace", "revoke")],
        "grant_then_revoke": [("workspace", "grant"), ("workspace", "revoke")],
        "revoke_then_grant": [("workspace", "revoke"), ("workspace", "grant")],
        "campaign": [(campaign.pk, "grant")],
        "campaign_revoked": [(campaign.pk, "grant"), (campaign.pk, "revoke")],
        "revoke_and_campaign": [("workspace", "revoke"), (campaign.pk, "grant")],
        "grant_and_campaign_revoked": [("workspace", "grant"), (campaign.pk, "revoke")],
    }[case.consent]
    for minutes, (consent_scope, action) in enumerate(records):
        at = now - timedelta(hours=1) + timedelta(minutes=minutes)
        Consent.objects.create(
            workspace=workspace,
            phone=phone,
            scope=consent_scope,
            action=action,
            method="web_form",
            captured_at=at,
            created_at=at,
        )


def api_verdict(workspace: Workspace, campaign: Campaign, to: str) -> str | None:
    """What the per-message policy (POST /messages' checks) answers for the campaign's send to
    this number, as a marketing message naming the campaign."""
    draft = SendDraft(
        workspace=workspace,
        test=campaign.test,
        to=to,
        from_=campaign.from_number,
        body=campaign.body,
        category="marketing",
        campaign_id=campaign.pk,
    )
    try:
        evaluate(draft)
    except TernError as error:
        return error.code
    return None


def campaign_verdict(campaign: Campaign) -> str | None:
    """What the campaign's dry run answers for its only recipient: a refusal of the whole
    campaign, the recipient's skip code, or None when it would be sent."""
    try:
        result = campaign_dry_run(campaign=campaign)
    except TernError as error:
        return error.code
    assert result["recipients"] == 1
    return next(iter(result["skipped"]), None)


def judge_both(base: Workspace, case: Case) -> None:
    """Set the case up, ask both paths, compare."""
    now = case.at
    to = case.sender[0] if case.to_self else case.to
    phone = to_e164(to, case.default_country)  # the contact door: API, console and imports
    workspace = _workspace(base, case, phone)
    _sender(workspace, case, now)
    campaign = Campaign.objects.create(
        workspace=workspace,
        test=case.test,
        name="parity",
        body=case.body,
        audience={"all": True},
        from_number=case.sender[0],
        created_at=now,
    )
    if phone is None:
        # No contact has an invalid number (refused at the door), so no campaign judges one.
        assert api_verdict(workspace, campaign, to) == "invalid_number", case
        event("verdict: invalid_number (at the contact door)")
        return
    Contact.objects.create(
        workspace=workspace, phone=phone, timezone=case.timezone, tags=["all"], created_at=now
    )
    _compliance(workspace, case, phone, campaign, now)
    api = api_verdict(workspace, campaign, to)
    verdict = campaign_verdict(campaign)
    event(f"verdict: {api}")
    if api == "same_to_from" and verdict in SENDER_CODES:
        return  # a campaign's sender is judged once, before its recipients
    assert verdict == api, (case, api, verdict)


@pytest.mark.django_db
def test_campaign_and_api_give_the_same_verdict():
    """For every drawn send, the fan-out's verdict is the per-message policy's."""
    base = WorkspaceFactory()

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases())
    def check(case: Case) -> None:
        with time_machine.travel(case.at, tick=False), transaction.atomic():
            judge_both(base, case)
            transaction.set_rollback(True)

    check()


# Numbers whose country code several regions share, told apart only by later digits.
SHARED_CODE_NUMBERS = (
    "+61891600123",  # AU
    "+61891620123",  # CC
    "+61891640123",  # CX
    "+390669123456",  # IT
    "+390669812345",  # VA
    "+442079460123",  # GB
    "+447781123456",  # GG
)


@pytest.mark.django_db
def test_regions_sharing_a_country_code_get_each_their_own_verdict():
    """A whole audience's countries are each the number's own, as the API reads them: a
    Cocos Islands number sharing its first digits with an Australian one is not Australian."""
    workspace = WorkspaceFactory()
    sender = sender_for(workspace)
    contacts_for(workspace, SHARED_CODE_NUMBERS)
    campaign = Campaign.objects.create(
        workspace=workspace,
        name="regions",
        body="hi",
        audience={"all": True},
        from_number=sender.number,
        created_at=clock.now(),
    )
    skips = {phone: code for _, phone, code in plan(campaign, workspace, sender).skips}
    for phone in SHARED_CODE_NUMBERS:
        expected = api_verdict(workspace, campaign, phone)
        assert skips.get(phone) == expected, phone
