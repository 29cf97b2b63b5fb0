"""The embedded default's broker: a folder of files, safe for many producers and consumers.

`folder://` (registered below) is kombu's filesystem transport with its races closed:

- publish writes the message under `tmp/`, then `os.replace`s it into `queue/<queue>/`: a reader
  never sees a half-written file;
- a consumer claims a message by renaming it into its own `claimed/<worker>/` folder: one rename
  wins, the losers move on to the next file;
- ack unlinks the claimed file; a reject or a clean shutdown renames it back into the queue; the
  claims of a worker that died (its process is gone) go back to the queue when any consumer starts
  and every `RECLAIM_SECONDS` after;
- a file that is not a message is moved to `bad/` with a log line (the worker lives on);
- a missing folder (someone deleted `var/broker`) is created again, never a crash.

Each queue has a folder of its own, listed once and then tried file by file, so a poll does not
read every file in the broker for every message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem

logger = logging.getLogger("tern.broker")

SCHEME = "folder"
RECLAIM_SECONDS = 30.0
_QUEUE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._@-]*\Z")
_HOST = socket.gethostname().replace("-", "_").replace("/", "_")


def _start_time(pid: int) -> str:
    """The process's start time (clock ticks since boot), to tell a reused pid; "0" if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "0"
    return stat.rsplit(")", 1)[1].split()[19]


