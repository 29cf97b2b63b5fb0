"""The worker's send pool: booked messages go out at their slot, on a pool of threads.

A provider may run its own timed work on the same pool (`call_at`), with no broker round trip.

A dispatch task books slots and returns at once; this process-wide scheduler hands each message
to a sending thread when its slot comes, so no task (and no worker process) ever waits for a
slot, and a sender's 100/s is reachable with a few worker processes on two cores. A message lost
here (the process died before its slot) is still `queued` with a due time: the sweeper finds it.
"""

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger("tern.messaging")


class SendScheduler:
    """A heap of (slot, job) and one thread that releases them to the pool when due."""

    def __init__(self, threads: int):
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tern-send")
        self.heap: list[tuple[float, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.wake = threading.Condition()
        self.thread = threading.Thread(target=self._release, name="tern-send-clock", daemon=True)
        self.thread.start()

    def call_at(self, when: float, job: Callable[[], None]) -> None:
        """Run `job` on the pool at epoch second `when` (at once when that has passed)."""
        with self.wake:
            heapq.heappush(self.heap, (when, next(self.order), job))
            self.wake.notify()

    def pending(self) -> int:
        """Messages waiting for their slot in this process."""
        with self.wake:
            return len(self.heap)

    def _release(self) -> None:
        while True:
            with self.wake:
                while not self.heap or self.heap[0][0] > time.time():
                    timeout = self.heap[0][0] - time.time() if self.heap else None
                    self.wake.wait(timeout)
                _, _, job = heapq.heappop(self.heap)
            self.pool.submit(self._run, job)

    def _run(self, job: Callable[[], None]) -> None:
        close_old_connections()
        try:
            job()
        except Exception:  # one message's failure must not stop the others
            logger.exception("a send-pool job failed; the sweeper will pick its message up")


_scheduler: SendScheduler | None = None
_scheduler_lock = threading.Lock()


def scheduler() -> SendScheduler:
    """This process's scheduler, started on first use (after the worker forked)."""
    global _scheduler
    with _scheduler_lock:
        if _scheduler is None:
            _scheduler = SendScheduler(threads=settings.SEND_THREADS)
        return _scheduler
