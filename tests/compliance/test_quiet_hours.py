"""Quiet hours (CONTRACT §6): recipient-local windows, stricter states, several zones, DST."""

import csv
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.quiet_hours import (
    AREA_CODES_CSV,
    NANP_UNPLACED_ZONES,
    Hold,
    Rule,
    Window,
    earliest_open,
    quiet_hours_hold,
    state_for,
    us_area_codes,
    zones_for,
)

TX_DALLAS = "+12145551234"  # America/Chicago
TX_AUSTIN = "+15125551234"  # America/Chicago
TX_EL_PASO = "+19155551234"  # America/Denver
FL_MIAMI = "+13055551234"
CT_HARTFORD = "+18605551234"
NY_MANHATTAN = "+12125551234"
IDAHO = "+12085551234"  # libphonenumber: America/Boise and America/Los_Angeles
UK_LONDON = "+442079460000"

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")


def at(zone: ZoneInfo, *args: int) -> datetime:
    """A local wall-clock time in zone, as an aware datetime."""
    return datetime(*args, tzinfo=zone)


def utc(*args: int) -> datetime:
    """An instant in UTC."""
    return datetime(*args, tzinfo=UTC)


# The contract's windows, written out again here so the property checks the module against the
# contract rather than against itself: state -> (start, end) by weekday (Monday 0 … Sunday 6).
def expected_window(state: str | None, weekday: int) -> tuple[time, time]:
    """The window the contract gives a state's recipient on a local weekday."""
    if state in {"FL", "OK", "MD", "MS", "NJ"}:
        return time(8), time(20)
    if state == "CT":
        return time(9), time(20)
    if state == "TX":
        return (time(12), time(21)) if weekday == 6 else (time(9), time(21))
    return time(8), time(21)


def window_holds(phone: str, instant: datetime, zones: tuple[str, ...]) -> bool:
    """Whether the contract's window holds at instant on every zone's wall clock."""
    state = state_for(phone)
    for name in zones:
        local = instant.astimezone(ZoneInfo(name))
        start, end = expected_window(state, local.weekday())
        if not start <= local.time() < end:
            return False
    return True


# --- single-zone numbers and the state rules ---------------------------------------------------


def test_texas_sunday_morning_waits_for_noon():
    hold = quiet_hours_hold(phone=TX_DALLAS, now=at(CHICAGO, 2025, 6, 15, 10, 0))  # a Sunday
    assert hold == Hold(
        until=utc(2025, 6, 15, 17, 0),  # 12:00 CDT
        rule="Texas: Sunday 12:00–21:00",
        zones=("America/Chicago",),
    )
    assert hold.until.tzinfo is UTC


def test_texas_saturday_morning_is_allowed():
    assert quiet_hours_hold(phone=TX_AUSTIN, now=at(CHICAGO, 2025, 6, 14, 10, 0)) is None


def test_texas_weekday_opens_at_nine():
    hold = quiet_hours_hold(phone=TX_AUSTIN, now=at(CHICAGO, 2025, 6, 16, 8, 30))  # a Monday
    assert hold is not None
    assert hold.until == utc(2025, 6, 16, 14, 0)
    assert hold.rule == "Texas: 09:00–21:00"


def test_texas_saturday_night_waits_for_sunday_noon():
    hold = quiet_hours_hold(phone=TX_DALLAS, now=at(CHICAGO, 2025, 6, 14, 21, 30))
    assert hold is not None
    assert hold.until == utc(2025, 6, 15, 17, 0)
    assert hold.rule == "Texas: Sunday 12:00–21:00"


def test_texas_mountain_time_area_code():
    # El Paso is on Mountain time: Sunday 10:00 MDT waits for 12:00 MDT.
    hold = quiet_hours_hold(phone=TX_EL_PASO, now=utc(2025, 6, 15, 16, 0))
    assert hold is not None
    assert hold.until == utc(2025, 6, 15, 18, 0)
    assert hold.zones == ("America/Denver",)


def test_florida_evening_waits_for_next_morning():
    hold = quiet_hours_hold(phone=FL_MIAMI, now=at(NY, 2025, 6, 10, 20, 30))
    assert hold == Hold(
        until=utc(2025, 6, 11, 12, 0),  # 08:00 EDT
        rule="Florida: 08:00–20:00",
        zones=("America/New_York",),
    )


def test_connecticut_opens_at_nine():
    hold = quiet_hours_hold(phone=CT_HARTFORD, now=at(NY, 2025, 6, 10, 8, 30))
    assert hold is not None
    assert hold.until == utc(2025, 6, 10, 13, 0)  # 09:00 EDT
    assert hold.rule == "Connecticut: 09:00–20:00"


