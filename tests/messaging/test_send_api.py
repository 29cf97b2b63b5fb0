"""POST /api/v1/messages: the resource, every send code in CONTRACT §3's order, detail, cancel."""

import csv
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from compliance.services import suppression_create
from messaging.models import Message, Status
from workspaces.audit import Actor
from workspaces.models import Sender, Workspace
from workspaces.services import member_actor, sender_create

from ..support.factories import member, message_for, next_number

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DROP = object()  # a field left out of the request
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
MESSAGE_FIELDS = {
    "id",
    "direction",
    "status",
    "to",
    "from",
    "body",
    "category",
    "segments",
    "encoding",
    "price",
    "currency",
    "test",
    "campaign",
    "provider",
    "provider_message_id",
    "error",
    "metadata",
    "send_at",
    "created_at",
    "updated_at",
    "timeline",
}
PRICES = Path(__file__).parents[2] / "messaging" / "data" / "prices.csv"


def table_rate(country: str) -> Decimal:
    """The per-segment rate the data table gives a country (read here, not through pricing)."""
    with PRICES.open() as table:
        return next(
            Decimal(r["per_segment_usd"]) for r in csv.DictReader(table) if r["country"] == country
        )


def payload(tenant, **fields) -> dict:
    """A valid send request from the tenant's sender to a fresh US number; DROP removes a field."""
    body = {
        "to": next_number(),
        "from": tenant.sender.number,
        "body": "Your code is 1234",
        **fields,
    }
    return {k: v for k, v in body.items() if v is not DROP}


def send(tenant, mode: str = "live", headers: dict | None = None, **fields):
    """POST one message with the tenant's owner token of `mode`."""
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    return tenant.client("owner", mode).post(URL, payload(tenant, **fields), format="json", **extra)


