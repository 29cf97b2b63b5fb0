"""The batch send: up to 1,000 messages judged one by one, in order, accepted in one transaction.

Kept beside `send` because its shape differs: every per-item rule of `message_send`
holds (policy, duplicates, spend in request order), but rows are inserted in bulk and the spend
row is locked once, so a batch costs a handful of statements instead of a thousand transactions.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction

from workspaces import clock
from workspaces.errors import TernError
from workspaces.models import SpendMonth, Workspace, usd_to_units
from workspaces.phones import to_e164
from workspaces.selectors import month_start

from .. import pricing
from ..lifecycle import announce_many, enqueue_many_on_commit
from ..models import DuplicateGuard, Message, MessageEvent
from ..policy import Lookups
from ..providers.registry import provider_name_for
from .send import SendInput, accept_events, fingerprint, judge, new_message


def _lookups_for(workspace: Workspace, items: list) -> Lookups:
    """Senders remembered per number, and every recipient's suppression fetched at once."""
    lookups = Lookups(workspace)
    phones = {to_e164(i.to, workspace.default_country) for i in items if isinstance(i, SendInput)}
    lookups.preload_suppressions(phones - {None})
    return lookups


def message_send_batch(*, workspace: Workspace, test: bool, items: list, received_at=None) -> list:
    """Judge each item as if sent alone, in order; return a Message or a TernError per item.

    `items` holds SendInput objects, or TernErrors for items that failed validation already.
    """
    judged, lookups = [], _lookups_for(workspace, items)
    for item in items:
        if isinstance(item, TernError):
            judged.append(item)
            continue
        try:
            judged.append((item, judge(workspace=workspace, test=test, data=item, lookups=lookups)))
        except TernError as error:
            judged.append(error)
    for attempt in range(2):
        try:
            return _accept(workspace, test, judged, received_at)
        except IntegrityError:
            # A lone send took one of our fingerprints meanwhile: judge duplicates again, once.
            if attempt:
                raise
    return []


def _accept(workspace: Workspace, test: bool, judged: list, received_at) -> list:
    """Accept the judged items that pass duplicates and spend, in order; one transaction."""
    now = clock.now()
    with transaction.atomic():
        batch = _Batch(workspace, test, judged, received_at or now, now)
        results = [
            entry if isinstance(entry, TernError) else batch.accept(*entry) for entry in judged
        ]
        _store(workspace, batch.spend, batch.guards, batch.messages, batch.events, now)
    return results


class _Batch:
    """What a batch has taken so far: its spend, fingerprints, rows and events."""

    def __init__(self, workspace: Workspace, test: bool, judged: list, received_at, now):
        self.workspace, self.test, self.received_at, self.now = workspace, test, received_at, now
        self.provider = provider_name_for(workspace, test=test)
        self.spend = _locked_spend(workspace)
        limit = Workspace.objects.filter(pk=workspace.pk).values_list("spend_limit", flat=True)[0]
        self.limit_units = None if limit is None else usd_to_units(limit)
        self.taken = _live_fingerprints(workspace, test, judged, now)
        self.prices = _price_list(workspace, test)
        self.messages, self.events, self.guards = [], [], []

    def accept(self, data: SendInput, draft) -> Message | TernError:
        """The item's message, or its duplicate/spend refusal."""
        workspace = self.workspace
        price = self.prices(draft.country, draft.encoded.segments)
        error = _refusal(workspace, draft, data, price, self.spend, self.limit_units, self.taken)
        if error:
            return error
        message = new_message(draft, data, price=price, provider=self.provider, now=self.now)
        self.spend.units += usd_to_units(price)
        if workspace.duplicate_window_seconds:
            self._guard(fingerprint(to=draft.to, body=data.body), message)
        message.timeline_cache = accept_events(message, draft, self.received_at)
        self.messages.append(message)
        self.events.extend(message.timeline_cache)
        return message

    def _guard(self, key: str, message: Message) -> None:
        """Hold the item's fingerprint for the duplicate window."""
        self.taken.add(key)
        self.guards.append(
            DuplicateGuard(
                workspace=self.workspace,
                test=self.test,
                fingerprint=key,
                message_id=message.id,
                expires_at=self.now + _window(self.workspace),
            )
        )


def _price_list(workspace: Workspace, test: bool):
    """price(country, segments), asking for each country's rate once per batch."""
    rates = {}

    def price(country: str, segments: int):
        """The price of `segments` segments to `country`."""
        if country not in rates:
            rates[country] = pricing.price_for(
                workspace=workspace, country=country, segments=1, test=test
            )
        return rates[country] * segments

    return price


def _window(workspace: Workspace) -> timedelta:
    """The workspace's duplicate window."""
    return timedelta(seconds=workspace.duplicate_window_seconds)


def _refusal(workspace, draft, data, price, spend, limit_units, taken) -> TernError | None:
    """duplicate_message or spend_limit_exceeded for this item, in CONTRACT §3's order."""
    if workspace.duplicate_window_seconds and fingerprint(to=draft.to, body=data.body) in taken:
        return TernError(
            "duplicate_message",
            details={"to": draft.to, "window_seconds": workspace.duplicate_window_seconds},
        )
    units = usd_to_units(price)
    if limit_units is not None and units and spend.units + units > limit_units:
        return TernError(
            "spend_limit_exceeded",
            details={"price": str(price), "spend_limit": str(workspace.spend_limit)},
        )
    return None


def _locked_spend(workspace: Workspace) -> SpendMonth:
    """This month's spend row, locked until the batch commits."""
    month = month_start()
    SpendMonth.objects.get_or_create(workspace_id=workspace.pk, month=month)
    return SpendMonth.objects.select_for_update().get(workspace_id=workspace.pk, month=month)


def _live_fingerprints(workspace: Workspace, test: bool, judged: list, now) -> set:
    """Fingerprints of the batch already held by a message inside its window."""
    if not workspace.duplicate_window_seconds:
        return set()
    keys = {fingerprint(to=e[1].to, body=e[0].body) for e in judged if isinstance(e, tuple)}
    held = DuplicateGuard.objects.filter(workspace=workspace, test=test, fingerprint__in=keys)
    return set(held.filter(expires_at__gt=now).values_list("fingerprint", flat=True))


def _store(workspace, spend: SpendMonth, guards: list, messages: list, events: list, now) -> None:
    """Write the accepted items: guards (expired ones taken over), spend, messages, timelines."""
    expired = DuplicateGuard.objects.filter(
        workspace_id=spend.workspace_id,
        fingerprint__in=[g.fingerprint for g in guards],
        test__in={g.test for g in guards},
        expires_at__lte=now,
    )
    expired.delete()
    DuplicateGuard.objects.bulk_create(guards, batch_size=500)
    SpendMonth.objects.filter(pk=spend.pk).update(units=spend.units)
    pricing.spend_alerts(workspace=workspace, month=spend.month)
    Message.objects.bulk_create(messages, batch_size=500)
    MessageEvent.objects.bulk_create(events, batch_size=1000)
    announce_many(messages, "queued")
    enqueue_many_on_commit(messages)
