"""Prices and spend: per-country per-segment rates (data + workspace overrides), reservation at
accept by one conditional UPDATE, and settlement to the final charge (CONTRACT §4)."""

import csv
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.db.models import F

from webhooks.events import emit
from workspaces import clock
from workspaces.models import SpendMonth, Workspace, units_to_usd, usd_to_units
from workspaces.selectors import month_start

from .models import Status

PRICE_TABLE = Path(__file__).parent / "data" / "prices.csv"
PROCESSING_FEE = Decimal("0.0010")
ZERO = Decimal("0")


@cache
def base_rates() -> dict[str, Decimal]:
    """Country → USD per segment, from the data table; '*' is every other country."""
    with PRICE_TABLE.open() as table:
        return {row["country"]: Decimal(row["per_segment_usd"]) for row in csv.DictReader(table)}


def rate_for(*, workspace: Workspace, country: str) -> Decimal:
    """The workspace's override for the country, else the table's rate."""
    override = workspace.price_overrides.get(country)
    if override is not None:
        return Decimal(override)
    rates = base_rates()
    return rates.get(country, rates["*"])


def price_for(*, workspace: Workspace, country: str, segments: int, test: bool) -> Decimal:
    """What a message costs: segments × rate; test traffic is free."""
    if test:
        return ZERO
    return rate_for(workspace=workspace, country=country) * segments


def final_charge(*, price: Decimal, status: str, reached_provider: bool) -> Decimal:
    """The charge once a message's fate is known (CONTRACT §4 settlement rules)."""
    if status in (Status.SENT, Status.DELIVERED, Status.UNDELIVERED):
        return price
    if status == Status.FAILED and reached_provider:
        return min(PROCESSING_FEE, price)
    return ZERO


def spend_reserve(*, workspace: Workspace, amount: Decimal, month=None) -> bool:
    """Add `amount` to the month's spend unless that would pass the limit: one atomic statement.

    The limit is re-checked by the database after any lock wait, so concurrent reservations can
    never pass it. Only a month's first reservation needs a second statement to create its row.
    """
    units = usd_to_units(amount)
    if units <= 0:
        return True
    month = month or month_start()
    row = SpendMonth.objects.filter(workspace_id=workspace.pk, month=month)
    if workspace.spend_limit is not None:
        row = row.filter(units__lte=usd_to_units(workspace.spend_limit) - units)
    if not row.update(units=F("units") + units):
        # No row for the month yet (or over the limit): make sure it exists, decide once more.
        SpendMonth.objects.get_or_create(workspace_id=workspace.pk, month=month)
        if not row.update(units=F("units") + units):
            return False
    spend_alerts(workspace=workspace, month=month)
    return True


SPEND_ALERT_PERCENTS = (80, 100)


def spend_alerts(*, workspace: Workspace, month) -> None:
    """Emit `spend.threshold_reached` once per month at 80 % and at 100 % of the limit.

    Runs in the reserving transaction, after the spend row was updated (so it is locked): the
    conditional UPDATE on `alerted_percent` lets exactly one reservation announce each level.
    """
    if not workspace.spend_limit:
        return
    limit_units = usd_to_units(workspace.spend_limit)
    row = SpendMonth.objects.filter(workspace_id=workspace.pk, month=month)
    spent = row.values_list("units", flat=True).first() or 0
    reached = [p for p in SPEND_ALERT_PERCENTS if spent * 100 >= limit_units * p]
    if reached and row.filter(alerted_percent__lt=reached[-1]).update(alerted_percent=reached[-1]):
        emit(
            workspace_id=workspace.pk,
            test=False,
            type="spend.threshold_reached",
            data={
                "threshold_percent": reached[-1],
                "spend_limit": str(workspace.spend_limit),
                "month_to_date_spend": str(units_to_usd(spent)),
                "month": month.isoformat()[:7],
            },
        )


def spend_lock(*, workspace_id: str, since) -> None:
    """Lock the workspace's spend rows from `since`'s month on, oldest first.

    Taken before a bulk move of messages whose triggers update campaign counters, so that every
    path takes spend rows before counter rows, as a report's settlement does.
    """
    rows = SpendMonth.objects.select_for_update().filter(
        workspace_id=workspace_id, month__gte=month_start(since)
    )
    list(rows.order_by("month").values_list("pk", flat=True))


def spend_adjust(*, workspace_id: str, month, delta: Decimal) -> None:
    """Move the month's spend by `delta` (settlement: release or charge the difference)."""
    if delta:
        SpendMonth.objects.get_or_create(workspace_id=workspace_id, month=month)
        SpendMonth.objects.filter(workspace_id=workspace_id, month=month).update(
            units=F("units") + usd_to_units(delta)
        )


def settle(message, *, status: str, reached_provider: bool) -> None:
    """Settle a message at its final charge, releasing the rest of its reservation (once)."""
    if message.settled_at is not None:
        return
    charge = final_charge(price=message.price, status=status, reached_provider=reached_provider)
    spend_adjust(
        workspace_id=message.workspace_id,
        month=month_start(message.created_at),
        delta=charge - message.reserved,
    )
    message.reserved, message.settled_at = charge, clock.now()