def patch_workspace(tenant, **changes) -> dict:
    """Change the tenant's settings through the API."""
    response = tenant.client().patch("/api/v1/workspace", changes, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def error_code(response) -> str:
    """The catalogue code of an error answer."""
    return response.json()["error"]["code"]


def listed_ids(tenant, mode: str = "live", **params) -> list[str]:
    """Ids of the messages the tenant's token of `mode` lists."""
    response = tenant.client("owner", mode).get(URL, params)
    assert response.status_code == 200, response.content
    return [m["id"] for m in response.json()["results"]]


def add_sender(tenant, number: str, **fields) -> Sender:
    """Register another sender for the tenant's workspace."""
    owner = member(tenant.workspace, "owner")
    values = {"kind": Sender.LONG_CODE, "country": "US", **fields}
    return sender_create(
        workspace=tenant.workspace, actor=member_actor(owner), number=number, **values
    )


def suppress(tenant, phone: str) -> None:
    """An active workspace suppression of `phone`."""
    suppression_create(
        workspace_id=tenant.workspace.pk, phone=phone, source="api", actor=Actor.system("test")
    )


def assert_refused(response, status: int, code: str, tenant) -> None:
    """The answer is `code` with `status`, and the tenant has no message for it."""
    assert response.status_code == status, response.content
    assert error_code(response) == code
    assert not Message.objects.for_workspace(tenant.workspace).exists()


# --- Success ------------------------------------------------------------------------------------


def test_success_returns_exactly_the_contract_resource(tenant, other_tenant):
    """202 with every §4 field, queued, priced, timed in UTC with Z, and nothing in B."""
    request = payload(tenant, metadata={"order": "A-17"})
    response = tenant.client().post(URL, request, format="json")
    assert response.status_code == 202, response.content
    msg = response.json()
    assert set(msg) == MESSAGE_FIELDS
    assert msg["id"].startswith("msg_") and msg["direction"] == "outbound"
    assert (msg["status"], msg["to"], msg["from"]) == ("queued", request["to"], request["from"])
    assert (msg["body"], msg["category"], msg["metadata"]) == (
        request["body"],
        "transactional",
        {"order": "A-17"},
    )
    assert (msg["segments"], msg["encoding"], msg["currency"]) == (1, "GSM-7", "USD")
    assert msg["price"] == f"{table_rate('US'):.4f}"
    assert (msg["test"], msg["campaign"], msg["error"], msg["send_at"]) == (False, None, None, None)
    assert msg["provider"] == "simulator" and "provider_message_id" in msg
    assert ISO_Z.match(msg["created_at"]) and ISO_Z.match(msg["updated_at"])
    assert listed_ids(other_tenant) == []


def test_timeline_starts_with_request_received_then_queued(tenant, other_tenant):
    """The accept writes api_request_received first and ends queued, each time with Z."""
    timeline = send(tenant).json()["timeline"]
    events = [e["event"] for e in timeline]
    assert events[0] == "api_request_received" and events[-1] == "queued"
    assert all(ISO_Z.match(e["at"]) for e in timeline)
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    assert not Message.objects.for_workspace(other_tenant.workspace).exists()


def test_from_omitted_uses_the_default_sender(tenant, other_tenant):
    """With `default_sender` set, a request without `from` sends from it."""
    patch_workspace(tenant, default_sender=tenant.sender.number)
    response = send(tenant, **{"from": DROP})
    assert response.status_code == 202, response.content
    assert response.json()["from"] == tenant.sender.number
    assert listed_ids(other_tenant) == []


def test_from_omitted_without_default_sender_is_a_validation_error(tenant, other_tenant):
    """No `from` and no default sender: 400 validation_error naming `from`."""
    response = send(tenant, **{"from": DROP})
    assert_refused(response, 400, "validation_error", tenant)
    assert "from" in response.json()["error"]["details"]


def test_send_at_in_the_future_is_scheduled(tenant, other_tenant):
    """A future send_at answers 202 `scheduled` with a `scheduled` event and echoes send_at."""
    send_at = (datetime.now(UTC) + timedelta(days=35)).replace(microsecond=0)  # the furthest
    response = send(tenant, send_at=send_at.isoformat())
    assert response.status_code == 202, response.content
    msg = response.json()
    assert msg["status"] == "scheduled"
    assert msg["send_at"].startswith(send_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert "scheduled" in [e["event"] for e in msg["timeline"]]
    assert "queued" not in [e["event"] for e in msg["timeline"]]
    assert listed_ids(other_tenant) == []


def test_send_at_in_the_past_is_queued_now(tenant, other_tenant):
    """A send_at that has passed is sent at once."""
    response = send(tenant, send_at="2000-01-01T00:00:00Z")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    assert listed_ids(other_tenant) == []


def test_a_viewer_token_cannot_send(tenant, other_tenant):
    """Sending needs `messages:send`: a viewer gets 403 forbidden naming it."""
    response = tenant.client("viewer").post(URL, payload(tenant), format="json")
    assert_refused(response, 403, "forbidden", tenant)
    assert response.json()["error"]["details"]["required_scope"] == "messages:send"


def test_an_agent_token_can_send(tenant, other_tenant):
    """Agents hold `messages:send`."""
    response = tenant.client("agent").post(URL, payload(tenant), format="json")
    assert response.status_code == 202, response.content
    assert listed_ids(other_tenant) == []


# --- validation_error ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body": DROP}, "body"),
        ({"body": ""}, "body"),
        ({"to": DROP}, "to"),
        ({"category": "promotional"}, "category"),
        ({"metadata": "not an object"}, "metadata"),
        ({"send_at": "tomorrow"}, "send_at"),
    ],
)
def test_malformed_requests_are_validation_errors(tenant, other_tenant, fields, field):
    """Each malformed field answers 400 validation_error with that field in details."""
    response = send(tenant, **fields)
    assert_refused(response, 400, "validation_error", tenant)
    assert field in response.json()["error"]["details"]


def test_a_non_object_body_is_a_validation_error(tenant, other_tenant):
    """A JSON list is not a send request."""
    response = tenant.client().post(URL, [payload(tenant)], format="json")
    assert_refused(response, 400, "validation_error", tenant)


# --- invalid_number -----------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["12", "+1415555", "not a number", "+999123456789"])
def test_an_invalid_number_is_refused(tenant, other_tenant, to):
    """Numbers libphonenumber calls invalid answer 400 invalid_number."""
    response = send(tenant, to=to)
    assert_refused(response, 400, "invalid_number", tenant)
    assert response.json()["error"]["details"]["to"] == to