def _claimer_alive(folder_name: str) -> bool:
    """Whether the process that owns a claimed/ folder still runs (other hosts count as alive)."""
    try:
        pid_text, started, host = folder_name.split("-", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != _HOST:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return started == "0" or _start_time(pid) == started


def _queue_of(filename: str) -> str:
    """The queue a message file belongs to: `<time>_<uuid>.<queue>.msg`."""
    return filename.split(".", 1)[1][: -len(".msg")]


class Channel(filesystem.Channel):
    """kombu's filesystem channel with atomic publish, atomic claim and ack by unlink."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._claimed: dict[str, Path] = {}  # delivery tag -> claimed file
        self._candidates: dict[str, list[str]] = {}  # queue -> names listed, not yet tried
        self._reclaimed_at = 0.0
        pid = os.getpid()
        self._worker_name = f"{pid}-{_start_time(pid)}-{_HOST}"

    # --- folders ---------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The broker folder; everything else lives under it."""
        return Path(self.transport_options.get("folder", "broker"))

    @property
    def control_folder(self) -> Path:
        return self.root / "control"

    def _queue_folder(self, queue: str) -> Path:
        if not _QUEUE_NAME.match(queue or ""):
            raise ChannelError(f"Invalid queue name: {queue!r}")
        return self.root / "queue" / queue

    @property
    def _claim_folder(self) -> Path:
        return self.root / "claimed" / self._worker_name

    # --- publish ---------------------------------------------------------------------------------
    def _put(self, queue, payload, **kwargs):
        """Write the message under tmp/, then rename it into its queue: all or nothing."""
        name = f"{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"
        target = self._queue_folder(queue) / name
        data = json.dumps(payload).encode()
        try:
            tmp = _write_tmp(self.root / "tmp", name, data)
            _rename(tmp, target)
        except OSError as exc:
            raise ChannelError(f"Cannot add {name!r} to the broker folder {self.root}") from exc

    # --- consume ---------------------------------------------------------------------------------
    def _get(self, queue):
        """Claim the oldest message of `queue` that no one else claimed first."""
        self._reclaim_dead_workers()
        if self._candidates.get(queue):
            payload = self._claim_next(queue)  # names listed earlier: no listing needed
            if payload is not None:
                return payload
        self._candidates[queue] = self._list(queue)
        payload = self._claim_next(queue)
        if payload is None:
            raise Empty()
        return payload

    def _list(self, queue: str) -> list[str]:
        folder = self._queue_folder(queue)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            return []
        names = [n for n in names if n.endswith(".msg")]
        names.sort(reverse=True)  # pop() from the end takes the oldest
        return names

    def _claim_next(self, queue: str):
        candidates = self._candidates[queue]
        folder = self._queue_folder(queue)
        while candidates:
            name = candidates.pop()
            claimed = self._claim_folder / name
            try:
                _rename(folder / name, claimed)
            except FileNotFoundError:
                continue  # another consumer won this one
            payload = self._read_claimed(claimed)
            if payload is not None:
                self._claimed[payload["properties"]["delivery_tag"]] = claimed
                return payload
        return None

    def _read_claimed(self, claimed: Path):
        """The message in a claimed file, or None after moving a malformed file to bad/."""
        try:
            payload = json.loads(claimed.read_bytes())
            if "delivery_tag" not in payload["properties"]:
                raise KeyError("delivery_tag")
            return payload
        except (ValueError, KeyError, TypeError) as exc:
            bad = self.root / "bad" / claimed.name
            logger.error("broker: %s is not a message (%s); moved to %s", claimed.name, exc, bad)
            try:
                _rename(claimed, bad)
            except OSError:
                logger.exception("broker: could not move %s aside", claimed)
            return None

    # --- ack, reject, restore --------------------------------------------------------------------
    def basic_ack(self, delivery_tag, multiple=False):
        """Done: the claimed file goes."""
        super().basic_ack(delivery_tag, multiple=multiple)
        claimed = self._claimed.pop(delivery_tag, None)
        if claimed is not None:
            claimed.unlink(missing_ok=True)

    def basic_reject(self, delivery_tag, requeue=False):
        """Requeue renames the claimed file back; otherwise it goes."""
        if requeue:
            self._restore(self.qos.get(delivery_tag))
            self.qos.reject(delivery_tag, requeue=False)
        else:
            self.basic_ack(delivery_tag)

    def _restore(self, message):
        """Put an unacked message back in its queue (the claimed file, if this channel holds it)."""
        claimed = self._claimed.pop(message.delivery_tag, None)
        if claimed is None:
            return super()._restore(message)
        try:
            _rename(claimed, self._queue_folder(_queue_of(claimed.name)) / claimed.name)
        except FileNotFoundError:
            super()._restore(message)  # the claimed file was deleted: publish the message anew

    def _reclaim_dead_workers(self) -> None:
        """Claims of workers that are gone go back to their queues (at start, then now and then)."""
        now = time.monotonic()
        if self._reclaimed_at and now - self._reclaimed_at < RECLAIM_SECONDS:
            return
        self._reclaimed_at = now
        try:
            owners = os.listdir(self.root / "claimed")
        except FileNotFoundError:
            return
        for owner in owners:
            if owner != self._worker_name and not _claimer_alive(owner):
                self._requeue_folder(self.root / "claimed" / owner)

    def _requeue_folder(self, folder: Path) -> None:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return
        for name in names:
            try:
                _rename(folder / name, self._queue_folder(_queue_of(name)) / name)
            except (FileNotFoundError, IndexError, ChannelError):
                continue
        if names:
            logger.warning("broker: %d unacked message(s) of %s requeued", len(names), folder.name)
        with contextlib.suppress(OSError):
            folder.rmdir()

    # --- bookkeeping ------------------------------------------------------------------------------
    def get_table(self, exchange):
        """The exchange's bindings; a direct exchange whose file was deleted routes by Celery's
        own rule (its queue has its name). Others (celeryev's events) stay unrouted, as before."""
        table = super().get_table(exchange)
        if not table and exchange and self._exchange_type(exchange) == "direct":
            return [filesystem.exchange_queue_t(exchange, "", exchange)]
        return table

    def _exchange_type(self, exchange: str) -> str:
        return self.state.exchanges.get(exchange, {}).get("type", "direct")

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        self.control_folder.mkdir(parents=True, exist_ok=True)
        return super()._queue_bind(exchange, routing_key, pattern, queue)

    def _size(self, queue):
        return len(self._list(queue))

    def _purge(self, queue):
        count = 0
        for name in self._list(queue):
            try:
                (self._queue_folder(queue) / name).unlink()
                count += 1
            except FileNotFoundError:
                pass
        return count


def _write_tmp(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` to a new file in `folder` (created if missing)."""
    path = folder / f"{name}.{threading.get_ident()}.tmp"
    try:
        path.write_bytes(data)
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def _rename(source: Path, target: Path) -> None:
    """Atomic rename, creating the target's folder if missing (FileNotFoundError: no source)."""
    try:
        os.replace(source, target)
    except FileNotFoundError:
        if not source.exists():
            raise
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


class Transport(filesystem.Transport):
    """The `folder://` transport: see the module's docstring."""

    Channel = Channel
    driver_type = driver_name = SCHEME

    @property
    def default_connection_params(self):
        return {"port": 0}  # no host to name: quiets kombu's "No hostname was supplied"

    def establish_connection(self):
        """Fail (broker down) if the folder cannot be created or written."""
        folder = Path(self.client.transport_options.get("folder", "broker"))
        for sub in ("queue", "tmp", "claimed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        if not os.access(folder / "tmp", os.W_OK):
            raise ChannelError(f"The broker folder {folder} is not writable")
        return super().establish_connection()


TRANSPORT_ALIASES.setdefault(SCHEME, "config.broker:Transport")
