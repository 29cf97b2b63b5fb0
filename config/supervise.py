"""`make run`'s process supervisor: starts every process of the Procfile, restarts one that dies
(after a growing pause, saying which and why), and stops them all, saying so, on Ctrl-C or when
one keeps dying.

    python config/supervise.py [Procfile] [--backoff 1] [--max-restarts 5] [--window 60]

Standard library only, and run as a file (not `-m config.supervise`), so it imports nothing of
Tern's: its children load Django and Celery, it does not.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

STOP_GRACE_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 30.0


def say(text: str) -> None:
    """A line of the supervisor's own, told apart from the processes' output."""
    print(f"[run] {text}", file=sys.stderr, flush=True)


@dataclass
class Process:
    """One Procfile line and its current child."""

    name: str
    command: str
    child: subprocess.Popen | None = None
    exits: list[float] = field(default_factory=list)  # monotonic times of unexpected exits
    restart_at: float | None = None

    def start(self) -> None:
        """Start the command in a process group of its own (so it can be stopped whole)."""
        command = ["/bin/sh", "-c", self.command]
        self.child = subprocess.Popen(command, start_new_session=True)  # noqa: S603 - our Procfile
        self.restart_at = None

    def signal(self, signum: int) -> None:
        """Signal the whole group (what the shell started too, even once the shell is gone)."""
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signum)


def read_procfile(path: str) -> list[Process]:
    """`name: command` lines; blank lines and comments skipped."""
    processes = []
    with open(path) as procfile:
        for line in procfile:
            line = line.strip()
            if line and not line.startswith("#") and ":" in line:
                name, command = line.split(":", 1)
                processes.append(Process(name.strip(), command.strip()))
    return processes


class Supervisor:
    """Keeps the Procfile's processes running; see the module's docstring."""

    def __init__(self, processes: list[Process], backoff: float, max_restarts: int, window: float):
        self.processes = processes
        self.backoff, self.max_restarts, self.window = backoff, max_restarts, window
        self.stopping: str | None = None

    def run(self) -> int:
        """Start everything, watch until asked to stop or a process keeps dying; the exit code."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        for process in self.processes:
            process.start()
        say("started " + ", ".join(f"{p.name} (pid {p.child.pid})" for p in self.processes))
        failed = None
        while self.stopping is None and failed is None:
            failed = self._watch_once(time.monotonic())
            time.sleep(0.2)
        self.stop_all(self.stopping or f"{failed.name} keeps dying")
        return 0 if failed is None else 1

    def _on_signal(self, signum, frame) -> None:
        self.stopping = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"

    def _watch_once(self, now: float) -> Process | None:
        """Restart what is due; schedule a restart for what died; the process that keeps dying."""
        for process in self.processes:
            if process.restart_at is not None:
                if now >= process.restart_at:
                    process.start()
                    say(f"{process.name} restarted (pid {process.child.pid})")
                continue
            code = process.child.poll()
            if code is None:
                continue
            process.signal(signal.SIGKILL)  # what it leaves behind (pool children) goes with it
            process.exits = [t for t in process.exits if now - t < self.window] + [now]
            if len(process.exits) > self.max_restarts:
                say(
                    f"{process.name} exited with code {code}, {len(process.exits)} times in "
                    f"{self.window:.0f} s: giving up"
                )
                return process
            pause = min(self.backoff * 2 ** (len(process.exits) - 1), MAX_BACKOFF_SECONDS)
            say(f"{process.name} exited with code {code}; restarting it in {pause:g} s")
            process.restart_at = now + pause
        return None

    def stop_all(self, reason: str) -> None:
        """SIGTERM every process group, SIGKILL what is left after the grace period."""
        names = ", ".join(p.name for p in self.processes)
        say(f"{reason}: stopping {names}")
        for process in self.processes:
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes:
            if process.child is None:
                continue
            try:
                process.child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{process.name} did not stop within {STOP_GRACE_SECONDS:g} s: killing it")
            process.signal(signal.SIGKILL)  # whatever of the group is left
        say("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("procfile", nargs="?", default="Procfile")
    parser.add_argument("--backoff", type=float, default=1.0, help="first pause before a restart")
    parser.add_argument("--max-restarts", type=int, default=5, help="per process, in --window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    args = parser.parse_args(argv)
    supervisor = Supervisor(
        read_procfile(args.procfile), args.backoff, args.max_restarts, args.window
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