def test_a_national_number_is_read_in_the_default_country(tenant, other_tenant):
    """ "(415) 555-0100" with default_country US is sent to +14155550100."""
    response = send(tenant, to="(415) 555-0100")
    assert response.status_code == 202, response.content
    assert response.json()["to"] == "+14155550100"
    assert listed_ids(other_tenant) == []


def test_the_default_country_changes_how_national_numbers_read(tenant, other_tenant):
    """With default_country AU, "0412 345 678" is the Australian +61412345678."""
    patch_workspace(tenant, default_country="AU")
    response = send(tenant, to="0412 345 678")
    assert response.status_code == 202, response.content
    assert response.json()["to"] == "+61412345678"
    assert response.json()["price"] == f"{table_rate('AU'):.4f}"
    assert listed_ids(other_tenant) == []


# --- same_to_from, sender_not_sms_capable, toll_free_not_verified -------------------------------


def test_sending_to_the_sender_itself_is_refused(tenant, other_tenant):
    """`to` equal to `from` answers 422 same_to_from."""
    response = send(tenant, to=tenant.sender.number)
    assert_refused(response, 422, "same_to_from", tenant)


def test_same_to_from_is_judged_on_normalised_numbers(tenant, other_tenant):
    """A national `to` that is the sender's own number is still same_to_from."""
    national = (
        f"({tenant.sender.number[2:5]}) {tenant.sender.number[5:8]}-{tenant.sender.number[8:]}"
    )
    response = send(tenant, to=national)
    assert_refused(response, 422, "same_to_from", tenant)


def test_a_national_from_is_read_as_the_sender(tenant, other_tenant):
    """`from` given in national format is the workspace's E.164 sender."""
    national = tenant.sender.number[2:]
    response = send(tenant, **{"from": national})
    assert response.status_code == 202, response.content
    assert response.json()["from"] == tenant.sender.number
    assert listed_ids(other_tenant) == []


def test_an_unknown_from_is_not_sms_capable(tenant, other_tenant):
    """A number that is no sender of this workspace answers 422 sender_not_sms_capable."""
    response = send(tenant, **{"from": "+14155550199"})
    assert_refused(response, 422, "sender_not_sms_capable", tenant)


def test_another_workspaces_sender_is_not_yours(tenant, other_tenant):
    """B's sender cannot be used by A (422), and B's data is untouched."""
    response = send(tenant, **{"from": other_tenant.sender.number})
    assert_refused(response, 422, "sender_not_sms_capable", tenant)
    assert not Message.objects.for_workspace(other_tenant.workspace).exists()


def test_a_sender_without_sms_is_refused(tenant, other_tenant):
    """A sender registered with sms_capable False answers 422 sender_not_sms_capable."""
    voice_only = add_sender(tenant, "+14155550177", sms_capable=False)
    response = send(tenant, **{"from": voice_only.number})
    assert_refused(response, 422, "sender_not_sms_capable", tenant)


def test_a_removed_sender_is_refused(tenant, other_tenant):
    """A retired sender no longer sends."""
    response = tenant.client().delete(f"/api/v1/senders/{tenant.sender.id}")
    assert response.status_code == 200
    assert_refused(send(tenant), 422, "sender_not_sms_capable", tenant)


def test_an_unverified_toll_free_sender_is_refused(tenant, other_tenant):
    """Toll-free numbers send only once verified: 422 toll_free_not_verified."""
    toll_free = add_sender(tenant, "+18885550123", kind=Sender.TOLL_FREE)
    response = send(tenant, **{"from": toll_free.number})
    assert_refused(response, 422, "toll_free_not_verified", tenant)


def test_a_verified_toll_free_sender_sends(tenant, other_tenant):
    """A verified toll-free number is accepted."""
    toll_free = add_sender(tenant, "+18885550124", kind=Sender.TOLL_FREE, toll_free_verified=True)
    response = send(tenant, **{"from": toll_free.number})
    assert response.status_code == 202, response.content
    assert listed_ids(other_tenant) == []


# --- unsupported_region -------------------------------------------------------------------------


def test_a_country_not_allowed_is_refused(tenant, other_tenant):
    """FR is not allowed by default: 422 unsupported_region naming the country."""
    response = send(tenant, to="+33612345678")
    assert_refused(response, 422, "unsupported_region", tenant)
    assert response.json()["error"]["details"]["country"] == "FR"