def test_new_york_late_evening_waits_for_eight():
    hold = quiet_hours_hold(phone=NY_MANHATTAN, now=at(NY, 2025, 6, 10, 21, 30))
    assert hold is not None
    assert hold.until == utc(2025, 6, 11, 12, 0)
    assert hold.rule == "US federal 08:00–21:00"


@pytest.mark.parametrize(
    ("phone", "local"),
    [
        (NY_MANHATTAN, (2025, 6, 10, 12, 0)),
        (NY_MANHATTAN, (2025, 6, 10, 8, 0)),  # the start is inside
        (NY_MANHATTAN, (2025, 6, 10, 20, 59)),
        (FL_MIAMI, (2025, 6, 10, 19, 59)),
        (CT_HARTFORD, (2025, 6, 10, 9, 0)),
        (TX_DALLAS, (2025, 6, 15, 12, 0)),
    ],
)
def test_within_the_window_is_allowed(phone, local):
    zone = ZoneInfo(zones_for(phone)[0])
    assert quiet_hours_hold(phone=phone, now=at(zone, *local)) is None


def test_the_end_of_the_window_is_outside():
    hold = quiet_hours_hold(phone=NY_MANHATTAN, now=at(NY, 2025, 6, 10, 21, 0))
    assert hold is not None
    assert hold.until == utc(2025, 6, 11, 12, 0)


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        quiet_hours_hold(phone=NY_MANHATTAN, now=datetime(2025, 6, 10, 12, 0))


# --- several zones, and the contact's own zone -------------------------------------------------


def test_idaho_area_code_maps_to_two_zones():
    assert zones_for(IDAHO) == ["America/Boise", "America/Los_Angeles"]


def test_two_zones_morning_waits_for_the_later_zone():
    # 08:30 in Boise (Mountain) is 07:30 in the Pacific part of the area code.
    now = utc(2025, 6, 16, 14, 30)
    hold = quiet_hours_hold(phone=IDAHO, now=now)
    assert hold is not None
    assert hold.until == utc(2025, 6, 16, 15, 0)  # 08:00 PDT, 09:00 MDT
    assert hold.zones == ("America/Boise", "America/Los_Angeles")
    # Either zone alone would give another answer: Boise is open already.
    assert quiet_hours_hold(phone=IDAHO, now=now, contact_tz="America/Boise") is None


def test_two_zones_evening_waits_for_both_next_morning():
    # 21:30 MDT is 20:30 PDT: Pacific is open, Mountain is not, so the message waits; Boise opens
    # at 08:00 MDT (07:00 PDT), but only 08:00 PDT opens both.
    now = utc(2025, 6, 17, 3, 30)
    hold = quiet_hours_hold(phone=IDAHO, now=now)
    assert hold is not None
    assert hold.until == utc(2025, 6, 17, 15, 0)
    assert quiet_hours_hold(phone=IDAHO, now=now, contact_tz="America/Los_Angeles") is None
    assert quiet_hours_hold(phone=IDAHO, now=utc(2025, 6, 17, 15, 0)) is None


def test_contact_time_zone_overrides_the_number():
    # A Manhattan number whose contact lives in California: 21:30 EDT is 18:30 PDT.
    west = "America/Los_Angeles"
    late_east = at(NY, 2025, 6, 10, 21, 30)
    assert quiet_hours_hold(phone=NY_MANHATTAN, now=late_east, contact_tz=west) is None
    early_west = at(NY, 2025, 6, 10, 9, 0)  # 06:00 PDT
    hold = quiet_hours_hold(phone=NY_MANHATTAN, now=early_west, contact_tz=west)
    assert hold == Hold(
        until=utc(2025, 6, 10, 15, 0),
        rule="US federal 08:00–21:00",
        zones=("America/Los_Angeles",),
    )


def test_contact_time_zone_keeps_the_state_rule_of_the_number():
    # The state still comes from the area code: a Florida number read on Pacific time at 20:30.
    now = at(ZoneInfo("America/Los_Angeles"), 2025, 6, 10, 20, 30)
    hold = quiet_hours_hold(phone=FL_MIAMI, now=now, contact_tz="America/Los_Angeles")
    assert hold is not None
    assert hold.until == utc(2025, 6, 11, 15, 0)
    assert hold.rule == "Florida: 08:00–20:00"


# --- outside the US ------------------------------------------------------------------------------


