"""`make run`'s supervisor (config/supervise.py): a process that dies is restarted, named; one
that keeps dying stops everything with a clear message; Ctrl-C stops everything."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..support.workers import ROOT, wait_for

SUPERVISE = [sys.executable, str(ROOT / "config" / "supervise.py")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start(procfile: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    log = procfile.with_suffix(".log")
    proc = subprocess.Popen(
        [*SUPERVISE, str(procfile), *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log


def test_a_process_that_dies_once_is_restarted_and_ctrl_c_stops_all(tmp_path):
    """`flaky` exits once; it is restarted with a message naming it; SIGINT stops both."""
    marker, steady_pid = tmp_path / "ran-once", tmp_path / "steady.pid"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"steady: echo $$ > {steady_pid}; exec sleep 300\n"
        f"flaky: if [ -e {marker} ]; then exec sleep 300; else touch {marker}; exit 3; fi\n"
    )
    proc, log = _start(procfile, "--backoff", "0.1")
    try:
        wait_for(lambda: "flaky restarted" in log.read_text(), timeout=20)
        assert "flaky exited with code 3; restarting it in 0.1 s" in log.read_text()
        pid = int(wait_for(lambda: steady_pid.exists() and steady_pid.read_text().strip()))
        assert proc.poll() is None and _alive(pid)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "Ctrl-C: stopping steady, flaky" in text and "stopped" in text
    wait_for(lambda: not _alive(pid), timeout=5)


def test_a_process_that_keeps_dying_stops_everything(tmp_path):
    """`broken` exits every time: after --max-restarts, everything stops, exit code 1."""
    steady_pid = tmp_path / "steady.pid"
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"steady: echo $$ > {steady_pid}; exec sleep 300\nbroken: exit 7\n")
    proc, log = _start(procfile, "--backoff", "0.05", "--max-restarts", "2")
    try:
        assert proc.wait(timeout=30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert text.count("broken exited with code 7; restarting") == 2
    assert "broken exited with code 7, 3 times in 60 s: giving up" in text
    assert "broken keeps dying: stopping steady, broken" in text
    pid = int(steady_pid.read_text())
    wait_for(lambda: not _alive(pid), timeout=5)