def test_allowing_a_country_opens_it_at_its_rate(tenant, other_tenant):
    """Once FR is allowed the send passes, priced at FR's table rate."""
    patch_workspace(tenant, allowed_countries=["US", "FR"])
    response = send(tenant, to="+33612345678")
    assert response.status_code == 202, response.content
    assert response.json()["price"] == f"{table_rate('FR'):.4f}"
    assert listed_ids(other_tenant) == []


def test_allowed_countries_are_per_workspace(tenant, other_tenant):
    """B allowing FR does not open FR for A."""
    patch_workspace(other_tenant, allowed_countries=["US", "FR"])
    assert_refused(send(tenant, to="+33612345678"), 422, "unsupported_region", tenant)


def test_a_short_code_does_not_send_abroad(tenant, other_tenant):
    """A US short code sending to an (allowed) CA number answers 422 unsupported_region."""
    short = add_sender(tenant, "12345", kind=Sender.SHORT_CODE, country="US")
    response = send(tenant, to="+16135550123", **{"from": short.number})
    assert_refused(response, 422, "unsupported_region", tenant)
    assert response.json()["error"]["details"]["sender_country"] == "US"


def test_a_short_code_sends_at_home(tenant, other_tenant):
    """The same short code sends to a US number."""
    short = add_sender(tenant, "12346", kind=Sender.SHORT_CODE, country="US")
    response = send(tenant, **{"from": short.number})
    assert response.status_code == 202, response.content
    assert response.json()["from"] == "12346"
    assert listed_ids(other_tenant) == []


# --- recipient_not_verified ---------------------------------------------------------------------


def test_a_test_token_needs_a_verified_recipient(tenant, other_tenant):
    """A test token to an unverified number answers 422 recipient_not_verified."""
    response = send(tenant, mode="test")
    assert_refused(response, 422, "recipient_not_verified", tenant)


def test_a_test_token_sends_to_a_verified_recipient(tenant, other_tenant):
    """Verified recipients pass with a test token: test true, price 0, the simulator."""
    patch_workspace(tenant, verified_recipients=["+14155550100"])
    response = send(tenant, mode="test", to="+14155550100")
    assert response.status_code == 202, response.content
    msg = response.json()
    assert (msg["test"], msg["price"], msg["provider"]) == (True, "0.0000", "simulator")
    assert listed_ids(other_tenant, mode="test") == []


def test_verified_recipients_are_per_workspace(tenant, other_tenant):
    """B verifying a number does not verify it for A."""
    patch_workspace(other_tenant, verified_recipients=["+14155550100"])
    assert_refused(
        send(tenant, mode="test", to="+14155550100"), 422, "recipient_not_verified", tenant
    )


def test_a_test_mode_workspace_restricts_live_tokens(tenant, other_tenant):
    """In a test_mode workspace, a live token to an unverified number is refused."""
    patch_workspace(tenant, test_mode=True)
    assert_refused(send(tenant), 422, "recipient_not_verified", tenant)


def test_a_test_mode_workspace_sends_live_to_verified_recipients(tenant, other_tenant):
    """In a test_mode workspace, a live token reaches verified recipients (as a live message)."""
    patch_workspace(tenant, test_mode=True, verified_recipients=["+14155550100"])
    response = send(tenant, to="+14155550100")
    assert response.status_code == 202, response.content
    assert response.json()["test"] is False
    assert listed_ids(other_tenant) == []


# --- workspace_suppressed -----------------------------------------------------------------------


def test_a_suppressed_recipient_is_refused(tenant, other_tenant):
    """An active workspace suppression answers 422 workspace_suppressed."""
    suppress(tenant, "+14155550100")
    assert_refused(send(tenant, to="+14155550100"), 422, "workspace_suppressed", tenant)


def test_a_suppression_in_another_workspace_does_not_apply(tenant, other_tenant):
    """B suppressing a number does not stop A from texting it."""
    suppress(other_tenant, "+14155550100")
    response = send(tenant, to="+14155550100")
    assert response.status_code == 202, response.content
    assert listed_ids(other_tenant) == []