def test_uk_number_follows_the_default_window_in_london():
    assert zones_for(UK_LONDON) == ["Europe/London"]
    assert state_for(UK_LONDON) is None
    assert quiet_hours_hold(phone=UK_LONDON, now=at(LONDON, 2025, 1, 15, 20, 59)) is None
    hold = quiet_hours_hold(phone=UK_LONDON, now=at(LONDON, 2025, 1, 15, 21, 0))
    assert hold == Hold(
        until=utc(2025, 1, 16, 8, 0),  # GMT
        rule="Default 08:00–21:00",
        zones=("Europe/London",),
    )
    summer = quiet_hours_hold(phone=UK_LONDON, now=at(LONDON, 2025, 7, 1, 7, 30))
    assert summer is not None
    assert summer.until == utc(2025, 7, 1, 7, 0)  # 08:00 BST


def test_canadian_number_is_not_a_state():
    assert state_for("+14165550123") is None
    hold = quiet_hours_hold(phone="+14165550123", now=at(NY, 2025, 6, 10, 20, 30))
    assert hold is None  # the default window, not a stricter state's


# --- daylight saving time ------------------------------------------------------------------------


def test_spring_forward_morning_opens_at_eight_daylight_time():
    # 2025-03-09 01:30 EST; clocks jump 02:00 -> 03:00, so 08:00 EDT is 12:00 UTC, not 13:00.
    hold = quiet_hours_hold(phone=NY_MANHATTAN, now=utc(2025, 3, 9, 6, 30))
    assert hold is not None
    assert hold.until == utc(2025, 3, 9, 12, 0)
    assert hold.until.astimezone(NY).hour == 8


def test_texas_saturday_night_across_spring_forward():
    # Saturday 22:00 CST waits for Sunday 12:00 CDT, an hour of wall time lost in between.
    hold = quiet_hours_hold(phone=TX_DALLAS, now=at(CHICAGO, 2025, 3, 8, 22, 0))
    assert hold is not None
    assert hold.until == utc(2025, 3, 9, 17, 0)
    assert hold.rule == "Texas: Sunday 12:00–21:00"


def test_fall_back_morning_opens_at_eight_standard_time():
    hold = quiet_hours_hold(phone=NY_MANHATTAN, now=utc(2025, 11, 2, 5, 30))  # 01:30 EDT
    assert hold is not None
    assert hold.until == utc(2025, 11, 2, 13, 0)  # 08:00 EST


def test_uk_spring_forward():
    hold = quiet_hours_hold(phone=UK_LONDON, now=utc(2025, 3, 30, 0, 30))
    assert hold is not None
    assert hold.until == utc(2025, 3, 30, 7, 0)  # 08:00 BST


def test_window_opening_inside_a_spring_forward_gap_opens_at_the_transition():
    # No real rule starts in a gap, but the search must: 02:30 never happens on 2025-03-09 in New
    # York, and the window is open from the jump (03:00 EDT, 07:00 UTC).
    rule = Rule("test", (Window(time(2, 30), time(4), "02:30–04:00"),) * 7)
    opening = earliest_open(rule, [NY], utc(2025, 3, 9, 5, 0))
    assert opening is not None
    assert opening[0] == utc(2025, 3, 9, 7, 0)


def test_window_opening_at_an_ambiguous_time_opens_twice():
    # 01:30 happens twice on 2025-11-02 in New York; after the first 01:30–01:45 (EDT) closes,
    # the second (EST) opens it again.
    rule = Rule("test", (Window(time(1, 30), time(1, 45), "01:30–01:45"),) * 7)
    first = earliest_open(rule, [NY], utc(2025, 11, 2, 5, 0))
    second = earliest_open(rule, [NY], utc(2025, 11, 2, 5, 50))
    assert first is not None
    assert second is not None
    assert first[0] == utc(2025, 11, 2, 5, 30)
    assert second[0] == utc(2025, 11, 2, 6, 30)


# --- zones and states ----------------------------------------------------------------------------


def test_zones_drop_unknown_and_fall_back():
    assert zones_for(TX_EL_PASO) == ["America/Denver"]
    # Toll-free: libphonenumber answers with all of NANP, which can never share a window.
    assert zones_for("+18005550199") == list(NANP_UNPLACED_ZONES)
    # Invalid for libphonenumber (555 is no area code): the same NANP-wide answer.
    assert zones_for("+15555551234") == list(NANP_UNPLACED_ZONES)
    # Universal freephone has no zone at all.
    assert zones_for("+80012345678") == ["UTC"]
    with pytest.raises(ValueError):
        zones_for("not a number")


def test_toll_free_number_waits_for_the_whole_us():
    # 09:00 EDT is 03:00 in Honolulu: held until 08:00 HST, 14:00 EDT.
    hold = quiet_hours_hold(phone="+18005550199", now=at(NY, 2025, 6, 10, 9, 0))
    assert hold is not None
    assert hold.until == utc(2025, 6, 10, 18, 0)
    assert hold.rule == "US federal 08:00–21:00"


