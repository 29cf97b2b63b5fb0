"""What every benchmark shares: its CONTRACT §1 result, the error check, a measurement run in a
child process, and the fairness benchmarks' busy check and latency note."""

import json
import subprocess
import sys
from collections import Counter

from .harness import ROOT, BenchError, Server

MAX_ERROR_RATE = 0.01
LATENCY = (
    "from just before POST /api/v1/messages (202) to the sent_to_carrier "
    "event's time; sequential sends from a 100/s short code; p95 = "
    "statistics.quantiles(n=20)[-1]"
)


class MeasuredErrors(BenchError):
    """More than 1 % of the requests failed: the figure would measure errors, not sends."""


def result(value: float, baseline: float | None, unit: str, note: dict, digits: int = 1) -> dict:
    """One results.json entry; `ratio` is value / baseline."""
    return {
        "value": round(value, digits),
        "baseline": None if baseline is None else round(baseline, digits),
        "ratio": round(value / baseline, 3) if baseline else None,
        "unit": unit,
        "note": note,
    }


def skipped(unit: str, why: str, server: Server) -> dict:
    """The entry of a benchmark that could not run here, saying why."""
    note = {"database": server.database, "skipped": why}
    print(f"skipped: {why}")
    return {"value": None, "baseline": None, "ratio": None, "unit": unit, "note": note}


def non_2xx(counts: Counter) -> dict:
    """The answers that were not 2xx, by status (or exception name)."""
    return {str(k): v for k, v in counts.items() if not (isinstance(k, int) and 200 <= k < 300)}


def check_errors(what: str, ok: int, errors: dict) -> None:
    """Raise MeasuredErrors when errors exceed 1 % of the answers."""
    failed = sum(errors.values())
    if failed > MAX_ERROR_RATE * max(1, ok + failed):
        raise MeasuredErrors(f"{what}: {failed} errors out of {ok + failed} ({errors})")


def child_json(what: str, env: dict, module: str, *args, timeout: float) -> dict:
    """One measurement of `module` (`python -m`) in a child process; its JSON answer (the last
    line it printed), or BenchError naming `what` with the end of its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise BenchError(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def busy_p95s(name: str, measured: dict, knob: str) -> tuple[float, float]:
    """(idle p95, busy p95), taken out of a fairness measurement; BenchError when the broadcast
    was over before the busy samples were (they would not have measured it), naming the
    environment variable that raises its recipients."""
    if measured["campaign_status_after_busy"] != "running":
        raise BenchError(
            f"{name}: the broadcast was "
            f"{measured['campaign_status_after_busy']} before the busy samples ended; "
            f"raise {knob}"
        )
    return measured.pop("idle_p95"), measured.pop("busy_p95")
