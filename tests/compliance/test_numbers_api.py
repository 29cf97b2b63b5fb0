"""`GET /api/v1/numbers/{e164}?as_of=` (CONTRACT §6): a number's state at each moment of its
story, backdated consents, bare dates, unknown numbers, bad input, tenancy, scopes and mode."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.support.envelope import assert_envelope
from tests.support.factories import next_number, token_for
from tests.support.number_story import four_moments, grant, inbound
from tests.support.object_routes import api_routes, concrete_path
from workspaces.scopes import ROLE_SCOPES

pytestmark = pytest.mark.django_db

# Weekday mornings in California: inside the quiet-hours window for +1415 numbers.
MOMENTS = [datetime(2026, 11, d, 18, 0, tzinfo=UTC) for d in (10, 11, 12, 13)]


def _read(client, phone, as_of=None):
    url = f"/api/v1/numbers/{phone}" + (f"?as_of={as_of}" if as_of else "")
    return client.get(url)


def _story(client, phone, as_of=None) -> dict:
    response = _read(client, phone, as_of)
    assert response.status_code == 200, response.content
    return response.json()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def story(tenant):
    return four_moments(tenant, next_number(), MOMENTS)


def test_the_four_moments_each_show_their_own_state(tenant, story):
    """Opted in → that grant; messaged → still it; STOP → no consent, the keyword suppression;
    START → the keyword grant and no suppression."""
    client, ids = tenant.client("viewer"), story.ids
    states = [_story(client, story.phone, _iso(story.after(i))) for i in range(4)]
    consent = [s["marketing_consent"] and s["marketing_consent"]["id"] for s in states]
    suppressed = [[s["id"] for s in state["suppressions"]] for state in states]
    assert consent == [ids["grant"], ids["grant"], None, ids["regrant"]]
    assert suppressed == [[], [], [ids["suppression"]], []]
    assert states[2]["suppressions"][0]["active"] is True
    assert states[2]["suppressions"][0]["source"] == "keyword"


def test_the_history_is_oldest_first_and_grows_with_as_of(tenant, story):
    """Up to the moment, oldest first: records and keyword messages with recorded_at."""
    client, ids = tenant.client("viewer"), story.ids
    before_stop = _story(client, story.phone, _iso(story.after(1)))["history"]
    assert [e["id"] for e in before_stop] == [ids["grant"]]
    full = _story(client, story.phone)["history"]
    kinds = [(e["type"], e.get("keyword") or e.get("action")) for e in full]
    assert kinds == [
        ("consent", "grant"),
        ("keyword_message", "stop"),
        ("suppression", None),
        ("consent", "revoke"),
        ("keyword_message", "start"),
        ("suppression_removed", None),
        ("consent", "grant"),
    ]
    assert [e["at"] for e in full] == sorted(e["at"] for e in full)
    assert all(e["recorded_at"] and e["recorded_later"] is False for e in full)
    removed = next(e for e in full if e["type"] == "suppression_removed")
    assert removed["id"] == ids["suppression"] and removed["removed_at"]


def test_a_suppression_removed_later_shows_active_as_of_before_its_removal(tenant, story):
    state = _story(tenant.client(), story.phone, _iso(story.after(2)))
    entry = next(e for e in state["history"] if e["type"] == "suppression")
    assert entry["active"] is True and entry["removed_at"] is None
    assert "suppression_removed" not in {e["type"] for e in state["history"]}


def test_a_backdated_consent_is_recorded_later_and_not_in_force(tenant):
    """Captured before as_of, recorded after it: shown, marked, and not what the gate relied on."""
    phone = next_number()
    captured, as_of, recorded = MOMENTS[0], MOMENTS[1], MOMENTS[2]
    with time_machine.travel(recorded, tick=False):
        backdated = grant(tenant, phone, captured_at=_iso(captured))["id"]
    then = _story(tenant.client(), phone, _iso(as_of))
    assert then["marketing_consent"] is None
    assert [(e["id"], e["recorded_later"]) for e in then["history"]] == [(backdated, True)]
    assert then["history"][0]["at"].startswith("2026-11-10T18:00:00")
    assert then["history"][0]["recorded_at"].startswith("2026-11-12T18:00:00")
    later = _story(tenant.client(), phone, _iso(recorded + timedelta(seconds=1)))
    assert later["marketing_consent"]["id"] == backdated
    assert later["marketing_consent"]["recorded_later"] is False


def test_a_bare_date_means_the_end_of_that_utc_day(tenant, story):
    """2026-11-12 ends after the STOP at 18:00Z: suppressed, no consent."""
    state = _story(tenant.client(), story.phone, "2026-11-12")
    assert state["as_of"] == "2026-11-12T23:59:59.999999Z"
    assert state["marketing_consent"] is None
    assert [s["id"] for s in state["suppressions"]] == [story.ids["suppression"]]
    assert _story(tenant.client(), story.phone, "2026-11-09")["history"] == []


def test_default_as_of_is_now(tenant, story):
    with time_machine.travel(MOMENTS[3] + timedelta(days=1), tick=False):
        state = _story(tenant.client(), story.phone)
    assert state["as_of"] == "2026-11-14T18:00:00.000000Z"
    assert state["marketing_consent"]["id"] == story.ids["regrant"]


def test_an_unknown_number_is_200_with_an_empty_history(tenant):
    phone = next_number()
    body = _story(tenant.client(), phone)
    assert body.pop("as_of").endswith("Z")
    assert body == {
        "phone": phone,
        "marketing_consent": None,
        "suppressions": [],
        "history": [],
    }


def test_a_number_in_another_format_is_read_in_e164(tenant, story):
    national = story.phone.removeprefix("+1")
    assert _story(tenant.client(), national)["phone"] == story.phone


@pytest.mark.parametrize(
    "phone,as_of,field",
    [
        ("not-a-number", None, "phone"),
        ("+1415", None, "phone"),
        ("+14155550100", "yesterday", "as_of"),
        ("+14155550100", "2026-13-01", "as_of"),
        ("+14155550100", "2026-11-10T25:00:00Z", "as_of"),
    ],
)
def test_bad_input_is_400_validation_error_with_a_fix(tenant, phone, as_of, field):
    error = assert_envelope(_read(tenant.client(), phone, as_of), 400, "validation_error")
    assert field in error["details"], error
    assert error["fix"]


def test_workspace_bs_records_never_appear(tenant, other_tenant, story):
    """The same number in B: B's owner sees B's records; A's answer holds none of them."""
    b_story = four_moments(other_tenant, story.phone, [m + timedelta(hours=1) for m in MOMENTS])
    mine = _story(tenant.client(), story.phone)
    theirs = _story(other_tenant.client(), story.phone)
    b_ids = set(b_story.ids.values())
    assert {e["id"] for e in theirs["history"]} & b_ids
    assert not {e["id"] for e in mine["history"]} & b_ids
    assert {e["id"] for e in mine["history"]} >= {story.ids["grant"], story.ids["regrant"]}
    assert other_tenant.workspace.pk not in str(mine)