def test_state_for():
    assert state_for(TX_DALLAS) == "TX"
    assert state_for(FL_MIAMI) == "FL"
    assert state_for("+12025550123") == "DC"
    assert state_for("+18005550199") is None
    assert state_for(UK_LONDON) is None


# --- the area-code table -------------------------------------------------------------------------

STATES = {
    *("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA"),
    *("KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ"),
    *("NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT"),
    *("VA", "WA", "WV", "WI", "WY", "DC"),
}


def read_table() -> list[dict[str, str]]:
    """The CSV rows as written, duplicates and all."""
    with AREA_CODES_CSV.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["area_code", "state"]
        return list(reader)


def test_area_code_table_is_complete_and_clean():
    rows = read_table()
    assert len(rows) >= 300
    codes = [row["area_code"] for row in rows]
    assert len(codes) == len(set(codes))
    for row in rows:
        assert row["state"] in STATES, row
        assert len(row["area_code"]) == 3 and row["area_code"].isdigit(), row
        assert row["area_code"][0] in "23456789", row  # NANP area codes never start with 0 or 1
    assert set(STATES) == {row["state"] for row in rows}  # every state has at least one code
    assert us_area_codes() == {row["area_code"]: row["state"] for row in rows}


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("212", "NY"),
        ("213", "CA"),
        ("305", "FL"),
        ("312", "IL"),
        ("404", "GA"),
        ("415", "CA"),
        ("469", "TX"),
        ("512", "TX"),
        ("617", "MA"),
        ("702", "NV"),
        ("713", "TX"),
        ("860", "CT"),
        ("201", "NJ"),
        ("410", "MD"),
        ("601", "MS"),
        ("405", "OK"),
        ("206", "WA"),
        ("303", "CO"),
        ("602", "AZ"),
        ("808", "HI"),
    ],
)
def test_well_known_area_codes(code, state):
    assert us_area_codes()[code] == state


@pytest.mark.parametrize("code", ["416", "604", "514", "613", "403", "787", "876", "800", "888"])
def test_canadian_caribbean_and_toll_free_codes_are_absent(code):
    assert code not in us_area_codes()


# --- properties ----------------------------------------------------------------------------------

SAMPLE_NUMBERS = [
    TX_DALLAS,
    TX_EL_PASO,
    FL_MIAMI,
    "+18505551234",  # Florida panhandle
    CT_HARTFORD,
    NY_MANHATTAN,
    "+12015551234",  # New Jersey
    "+14055551234",  # Oklahoma
    IDAHO,  # two zones
    "+17015551234",  # North Dakota: two zones
    "+19075551234",  # Alaska: Adak and Anchorage
    "+18085551234",  # Hawaii, no DST
    "+18005550199",  # toll-free, the NANP fallback
    "+14165550123",  # Toronto
    UK_LONDON,
    "+61412345678",  # Australian mobile: eight zones
    "+79123456789",  # Russian mobile: sixteen zones
]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(phone=st.sampled_from(SAMPLE_NUMBERS), now=instants, fraction=st.floats(0, 1))
def test_hold_lands_on_the_first_instant_the_window_holds_everywhere(phone, now, fraction):
    zones = tuple(zones_for(phone))
    hold = quiet_hours_hold(phone=phone, now=now)
    if hold is None:
        assert window_holds(phone, now, zones)
        return
    assert hold.zones == zones
    assert hold.until > now
    assert hold.until.utcoffset() == timedelta(0)
    assert not window_holds(phone, now, zones)
    assert window_holds(phone, hold.until, zones)
    assert quiet_hours_hold(phone=phone, now=hold.until) is None
    # Every instant in between is held until the same moment: nothing earlier opens.
    between = now + (hold.until - now) * fraction
    if between < hold.until:
        again = quiet_hours_hold(phone=phone, now=between)
        assert again is not None
        assert again.until == hold.until


@settings(max_examples=40, deadline=None)
@given(
    phone=st.sampled_from([IDAHO, TX_DALLAS, "+17015551234", FL_MIAMI, UK_LONDON]),
    now=instants.map(lambda instant: instant.replace(second=0, microsecond=0)),
)
def test_hold_agrees_with_a_minute_by_minute_scan(phone, now):
    zones = tuple(zones_for(phone))
    scan = now
    while not window_holds(phone, scan, zones):
        scan += timedelta(minutes=1)
    hold = quiet_hours_hold(phone=phone, now=now)
    assert (hold.until if hold else now) == scan
