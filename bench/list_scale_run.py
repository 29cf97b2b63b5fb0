"""list_scale's measurement, in a child process with Django on the bench's database:
p95 of the message list (GET /api/v1/messages and the console's Messages page) with 1,000
messages in the workspace, then again with 1,000,000 (CONTRACT §12's 300 ms rule).

`python -m bench.list_scale_run <server url> <workspace id> <token>` prints one JSON line.
"""

import json
import os
import statistics
import sys
import time

import django
import requests

SAMPLES, WARMUP = 40, 5
SMALL, BIG = 1_000, int(os.environ.get("LIST_SCALE_MESSAGES", "1000000"))
# Searches and filters a person runs on the console's page, timed at the big size too.
QUERIES = {
    "search_number": {"q": "+12122500777"},
    "search_id": None,  # filled with a real id
    "search_text": {"q": "pharmacy number 4242"},
    "search_rare_text": {"q": "no such words anywhere"},
    "status_failed": {"status": "failed"},
    "error_code": {"error_code": "unreachable_handset"},
    "inbound": {"direction": "inbound"},
}


def p95(values: list[float]) -> float:
    """statistics.quantiles(n=20)[-1], as every bench p95."""
    return statistics.quantiles(values, n=20)[-1]


def server_ms(response) -> float | None:
    """The `app;dur=` of the Server-Timing header: the server's own time."""
    for part in response.headers.get("Server-Timing", "").split(";"):
        if part.startswith("dur="):
            return float(part[4:])
    return None


def timed(session, url: str, params=None, samples: int = SAMPLES) -> dict:
    """p95 of wall and server time over sequential GETs after a warm-up; every answer a 200."""
    for _ in range(WARMUP):
        session.get(url, params=params, timeout=60).raise_for_status()
    wall, server = [], []
    for _ in range(samples):
        started = time.perf_counter()
        response = session.get(url, params=params, timeout=60)
        wall.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        server.append(server_ms(response) or wall[-1])
    return {
        "wall_p95_ms": round(p95(wall), 1),
        "server_p95_ms": round(p95(server), 1),
        "server_p50_ms": round(statistics.median(server), 1),
    }


def sessions(base: str, token: str, workspace) -> dict:
    """A session per door: the API's token, and a console sign-in of the workspace's owner."""
    from django.conf import settings
    from django.test import Client

    from workspaces.models import Membership

    owner = Membership.objects.filter(workspace=workspace, role="owner").first().user
    client = Client()
    client.force_login(owner)
    console = requests.Session()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    console.headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    return {
        "api": (api, f"{base}/api/v1/messages"),
        "console": (console, f"{base}/w/{workspace.slug}/messages/"),
    }


def measure_doors(doors: dict) -> dict:
    return {name: timed(session, url) for name, (session, url) in doors.items()}


def main(base: str, workspace_id: str, token: str) -> dict:
    """Measure at 1,000 messages, grow to 1,000,000, measure again."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from messaging.models import Message
    from workspaces.models import Workspace

    from .million import million_messages

    workspace = Workspace.objects.get(pk=workspace_id)
    doors = sessions(base, token, workspace)
    million_messages(workspace, SMALL)
    small = measure_doors(doors)
    started = time.perf_counter()
    million_messages(workspace, BIG)
    fill_seconds = round(time.perf_counter() - started, 1)
    big = measure_doors(doors)
    console, url = doors["console"]
    some = Message.objects.filter(workspace=workspace).order_by("created_at").first()
    queries = {**QUERIES, "search_id": {"q": some.id}}
    searched = {name: timed(console, url, params, samples=20) for name, params in queries.items()}
    return {
        "small": small,
        "big": big,
        "messages": {"small": SMALL, "big": BIG},
        "fill_seconds": fill_seconds,
        "console_queries_at_big": searched,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
