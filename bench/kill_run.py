"""Issue 11's recovery acceptance by hand, as a new user would run it:

    python -m bench.kill_run            # `make run` on the embedded default (SQLite, folder://)
    python -m bench.kill_run server     # `make run` on DATABASE_URL, REDIS_URL, CELERY_BROKER_URL

A 300-message batch from a 100/s short code through the API; the worker (its whole process
group: the celery main process and its pool) SIGKILLed 0.5 s after the batch was accepted;
`make run`'s supervisor restarts it. Measures the time from the restart until all 300 are final,
and checks each was submitted at most once in the simulator's ledger. Writes
var/bench/kill-<mode>.json and exits 1 when the acceptance (final within 3 minutes of the
restart, at most one submission each) is not met. Uses 127.0.0.1:8000.
"""

import contextlib
import json
import os
import signal
import sqlite3
import sys
import time
from contextlib import closing

from .live import FINAL, ROOT, Api, LiveFailed, MakeRun, health_ok, port_in_use, wait_until

COUNT, KILL_AFTER, FINAL_WITHIN = 300, 0.5, 180.0
SHORT_CODE = "72633"
OUT = ROOT / "var" / "bench"


class Database:
    """Read-only queries on `make run`'s database: its SQLite file, or DATABASE_URL."""

    def __init__(self, run: MakeRun):
        self.sqlite = run.var / "tern.sqlite3" if run.embedded else None

    def rows(self, sql: str, ids: list[str]) -> list[tuple]:
        """`sql` with `{ids}` replaced by placeholders for `ids`."""
        if self.sqlite:
            marks = ",".join("?" * len(ids))
            uri = f"file:{self.sqlite}?mode=ro"
            with closing(sqlite3.connect(uri, uri=True, timeout=30)) as connection:
                return connection.execute(sql.format(ids=marks), ids).fetchall()
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
            marks = ",".join(["%s"] * len(ids))
            return connection.execute(sql.format(ids=marks), ids).fetchall()

    def statuses(self, ids: list[str]) -> dict[str, int]:
        sql = "SELECT status, count(*) FROM messaging_message WHERE id IN ({ids}) GROUP BY status"
        return dict(sorted(self.rows(sql, ids)))

    def submissions(self, ids: list[str]) -> dict[str, int]:
        """Message id → submissions to the simulator (accepted or not)."""
        sql = (
            "SELECT message_id, count(*) FROM messaging_simulatorsubmission "
            "WHERE message_id IN ({ids}) GROUP BY message_id"
        )
        return dict(self.rows(sql, ids))


def worker_group(run: MakeRun) -> int | None:
    """The process group of `make run`'s worker (the transactional one, not bulk), if running."""
    for pid, kind in run.pids().items():
        if kind == "worker":
            try:
                return os.getpgid(pid)
            except ProcessLookupError:
                continue
    return None


def lose_and_recover(run: MakeRun) -> dict:
    """The batch, the kill, the supervisor's restart, the wait; the figures."""
    api, db = Api(run.token()), Database(run)
    api.short_code(SHORT_CODE)
    items = [
        {"to": f"+1415559{i:04d}", "from": SHORT_CODE, "body": f"Kill run {i}: code {i}"}
        for i in range(1000, 1000 + COUNT)
    ]
    group = worker_group(run)
    sent_at = time.monotonic()
    answer = api.call("POST", "/api/v1/messages/batch", 200, json={"messages": items})
    accepted_at = time.monotonic()
    ids = [item["message"]["id"] for item in answer["results"] if "message" in item]
    if len(ids) != COUNT:
        raise LiveFailed(f"the batch accepted {len(ids)} of {COUNT}: {answer['results'][:3]}")
    time.sleep(max(0.0, accepted_at + KILL_AFTER - time.monotonic()))
    os.killpg(group, signal.SIGKILL)
    killed_at = time.monotonic()
    at_kill = {"statuses": db.statuses(ids), "submitted": len(db.submissions(ids))}
    new_group = wait_until(
        "the supervisor's restart of the worker",
        lambda: (g := worker_group(run)) not in (None, group) and g,
        60,
        0.05,
    )
    restarted_at = time.monotonic()
    with contextlib.suppress(LiveFailed):  # reported below with what was left
        wait_until("all 300 final", lambda: set(db.statuses(ids)) <= FINAL, 600, interval=0.5)
    final_at = time.monotonic()
    submissions = db.submissions(ids)
    return {
        "batch_request_s": round(accepted_at - sent_at, 2),
        "killed_after_accept_s": round(killed_at - accepted_at, 2),
        "at_kill": at_kill,
        "worker_groups": [group, new_group],
        "restart_after_kill_s": round(restarted_at - killed_at, 1),
        "final_after_restart_s": round(final_at - restarted_at, 1),
        "statuses": db.statuses(ids),
        "submitted": len(submissions),
        "submitted_twice": sorted(i for i, n in submissions.items() if n > 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def main(mode: str = "embedded") -> int:
    if port_in_use():
        print("kill run: 127.0.0.1:8000 is taken (another make run?)", file=sys.stderr)
        return 1
    run = MakeRun(f"tern-kill-{mode}-", embedded=mode == "embedded")
    run.start()
    try:
        wait_until("/healthz all ok", health_ok, 240)
        figures = lose_and_recover(run)
        time.sleep(2)
        figures["died_lines"] = run.died()
        figures["server_errors"] = len(run.server_errors())
    finally:
        run.stop()
    figures["mode"], figures["var"] = mode, str(run.var)
    problems = []
    if set(figures["statuses"]) - FINAL or figures["final_after_restart_s"] > FINAL_WITHIN:
        problems.append(f"not all final within {FINAL_WITHIN:.0f} s of the restart")
    if figures["submitted_twice"]:
        problems.append(f"{len(figures['submitted_twice'])} submitted more than once")
    figures["passed"] = not problems
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"kill-{mode}.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    print(f"kill run ({mode}): {'passed' if not problems else 'FAILED: ' + '; '.join(problems)}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