def test_the_mode_is_the_tokens(tenant):
    """A live STOP is not a keyword message of the test mode (records are workspace-wide)."""
    phone = next_number()
    inbound(tenant, phone, "STOP")
    live = _story(tenant.client(), phone)["history"]
    test = _story(tenant.client("owner", "test"), phone)["history"]
    assert "keyword_message" in {e["type"] for e in live}
    assert "keyword_message" not in {e["type"] for e in test}
    assert {e["id"] for e in test} == {e["id"] for e in live if e["type"] != "keyword_message"}


@pytest.mark.parametrize("missing", ["consents:read", "suppressions:read"])
def test_a_token_lacking_either_scope_is_403_naming_it(tenant, missing):
    _, secret = token_for(tenant.workspace, "owner", scopes=ROLE_SCOPES["owner"] - {missing})
    client = tenant.client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    error = assert_envelope(_read(client, "+14155550100"), 403, "forbidden")
    assert error["details"]["required_scope"] == missing


def test_a_token_with_both_read_scopes_only_is_let_in(tenant):
    _, secret = token_for(tenant.workspace, "viewer", scopes={"consents:read", "suppressions:read"})
    client = tenant.client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert _read(client, "+14155550100").status_code == 200


def test_without_a_token_it_is_401(anon):
    assert_envelope(anon.get("/api/v1/numbers/+14155550100"), 401, "unauthorized")


def test_the_route_declares_the_first_of_its_two_scopes():
    """The generic walkers read one scope per route; the second is checked in the view (above)."""
    route = next(r for r in api_routes() if r.is_sampled)
    assert concrete_path(route, "x") == "/api/v1/numbers/+14155550100"
    assert route.view_class.required_scopes == {"get": "consents:read"}


def test_an_unencoded_plus_in_as_of_still_reads_as_the_offset(tenant, story):
    """`?as_of=2026-11-12T19:05:00+01:00` sent as is: the `+` arrives as a space."""
    state = _story(tenant.client(), story.phone, "2026-11-12T19:05:00+01:00")
    assert state["as_of"] == "2026-11-12T18:05:00.000000Z"
    assert [s["id"] for s in state["suppressions"]] == [story.ids["suppression"]]
