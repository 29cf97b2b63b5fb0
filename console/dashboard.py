"""The dashboard page's data: the summary selector's numbers shaped as charts and tables, and the
running campaigns with their progress (campaigns live above messaging, so they are read here)."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from campaigns.models import Campaign
from messaging.stats import FAILURE_DIMENSIONS, SHOWN_STATUSES, Summary, campaign_final_counts
from messaging.stats import country_label as _country_label

from .access import Seat

RUNNING_SHOWN = 10
# Colours that read apart for most kinds of colour blindness (Okabe–Ito), in a fixed order.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8c959f")
STATUS_COLOURS = ("#0072B2", "#56B4E9", "#E69F00")  # today, 7 days, 30 days
FAILURE_TITLES = {
    "error_code": "Failures by error code",
    "country": "Failures by country",
    "sender": "Failures by sender",
}
KEY_HEADINGS = {"error_code": "Error code", "country": "Country", "sender": "Sender"}


def status_chart(summary: Summary) -> dict:
    """Messages by status, one bar per window (today, 7 days, 30 days)."""
    windows = list(summary.by_status)
    return {
        "type": "bar",
        "labels": [str(s).capitalize() for s in SHOWN_STATUSES],
        "datasets": [
            {
                "label": window.capitalize(),
                "data": [summary.by_status[window][s] for s in SHOWN_STATUSES],
                "backgroundColor": STATUS_COLOURS[i],
            }
            for i, window in enumerate(windows)
        ],
    }


def status_rows(summary: Summary) -> list[dict]:
    """The status table: one row per status, a count per window."""
    windows = list(summary.by_status)
    return [
        {"status": str(s), "counts": [summary.by_status[w][s] for w in windows]}
        for s in SHOWN_STATUSES
    ]


def _key_label(dimension: str, key: str) -> str:
    """How a failure key reads in a legend and a table heading."""
    return _country_label(key) if dimension == "country" else key


def _day_row(label: str, counts: list[int]) -> str:
    """One table row: the day, a count per key, the total. Built here rather than in the
    template: 30 rows × 3 tables of cells would otherwise be most of the page's server time
    (the counts are ints and the label is escaped, so the row is safe)."""
    cells = "".join(f'<td class="num">{n}</td>' for n in [*counts, sum(counts)])
    return mark_safe(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')  # noqa: S308


def failure_section(summary: Summary, dimension: str) -> dict:
    """One failure dimension: its stacked chart per day and the table of its numbers."""
    series = summary.failures[dimension]
    labels = [f"{d:%b} {d.day}" for d in summary.days]
    keys = [_key_label(dimension, k) for k in series.keys]
    chart = {
        "type": "bar",
        "stacked": True,
        "labels": labels,
        "datasets": [
            {
                "label": keys[i],
                "data": series.counts[key],
                "backgroundColor": PALETTE[i % len(PALETTE)],
            }
            for i, key in enumerate(series.keys)
        ],
    }
    rows = [
        _day_row(labels[i], [series.counts[k][i] for k in series.keys])
        for i in range(len(summary.days) - 1, -1, -1)  # newest day first
    ]
    return {
        "dimension": dimension,
        "title": FAILURE_TITLES[dimension],
        "key_heading": KEY_HEADINGS[dimension],
        "chart_id": f"chart-failures-{dimension.replace('_', '-')}",
        "chart": chart,
        "keys": keys,
        "rows": rows,
        "total": series.total,
    }


def failure_sections(summary: Summary) -> list[dict]:
    """The three failure dimensions, in the contract's order."""
    return [failure_section(summary, d) for d in FAILURE_DIMENSIONS]


@dataclass
class RunningCampaign:
    name: str
    url: str | None
    done: int
    total: int

    @property
    def percent(self) -> int:
        """How far along, in whole percent."""
        return int(self.done * 100 / self.total) if self.total else 100


def _campaign_url(seat: Seat, campaign: Campaign) -> str | None:
    """The campaign's console page, once that page exists."""
    try:
        return reverse(
            "console:campaign", kwargs={"slug": seat.workspace.slug, "campaign_id": campaign.pk}
        )
    except NoReverseMatch:
        return None


def running_campaigns(seat: Seat) -> list[RunningCampaign]:
    """Running campaigns of the mode shown, newest first, with final ÷ (recipients − skipped):
    two queries however many there are."""
    if not seat.can("campaigns:read"):
        return []
    found = list(
        Campaign.objects.filter(
            workspace=seat.workspace, test=seat.is_test, status=Campaign.RUNNING
        ).order_by("-launched_at", "-pk")[:RUNNING_SHOWN]
    )
    final = campaign_final_counts(campaign_ids=[c.pk for c in found])
    return [
        RunningCampaign(
            name=c.name,
            url=_campaign_url(seat, c),
            done=final[c.pk],
            total=max(c.recipients - sum((c.skipped or {}).values()), 0),
        )
        for c in found
    ]


def next_steps(seat: Seat) -> list[dict]:
    """What to do when there is nothing to show yet: send a message, read the docs."""
    steps = []
    if seat.can("messages:send"):
        try:
            url = reverse("console:send", kwargs={"slug": seat.workspace.slug})
            steps.append({"label": "Send a message", "url": url})
        except NoReverseMatch:
            pass
    steps.append({"label": "Read the API docs", "url": reverse("docs")})
    return steps
