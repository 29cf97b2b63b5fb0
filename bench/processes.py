"""Celery's command lines as the Procfile runs them, and process groups started and stopped: one
piece for the bench's workers and the end-to-end tests' (no Django and nothing of the bench's
harness here, so both import it as it is)."""

import os
import signal
import subprocess
import sys
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
    """SIGTERM the process group (celery's pool children too), SIGKILL it after 15 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