def test_a_suppression_applies_to_national_numbers_too(tenant, other_tenant):
    """The suppression is matched on the E.164 form of `to`."""
    suppress(tenant, "+14155550100")
    assert_refused(send(tenant, to="415-555-0100"), 422, "workspace_suppressed", tenant)


# --- content_blocked ----------------------------------------------------------------------------


def test_a_platform_term_is_blocked(tenant, other_tenant):
    """A platform-listed term answers 422 content_blocked with details.terms."""
    response = send(tenant, body="Fresh cannabis delivered today")
    assert_refused(response, 422, "content_blocked", tenant)
    assert response.json()["error"]["details"]["terms"] == ["cannabis"]


def test_blocked_terms_are_case_insensitive(tenant, other_tenant):
    """CANNABIS and Payday Loan are blocked whatever their case."""
    response = send(tenant, body="CANNABIS and a Payday Loan!")
    assert_refused(response, 422, "content_blocked", tenant)
    assert response.json()["error"]["details"]["terms"] == ["cannabis", "payday loan"]


@pytest.mark.parametrize(
    "body", ["Scannabis is a word game", "cannabiscuits for sale", "marijuanas"]
)
def test_blocked_terms_match_whole_words_only(tenant, other_tenant, body):
    """A blocked term inside a longer word is not blocked."""
    response = send(tenant, body=body)
    assert response.status_code == 202, response.content
    assert listed_ids(other_tenant) == []


def test_workspace_blocked_terms_are_added(tenant, other_tenant):
    """The workspace's own blocked_terms block too, case-insensitively."""
    patch_workspace(tenant, blocked_terms=["Crypto"])
    response = send(tenant, body="Buy CRYPTO now")
    assert_refused(response, 422, "content_blocked", tenant)
    assert response.json()["error"]["details"]["terms"] == ["crypto"]


def test_a_multi_word_term_matches_across_any_whitespace(tenant, other_tenant):
    """ "Payday\nloan" and "payday   LOAN" are the blocked "payday loan"."""
    for body in ("Payday\nloan today", "payday   LOAN today"):
        response = send(tenant, body=body)
        assert_refused(response, 422, "content_blocked", tenant)
        assert response.json()["error"]["details"]["terms"] == ["payday loan"]


