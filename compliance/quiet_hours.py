"""Quiet hours: when a marketing message may reach its recipient, by their local clock (§6).

Pure functions, no database. Time zones come from libphonenumber (DESIGN rule 10) unless the
contact has one; the US state comes from ``data/us_area_codes.csv``. Where a number maps to several
zones, a message may go only at an instant that is inside the window in every one of them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as pn_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

AREA_CODES_CSV = Path(__file__).with_name("data") / "us_area_codes.csv"

# A number libphonenumber cannot place in NANP (toll-free, 5XX, an unknown area code) comes back
# with every NANP zone, Guam to Pago Pago: 21 hours apart, so no window could ever hold in all of
# them. Such numbers must still respect the US recipients they most likely reach, so they get the
# US zones from Eastern to Hawaii (common window: 08:00–21:00 for all of them is about 7 hours).
_NANP_WIDE = frozenset(TIMEZONE_DATA["1"])
NANP_UNPLACED_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)
# A number with no zone at all (e.g. +800 universal freephone) is read on UTC: there is nothing
# better to go on, and it keeps the rule deterministic.
FALLBACK_ZONE = "UTC"

# Windows repeat weekly, so a week and a day of candidates always contains the next opening when
# one exists (the day before "now" too, for zones already past midnight relative to UTC).
_HORIZON_DAYS = 8


@dataclass(frozen=True)
class Window:
    """One day's sending window in recipient-local wall time: start inclusive, end exclusive."""

    start: time
    end: time
    name: str

    def admits(self, local: time) -> bool:
        """Whether a local wall-clock time falls inside this window."""
        return self.start <= local < self.end


@dataclass(frozen=True)
class Rule:
    """A jurisdiction's windows, one per weekday, Monday first (date.weekday() order)."""

    name: str
    windows: tuple[Window, ...]

    def window_on(self, day: date) -> Window:
        """The window in force on a local calendar day."""
        return self.windows[day.weekday()]


@dataclass(frozen=True)
class Hold:
    """A send that must wait: until when (UTC), under which rule, judged in which zones."""

    until: datetime
    rule: str
    zones: tuple[str, ...]


def _every_day(name: str, start: int, end: int) -> Rule:
    """A rule with the same window every day of the week."""
    window = Window(time(start), time(end), name)
    return Rule(name, (window,) * 7)


DEFAULT_RULE = _every_day("Default 08:00–21:00", 8, 21)
US_FEDERAL_RULE = _every_day("US federal 08:00–21:00", 8, 21)
_TX_WEEKDAY = Window(time(9), time(21), "Texas: 09:00–21:00")
_TX_SUNDAY = Window(time(12), time(21), "Texas: Sunday 12:00–21:00")
STATE_RULES: dict[str, Rule] = {
    "FL": _every_day("Florida: 08:00–20:00", 8, 20),
    "OK": _every_day("Oklahoma: 08:00–20:00", 8, 20),
    "MD": _every_day("Maryland: 08:00–20:00", 8, 20),
    "MS": _every_day("Mississippi: 08:00–20:00", 8, 20),
    "NJ": _every_day("New Jersey: 08:00–20:00", 8, 20),
    "CT": _every_day("Connecticut: 09:00–20:00", 9, 20),
    "TX": Rule("Texas: 09:00–21:00, Sunday 12:00–21:00", (_TX_WEEKDAY,) * 6 + (_TX_SUNDAY,)),
}


def _parse(e164: str) -> phonenumbers.PhoneNumber:
    """Parse an E.164 number, raising ValueError (not libphonenumber's own error) when it is not."""
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not an E.164 phone number: {e164!r}") from exc


@cache
def us_area_codes() -> dict[str, str]:
    """The area code → state table, read once per process."""
    with AREA_CODES_CSV.open(newline="", encoding="utf-8") as handle:
        return {row["area_code"]: row["state"] for row in csv.DictReader(handle)}


def state_for(e164: str) -> str | None:
    """The two-letter US state (or DC) of a US number's area code; None for any other number."""
    number = _parse(e164)
    national = str(number.national_number)
    if number.country_code != 1 or len(national) != 10:
        return None
    # Canadian and Caribbean NANP codes are absent from the table, so they read as "not a state".
    return us_area_codes().get(national[:3])


def rule_for(e164: str) -> Rule:
    """The quiet-hours rule for a number: its US state's if stricter, else the default window."""
    state = state_for(e164)
    if state is not None:
        return STATE_RULES.get(state, US_FEDERAL_RULE)
    # A US number with no state (toll-free, say) still falls under the federal rule; the window is
    # the default's either way, only the name on the timeline differs.
    if phonenumbers.region_code_for_number(_parse(e164)) == "US":
        return US_FEDERAL_RULE
    return DEFAULT_RULE


