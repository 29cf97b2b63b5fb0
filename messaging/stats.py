"""The dashboard's numbers, read from the hourly summaries (messaging/summaries.py), never from
the messages: a fixed number of queries and a few hundred rows however many messages there are.

Days are the workspace's: the hourly UTC buckets are grouped by the local date their hour starts
in. In a zone whose offset is not a whole hour (India, Nepal) a bucket straddling midnight counts
wholly on the day it starts in.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.db.models.functions import TruncDate

from workspaces.clock import workspace_zone
from workspaces.models import SpendMonth, Workspace, units_to_usd
from workspaces.selectors import month_start

from .models import CampaignCounter, Status
from .summaries import FAILED_STATUSES, UNKNOWN_COUNTRY, MessageHourStat, MessageStatDelta

DAYS = 30
WINDOWS = (("today", 1), ("7 days", 7), ("30 days", 30))
SHOWN_STATUSES = tuple(s for s in Status if s != Status.RECEIVED)
FAILURE_DIMENSIONS = ("error_code", "country", "sender")
TOP_KEYS = 6  # the rest of a failure dimension's keys add up under "Other"
OTHER = "Other"


@dataclass
class Series:
    """One failure dimension over the days: key → a count per day, largest keys first."""

    dimension: str
    keys: list[str] = field(default_factory=list)
    counts: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every failure counted in the series."""
        return sum(sum(row) for row in self.counts.values())


@dataclass
class Summary:
    """What the dashboard shows, for one workspace and mode."""

    timezone: str
    days: list[date]
    by_status: dict[str, dict[str, int]]  # window → status → count
    delivery_rate: dict[str, Decimal | None]  # window → delivered ÷ (delivered + failures)
    failures: dict[str, Series]
    spend: Decimal
    spend_limit: Decimal | None
    sent_total: int

    @property
    def spend_percent(self) -> int | None:
        """Month-to-date spend as a whole percentage of the limit (None without a limit)."""
        if not self.spend_limit:
            return None
        return int(self.spend * 100 / self.spend_limit)


def _day_rows(*, workspace: Workspace, test: bool, zone: ZoneInfo, first: date):
    """(day, dimension, key, count) grouped in the database, from the hourly rows and from the
    deltas not yet folded into them: two queries, ≤ days × keys rows each."""
    since = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC) - timedelta(hours=1)
    for model in (MessageHourStat, MessageStatDelta):
        rows = model.objects.filter(workspace=workspace, test=test, hour__gte=since)
        rows = rows.annotate(day=TruncDate("hour", tzinfo=zone)).values("day", "dimension", "key")
        yield from rows.annotate(total=Sum("n")).values_list("day", "dimension", "key", "total")


def _rate(counts: dict[str, int]) -> Decimal | None:
    """delivered ÷ (delivered + undelivered + failed), to one decimal of a percent."""
    done = counts.get(Status.DELIVERED, 0) + sum(counts.get(s, 0) for s in FAILED_STATUSES)
    if not done:
        return None
    return (Decimal(counts.get(Status.DELIVERED, 0) * 100) / done).quantize(Decimal("0.1"))


def _series(dimension: str, per_day: dict, days: list[date]) -> Series:
    """The dimension's top keys by total, the rest summed as Other, a count per day each."""
    totals = defaultdict(int)
    for day_counts in per_day.values():
        for key, n in day_counts.items():
            totals[key] += n
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    top = ranked[:TOP_KEYS] if len(ranked) <= TOP_KEYS else ranked[: TOP_KEYS - 1]
    series = Series(dimension=dimension, keys=list(top))
    for key in top:
        series.counts[key] = [per_day.get(d, {}).get(key, 0) for d in days]
    if len(ranked) > len(top):
        rest = set(ranked) - set(top)
        series.keys.append(OTHER)
        series.counts[OTHER] = [
            sum(n for k, n in per_day.get(d, {}).items() if k in rest) for d in days
        ]
    return series


def _spend(workspace: Workspace, now: datetime) -> Decimal:
    """Month-to-date spend (the current UTC month's reservations and charges)."""
    units = SpendMonth.objects.filter(workspace=workspace, month=month_start(now))
    return units_to_usd(units.values_list("units", flat=True).first() or 0)


def dashboard_summary(*, workspace: Workspace, test: bool, now: datetime) -> Summary:
    """Messages by status today / 7 / 30 days, delivery rates, failures per day by error code,
    country and sender over 30 days, and spend against the limit: three queries."""
    zone = workspace_zone(workspace)
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    status_by_day = defaultdict(lambda: defaultdict(int))
    failures = {d: defaultdict(lambda: defaultdict(int)) for d in FAILURE_DIMENSIONS}
    for day, dimension, key, total in _day_rows(
        workspace=workspace, test=test, zone=zone, first=days[0]
    ):
        if not days[0] <= day <= today:
            continue
        target = status_by_day if dimension == "status" else failures.get(dimension)
        if target is not None:
            target[day][key] += int(total)
    by_status = {}
    for name, length in WINDOWS:
        counts = dict.fromkeys(SHOWN_STATUSES, 0)
        for day in days[-length:]:
            for status, n in status_by_day[day].items():
                counts[status] = counts.get(status, 0) + n
        by_status[name] = counts
    return Summary(
        timezone=str(zone),
        days=days,
        by_status=by_status,
        delivery_rate={name: _rate(counts) for name, counts in by_status.items()},
        failures={dim: _series(dim, failures[dim], days) for dim in FAILURE_DIMENSIONS},
        spend=_spend(workspace, now),
        spend_limit=workspace.spend_limit,
        sent_total=sum(by_status["30 days"].values()),
    )


def country_label(code: str) -> str:
    """How a country key reads: its ISO code, or `Unknown`."""
    return "Unknown" if code == UNKNOWN_COUNTRY else code


FINAL_FOR_PROGRESS = (Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED)


def campaign_final_counts(*, campaign_ids: list[str]) -> dict[str, int]:
    """Per campaign, how many of its messages are final: one grouped read of the counters."""
    rows = CampaignCounter.objects.filter(
        campaign_id__in=campaign_ids, status__in=FINAL_FOR_PROGRESS
    )
    found = dict.fromkeys(campaign_ids, 0)
    for campaign_id, total in (
        rows.values("campaign_id").annotate(t=Sum("n")).values_list("campaign_id", "t")
    ):
        found[campaign_id] = int(total or 0)
    return found