def test_an_empty_workspace_term_blocks_nothing(tenant, other_tenant):
    """Empty terms (possible outside the API, e.g. the admin) do not block every message."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(blocked_terms=["", "  "])
    response = send(tenant, body="Hello -- see you at 5 :)")
    assert response.status_code == 202, response.content
    assert listed_ids(other_tenant) == []


def test_another_workspaces_blocked_terms_do_not_apply(tenant, other_tenant):
    """B's blocked terms leave A's sends alone."""
    patch_workspace(other_tenant, blocked_terms=["crypto"])
    response = send(tenant, body="Buy crypto now")
    assert response.status_code == 202, response.content
    assert listed_ids(other_tenant) == []


# --- message_too_long ---------------------------------------------------------------------------


def test_ten_segments_pass(tenant, other_tenant):
    """1530 GSM-7 characters are 10 segments and are accepted."""
    response = send(tenant, body="a" * 1530)
    assert response.status_code == 202, response.content
    assert response.json()["segments"] == 10
    assert listed_ids(other_tenant) == []


@pytest.mark.parametrize(
    ("body", "encoding"), [("a" * 1531, "GSM-7"), ("é" * 60 + "ж" * 611, "UCS-2")]
)
def test_more_than_ten_segments_is_too_long(tenant, other_tenant, body, encoding):
    """11 segments (GSM-7 or UCS-2) answer 422 message_too_long with the count."""
    response = send(tenant, body=body)
    assert_refused(response, 422, "message_too_long", tenant)
    details = response.json()["error"]["details"]
    assert (details["segments"], details["encoding"]) == (11, encoding)


# --- duplicate_message --------------------------------------------------------------------------


def test_the_same_message_twice_is_a_duplicate(tenant, other_tenant):
    """Same to and body within the window: the second answers 409 duplicate_message."""
    first = send(tenant, to="+14155550100", body="hello")
    second = send(tenant, to="+14155550100", body="hello")
    assert first.status_code == 202 and second.status_code == 409
    assert error_code(second) == "duplicate_message"
    assert Message.objects.for_workspace(tenant.workspace).count() == 1


def test_a_different_body_is_not_a_duplicate(tenant, other_tenant):
    """Only the same (to, body) pair collides."""
    assert send(tenant, to="+14155550100", body="hello").status_code == 202
    assert send(tenant, to="+14155550100", body="hello!").status_code == 202
    assert send(tenant, to="+14155550101", body="hello").status_code == 202


def test_a_duplicate_is_judged_on_the_normalised_number(tenant, other_tenant):
    """ "(415) 555-0100" and "+14155550100" are the same recipient."""
    assert send(tenant, to="+14155550100", body="hello").status_code == 202
    assert error_code(send(tenant, to="(415) 555-0100", body="hello")) == "duplicate_message"


def test_after_the_window_the_same_message_is_accepted(tenant, other_tenant):
    """61 s later (default window 60 s) the same message is accepted again."""
    with time_machine.travel(START, tick=False) as traveller:
        assert send(tenant, to="+14155550100", body="hello").status_code == 202
        traveller.shift(30)
        assert send(tenant, to="+14155550100", body="hello").status_code == 409
        traveller.shift(31)
        assert send(tenant, to="+14155550100", body="hello").status_code == 202
    assert Message.objects.for_workspace(tenant.workspace).count() == 2


def test_a_window_of_zero_disables_duplicate_detection(tenant, other_tenant):
    """duplicate_window_seconds 0: the same message twice is accepted twice."""
    patch_workspace(tenant, duplicate_window_seconds=0)
    assert send(tenant, to="+14155550100", body="hello").status_code == 202
    assert send(tenant, to="+14155550100", body="hello").status_code == 202


def test_a_test_send_does_not_collide_with_a_live_one(tenant, other_tenant):
    """The same message in test and in live mode are both accepted."""
    patch_workspace(tenant, verified_recipients=["+14155550100"])
    assert send(tenant, to="+14155550100", body="hello").status_code == 202
    assert send(tenant, mode="test", to="+14155550100", body="hello").status_code == 202
    assert send(tenant, mode="test", to="+14155550100", body="hello").status_code == 409


def test_workspaces_do_not_collide(tenant, other_tenant):
    """A and B may send the same message to the same number."""
    assert send(tenant, to="+14155550100", body="hello").status_code == 202
    assert send(other_tenant, to="+14155550100", body="hello").status_code == 202


def test_a_refused_send_does_not_hold_the_duplicate_window(tenant, other_tenant):
    """A send refused for spend leaves no guard: once spend allows, the same message passes."""
    patch_workspace(tenant, spend_limit="0")
    assert error_code(send(tenant, to="+14155550100", body="hello")) == "spend_limit_exceeded"
    patch_workspace(tenant, spend_limit=None)
    assert send(tenant, to="+14155550100", body="hello").status_code == 202


# --- The order of the checks --------------------------------------------------------------------


def _suppressed(tenant) -> dict:
    suppress(tenant, "+14155550100")
    return {}


def _test_mode(tenant) -> dict:
    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_mode=True)
    return {}


def _no_spend(tenant) -> dict:
    Workspace.objects.filter(pk=tenant.workspace.pk).update(spend_limit=Decimal("0"))
    return {}


def _toll_free(tenant) -> dict:
    return {"from": add_sender(tenant, "+18885550125", kind=Sender.TOLL_FREE).number}


def _to_self(tenant) -> dict:
    return {"to": tenant.sender.number, "from": tenant.sender.number}


@pytest.mark.parametrize(
    ("setup", "fields", "code"),
    [
        (None, {"to": "12", "body": DROP}, "validation_error"),
        (None, {"to": "12", "category": "promotional"}, "validation_error"),
        (None, {"to": "12", "body": "a" * 2000}, "invalid_number"),
        (None, {"to": "12", "from": "+14155550199"}, "invalid_number"),
        (_to_self, {"body": "cannabis"}, "same_to_from"),
        (None, {"to": "+14155550199", "from": "+14155550199"}, "same_to_from"),
        (None, {"to": "+33612345678", "from": "+14155550199"}, "sender_not_sms_capable"),
        (_toll_free, {"to": "+33612345678"}, "toll_free_not_verified"),
        (_test_mode, {"to": "+33612345678"}, "unsupported_region"),
        (_test_mode, {"to": "+14155550100", "body": "cannabis"}, "recipient_not_verified"),
        (_suppressed, {"to": "+14155550100", "body": "cannabis"}, "workspace_suppressed"),
        (None, {"body": "cannabis " * 200}, "content_blocked"),
        (_no_spend, {"body": "a" * 2000}, "message_too_long"),
    ],
)
def test_the_first_failing_check_is_the_answer(tenant, other_tenant, setup, fields, code):
    """A request failing two checks answers the earlier one in CONTRACT §3's order."""
    fields = {**fields, **(setup(tenant) if setup else {})}
    response = send(tenant, **fields)
    assert response.status_code != 202 and error_code(response) == code
    assert not Message.objects.for_workspace(other_tenant.workspace).exists()