def zones_for(e164: str) -> list[str]:
    """The IANA zones a number may be in, per libphonenumber, with the fallbacks noted above."""
    number = _parse(e164)
    zones = _known(pn_timezone.time_zones_for_number(number))
    if not zones:
        # Invalid for libphonenumber (e.g. an unassigned exchange): its prefix table still knows
        # the area code's or the country's zones, a better guess than none.
        zones = _known(pn_timezone.time_zones_for_geographical_number(number))
    if not zones:
        return [FALLBACK_ZONE]
    if number.country_code == 1 and frozenset(zones) == _NANP_WIDE:
        return list(NANP_UNPLACED_ZONES)
    return zones


def _known(zones: Sequence[str]) -> list[str]:
    """Drop libphonenumber's "Etc/Unknown" placeholder."""
    return [zone for zone in zones if zone != pn_timezone.UNKNOWN_TIMEZONE]


def quiet_hours_hold(*, phone: str, now: datetime, contact_tz: str | None = None) -> Hold | None:
    """None when a marketing send to phone may go now; else the Hold saying until when."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone_names = (contact_tz,) if contact_tz else tuple(zones_for(phone))
    zones = [ZoneInfo(name) for name in zone_names]
    now = now.astimezone(UTC)
    opening = earliest_open(rule_for(phone), zones, now)
    if opening is None:
        # Unreachable for zones_for's answers (every such set shares a window); a caller passing
        # an impossible set must get an error, never a silent "send now".
        raise ValueError(f"the window never holds in all of {zone_names} in {_HORIZON_DAYS} days")
    until, window = opening
    if until == now:
        return None
    return Hold(until=until, rule=window.name, zones=zone_names)


def earliest_open(
    rule: Rule, zones: Sequence[ZoneInfo], now: datetime
) -> tuple[datetime, Window] | None:
    """The earliest instant ≥ now inside the rule's window in every zone, with the window that
    opened it; None if there is none within the horizon."""
    now = now.astimezone(UTC)
    if all(_is_open(rule, zone, now) for zone in zones):
        return now, rule.window_on(now.astimezone(zones[0]).date())
    # The set of instants open in every zone is an intersection of intervals, so its first point
    # after a closed "now" is where some zone opens: a local window start, or a UTC-offset
    # transition that jumps a zone's clock into its window. Those are the only candidates.
    for instant, zone in _candidate_openings(rule, zones, now):
        if all(_is_open(rule, other, instant) for other in zones):
            return instant, rule.window_on(instant.astimezone(zone).date())
    return None


def _is_open(rule: Rule, zone: ZoneInfo, instant: datetime) -> bool:
    """Whether the rule's window holds at this instant on this zone's wall clock."""
    local = instant.astimezone(zone)
    return rule.window_on(local.date()).admits(local.time())


def _candidate_openings(
    rule: Rule, zones: Sequence[ZoneInfo], now: datetime
) -> list[tuple[datetime, ZoneInfo]]:
    """Every instant after now, within the horizon, at which some zone's window may open."""
    horizon = now + timedelta(days=_HORIZON_DAYS)
    found: set[tuple[datetime, ZoneInfo]] = set()
    for zone in zones:
        first = now.astimezone(zone).date() - timedelta(days=1)
        for offset in range(_HORIZON_DAYS + 2):
            day = first + timedelta(days=offset)
            start = rule.window_on(day).start
            # Both folds: an ambiguous start (clocks going back) happens twice; a start inside a
            # spring-forward gap maps to neither exactly, which the transition below covers.
            for fold in (0, 1):
                local = datetime.combine(day, start, tzinfo=zone).replace(fold=fold)
                found.add((local.astimezone(UTC), zone))
            found.update((t, zone) for t in _transitions(zone, day))
    ordered = sorted(found, key=lambda pair: (pair[0], pair[1].key))
    return [(instant, zone) for instant, zone in ordered if now < instant <= horizon]


def _transitions(zone: ZoneInfo, day: date) -> Iterator[datetime]:
    """The UTC-offset change between this local noon and the next, found to the second."""
    low = int(datetime.combine(day, time(12), tzinfo=zone).timestamp())
    high = int(datetime.combine(day + timedelta(days=1), time(12), tzinfo=zone).timestamp())
    before = _offset(zone, low)
    if _offset(zone, high) == before:
        return
    # Bisect on whole seconds: tz transitions fall on whole seconds, so `high` ends exactly on one.
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(zone, middle) == before:
            low = middle
        else:
            high = middle
    yield datetime.fromtimestamp(high, UTC)


def _offset(zone: ZoneInfo, timestamp: int) -> timedelta | None:
    """The zone's UTC offset at a POSIX timestamp."""
    return datetime.fromtimestamp(timestamp, zone).utcoffset()
