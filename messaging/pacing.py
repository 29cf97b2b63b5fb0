"""Pacing: each sender's rate holds across every worker and all of its traffic (CONTRACT §7).

A sender's schedule is one number, its *theoretical arrival time* (GCRA): the earliest moment
its next message may go. Booking `count` slots takes them from there, `step` seconds apart, and
moves the mark past the last one. Campaign traffic books whole windows ahead; a transactional
send may go up to `lead` seconds before the mark, ahead of booked broadcast slots, and pushes
the broadcast's later bookings back by its own slot, so it goes first while the long-run rate
still holds. A campaign's own `throttle_per_minute` is a second mark booked in the same step.

The marks live in Redis (one Lua script, so concurrent bookings from any process never
overlap); on the embedded default, which has no Redis, in a small file per sender under a file
lock, shared by the processes of one machine.
"""

import fcntl
import json
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import redis
from django.conf import settings

from workspaces.models import Sender

# How far ahead of booked broadcast slots a transactional send may go.
TRANSACTIONAL_LEAD = 1.0

_BOOK_LUA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local count = tonumber(ARGV[1])
local step = tonumber(ARGV[2])
local lead = tonumber(ARGV[3])
local sender_step = tonumber(ARGV[4])
local delay = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now + delay, tat - lead)
local own = 0
if #KEYS > 1 then
  own = tonumber(redis.call('GET', KEYS[2]) or '0')
  start = math.max(start, own)
end
local last = start + (count - 1) * step
local new_tat = math.max(tat, last + sender_step)
if lead > 0 then new_tat = math.max(tat, now) + count * sender_step end
local ttl = math.ceil(new_tat - now) + 60
redis.call('SET', KEYS[1], tostring(new_tat), 'EX', ttl)
if #KEYS > 1 then
  redis.call('SET', KEYS[2], tostring(last + step), 'EX', math.ceil(last + step - now) + 60)
end
return {tostring(start), tostring(now)}
"""


@dataclass(frozen=True)
class Booking:
    """`count` slots: the first at `start` (epoch seconds), then one every `step` seconds."""

    start: float
    step: float
    count: int

    def slot(self, index: int) -> float:
        """When the index-th booked message may go."""
        return self.start + index * self.step

    @property
    def end(self) -> float:
        """Just after the last slot."""
        return self.start + self.count * self.step


class Marks:
    """Sender and campaign marks (GCRA theoretical arrival times), booked `count` slots at once."""

    def book(
        self,
        keys: list[str],
        count: int,
        step: float,
        lead: float,
        sender_step: float,
        delay: float = 0.0,
    ):
        """(start, now) in epoch seconds, with the marks moved past the booking."""
        start, now = self._move(keys, count, step, lead, sender_step, delay)
        return float(start), float(now)


class RedisMarks(Marks):
    """Sender and campaign marks in Redis, booked by one script."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_BOOK_LUA)

    def _move(self, keys: list[str], count, step, lead, sender_step, delay) -> tuple:
        """The script moves the marks atomically in Redis."""
        return self.script(keys=keys, args=[count, step, lead, sender_step, delay])


class FileMarks(Marks):
    """The same marks in files under a lock, for the embedded default's single machine."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _move(self, keys: list[str], count, step, lead, sender_step, delay) -> tuple:
        """The same moves as the Redis script, in a JSON file under an exclusive lock."""
        path = self.folder / "marks.json"
        with open(path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            marks = json.loads(handle.read() or "{}")
            now = time.time()
            tat = marks.get(keys[0], 0.0)
            start = max(now + delay, tat - lead)
            if len(keys) > 1:
                start = max(start, marks.get(keys[1], 0.0))
            last = start + (count - 1) * step
            if lead > 0:
                marks[keys[0]] = max(tat, now) + count * sender_step
            else:
                marks[keys[0]] = max(tat, last + sender_step)
            if len(keys) > 1:
                marks[keys[1]] = last + step
            # Marks in the past say nothing; dropping them keeps the file small.
            marks = {k: v for k, v in marks.items() if v > now}
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(marks))
            handle.flush()
            os.fsync(handle.fileno())
        return start, now


@cache
def marks_store() -> RedisMarks | FileMarks:
    """Redis when REDIS_URL is set, else files in this machine's var folder."""
    if settings.REDIS_URL:
        return RedisMarks(settings.REDIS_URL)
    return FileMarks(Path(settings.VAR_DIR) / "pacing")


def sender_rate(number: str) -> float:
    """Messages per second the sender may send: its kind's rate, or its lower `mps`."""
    sender = Sender.objects.filter(number=number, removed_at=None).only("kind", "mps").first()
    if sender is None:
        return float(Sender.KIND_MPS[Sender.LONG_CODE])
    kind_rate = Sender.KIND_MPS.get(sender.kind, 1)
    return float(min(kind_rate, sender.mps or kind_rate))


def book(
    *,
    sender: str,
    count: int,
    transactional: bool = False,
    campaign_id: str = "",
    campaign_rate: float | None = None,
    not_before: float = 0.0,
) -> Booking:
    """Book `count` consecutive slots of the sender (and of the campaign's throttle, if any),
    the first no sooner than `not_before` seconds from now."""
    rate = sender_rate(sender)
    sender_step = 1.0 / rate
    keys = [f"tern:pace:sender:{sender}"]
    step = sender_step
    if campaign_rate and campaign_rate < rate:
        keys.append(f"tern:pace:campaign:{campaign_id}")
        step = 1.0 / campaign_rate
    lead = TRANSACTIONAL_LEAD if transactional else 0.0
    start, _ = marks_store().book(keys, count, step, lead, sender_step, not_before)
    return Booking(start=start, step=step, count=count)