def test_authentication_comes_first(tenant, other_tenant, anon):
    """No token: 401 unauthorized, however bad the request."""
    response = anon.post(URL, {"to": "12"}, format="json")
    assert response.status_code == 401 and error_code(response) == "unauthorized"


def test_the_rate_limit_answers_before_validation(tenant, other_tenant):
    """Out of rate-limit tokens, a malformed request answers 429, not 400."""
    Workspace.objects.filter(pk=tenant.workspace.pk).update(rate_limit_per_second=1)
    with time_machine.travel(START, tick=False):
        assert send(tenant).status_code == 202
        response = send(tenant, body=DROP, to="12")
    assert response.status_code == 429 and error_code(response) == "rate_limited"
    assert response["Retry-After"] == "1"
    assert send(other_tenant).status_code == 202


def test_validation_answers_before_idempotency(tenant, other_tenant):
    """A malformed body under a used key is a 400, not a conflict."""
    key = {"Idempotency-Key": "order-1"}
    assert send(tenant, headers=key).status_code == 202
    assert error_code(send(tenant, headers=key, body=DROP)) == "validation_error"


def test_idempotency_answers_before_the_policy(tenant, other_tenant):
    """A reused key with an invalid number answers idempotency_conflict, not invalid_number."""
    key = {"Idempotency-Key": "order-1"}
    assert send(tenant, headers=key).status_code == 202
    response = send(tenant, headers=key, to="12")
    assert response.status_code == 409 and error_code(response) == "idempotency_conflict"
    assert send(other_tenant, headers=key, to="12").status_code == 400


def test_content_blocked_answers_before_duplicate(tenant, other_tenant):
    """A body blocked since it was first sent is refused as blocked, not as a duplicate."""
    assert send(tenant, to="+14155550100", body="hello there").status_code == 202
    patch_workspace(tenant, blocked_terms=["hello"])
    assert error_code(send(tenant, to="+14155550100", body="hello there")) == "content_blocked"


def test_duplicate_answers_before_spend(tenant, other_tenant):
    """A duplicate that would also pass the spend limit answers duplicate_message."""
    assert send(tenant, to="+14155550100", body="hello").status_code == 202
    patch_workspace(tenant, spend_limit="0")
    assert error_code(send(tenant, to="+14155550100", body="hello")) == "duplicate_message"


# --- Detail -------------------------------------------------------------------------------------


def test_detail_includes_the_timeline_in_order(tenant, other_tenant):
    """GET /messages/{id} returns the message with api_request_received … queued, in order."""
    created = send(tenant).json()
    detail = tenant.client().get(f"{URL}/{created['id']}").json()
    assert detail == created
    events = [e["event"] for e in detail["timeline"]]
    assert events.index("api_request_received") < events.index("queued")


def test_another_workspaces_message_is_not_found(tenant, other_tenant):
    """B's message id answers 404 not_found to A, with no data."""
    theirs = send(other_tenant).json()["id"]
    response = tenant.client().get(f"{URL}/{theirs}")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert theirs not in response.content.decode()


