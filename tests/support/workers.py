"""Real Celery worker and beat processes for end-to-end tests, pointed at the test database."""

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from bench.processes import CELERY, ROOT, celery_args, start_group, stop_group

__all__ = ["CELERY", "ROOT", "celery_processes", "process_env", "test_database_url", "wait_for"]


def test_database_url() -> str:
    """The URL of the database this test session runs on (the worker must use the same one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra) -> dict:
    """This session's environment with the test database, for a child process."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "PYTHONUNBUFFERED": "1",
        "TERN_VAR_DIR": str(settings.VAR_DIR),
        **extra,
    }


@contextmanager
def celery_processes(*roles: str, log_dir: Path | None = None, include=(), **env):
    """Start `celery -A config <role>` for each role; stop them all (SIGTERM, then SIGKILL).
    `include` names modules each worker imports at start (test doubles patched in)."""
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    procs = []
    try:
        for role in roles:
            args = _celery_args(role)
            if include and role != "beat":
                args += ["--include", ",".join(include)]
            log = open(log_dir / f"celery-{role}-{os.getpid()}.log", "w")  # noqa: SIM115
            procs.append(start_group(args, log, env=process_env(**env)))
        yield procs
    finally:
        for proc in procs:
            stop_group(proc)


def _celery_args(role: str) -> list[str]:
    """The command line of one celery process of the given role (from this module's CELERY,
    which a test may replace)."""
    return celery_args(role, CELERY)


def wait_for(condition: Callable[[], object], timeout: float = 30, interval: float = 0.1):
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {condition}")
