"""Celery's command lines as the Procfile runs them, and process groups started and stopped: one
piece for the bench's workers and the end-to-end tests' (no Django and nothing of the bench's
harness here, so both import it as it is)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELERY = [sys.executable, "-m", "celery", "-A", "config"]
WORKER_ARGS = ("--concurrency", "2", "--without-mingle", "--without-gossip")
# As in the Procfile: "worker" takes every queue; "worker-transactional" and "worker-bulk" split
# them, the bulk one at a lower CPU priority so broadcasts yield the CPU to transactional sends.
WORKER_QUEUES = {"worker-transactional": "transactional,default,webhooks", "worker-bulk": "bulk"}


def celery_args(role: str, celery: list[str] = CELERY) -> list[str]:
    """The command line of one celery process, beat or a worker of the given role, started by
    the `celery` command (`python -m celery -A config` unless a test puts another in its place)."""
    if role == "beat":
        return [*celery, "beat", "--loglevel", "INFO"]
    args = [*celery, "worker", "--loglevel", "INFO", *WORKER_ARGS]
    if role in WORKER_QUEUES:
        args += ["-Q", WORKER_QUEUES[role], "-n", f"{role}@%h"]
    if role == "worker-bulk":
        # One process with two send threads: they overlap the provider calls; more processes
        # or threads only add broadcast database sessions (API sends' p95 went from 1.6x to 2x+
        # their idle p95 on two cores), not throughput.
        args[args.index("--concurrency") + 1] = "1"
        args = ["env", "SEND_THREADS=2", "nice", "-n", "19", *args]
    return args


def start_group(args: list[str], log, env: dict | None = None) -> subprocess.Popen:
    """Start `args` in the project folder as the leader of a process group of its own (so that
    stop_group reaches celery's pool children too), its output and errors into `log`."""
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (celery's pool children too), SIGKILL whatever of the group is
    left once its leader has exited or after 15 s: a leader that is gone (a shell, a celery
    master killed first) does not mean its group is."""
    stop_groups([proc])


def stop_groups(procs) -> None:
    """stop_group for several at once: SIGTERM to every group first, then one 15 s grace for
    them all (one after the other, four slow stops would outlast a caller's own 60 s grace and be
    killed with their groups left running), then SIGKILL to what is left of each."""
    for proc in procs:
        signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in procs:
        signal_group(proc, signal.SIGKILL)
        proc.wait()


def signal_group(proc: subprocess.Popen, signum: int) -> None:
    """Signal the process group `proc` leads, if any of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)