def test_an_unknown_id_is_not_found(tenant, other_tenant):
    """A well-formed id nobody has answers 404 not_found."""
    response = tenant.client().get(f"{URL}/msg_{'0' * 26}")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_test_messages_are_invisible_to_live_tokens(tenant, other_tenant):
    """A test message is neither listed nor readable with a live token."""
    patch_workspace(tenant, verified_recipients=["+14155550100"])
    test_id = send(tenant, mode="test", to="+14155550100").json()["id"]
    assert listed_ids(tenant) == [] and listed_ids(tenant, mode="test") == [test_id]
    assert tenant.client().get(f"{URL}/{test_id}").status_code == 404
    assert listed_ids(other_tenant, mode="test") == []


def test_live_messages_are_invisible_to_test_tokens(tenant, other_tenant):
    """A live message is neither listed nor readable with a test token."""
    live_id = send(tenant).json()["id"]
    assert listed_ids(tenant, mode="test") == [] and listed_ids(tenant) == [live_id]
    assert tenant.client("owner", "test").get(f"{URL}/{live_id}").status_code == 404
    assert listed_ids(other_tenant) == []


# --- Cancel -------------------------------------------------------------------------------------


def cancel(tenant, message_id: str, mode: str = "live"):
    """POST /messages/{id}/cancel."""
    return tenant.client("owner", mode).post(f"{URL}/{message_id}/cancel", format="json")


def spend(tenant) -> Decimal:
    """The tenant's month_to_date_spend, from the API."""
    return Decimal(tenant.client().get("/api/v1/workspace").json()["month_to_date_spend"])


def test_canceling_a_scheduled_message_releases_its_spend(tenant, other_tenant):
    """A scheduled message cancels (200) with a `canceled` event; its reservation is released."""
    message = message_for(tenant.workspace, tenant.sender)
    Message.objects.filter(pk=message.pk).update(status=Status.SCHEDULED)
    assert spend(tenant) == table_rate("US")
    response = cancel(tenant, message.id)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert response.json()["timeline"][-1]["event"] == "canceled"
    assert spend(tenant) == Decimal("0") and spend(other_tenant) == Decimal("0")


def test_canceling_a_message_scheduled_through_the_api(tenant, other_tenant):
    """Send with a future send_at, cancel it: 200 canceled and the spend back at 0."""
    created = send(tenant, send_at=(datetime.now(UTC) + timedelta(days=3)).isoformat())
    assert created.status_code == 202, created.content
    assert cancel(tenant, created.json()["id"]).json()["status"] == "canceled"
    assert spend(tenant) == Decimal("0")


def test_canceling_a_queued_message(tenant, other_tenant):
    """A queued message not yet claimed cancels: 200 canceled, price released."""
    created = send(tenant).json()
    response = cancel(tenant, created["id"])
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert "canceled" in [e["event"] for e in response.json()["timeline"]]
    assert spend(tenant) == Decimal("0")
    assert tenant.client().get(f"{URL}/{created['id']}").json()["status"] == "canceled"


def test_a_sent_message_cannot_be_canceled(tenant, other_tenant):
    """A sent message answers 409 invalid_state and stays sent."""
    message_id = send(tenant).json()["id"]
    Message.objects.filter(pk=message_id).update(status=Status.SENT)
    response = cancel(tenant, message_id)
    assert response.status_code == 409 and error_code(response) == "invalid_state"
    assert Message.objects.get(pk=message_id).status == Status.SENT


def test_canceling_twice_is_invalid_state(tenant, other_tenant):
    """The second cancel answers 409 invalid_state and spend stays released once."""
    message_id = send(tenant).json()["id"]
    assert cancel(tenant, message_id).status_code == 200
    response = cancel(tenant, message_id)
    assert response.status_code == 409 and error_code(response) == "invalid_state"
    assert spend(tenant) == Decimal("0")


def test_another_workspaces_message_cannot_be_canceled(tenant, other_tenant):
    """Canceling B's message from A answers 404 and leaves it queued."""
    theirs = send(other_tenant).json()["id"]
    response = cancel(tenant, theirs)
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert Message.objects.get(pk=theirs).status == Status.QUEUED


def test_a_live_message_cannot_be_canceled_with_a_test_token(tenant, other_tenant):
    """Modes are separate for cancel too: 404."""
    message_id = send(tenant).json()["id"]
    assert cancel(tenant, message_id, mode="test").status_code == 404
    assert Message.objects.get(pk=message_id).status == Status.QUEUED
