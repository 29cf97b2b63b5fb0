"""Plain HTTP load for concurrency tests: importable by spawned processes (no Django here)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests


def post_all(url: str, token: str, payloads: list[dict], headers: dict | None = None) -> list:
    """POST each payload in turn on one keep-alive session; (status, body bytes) per request."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", **(headers or {})})
    return [
        (r.status_code, r.content)
        for r in (session.post(url, json=p, timeout=60) for p in payloads)
    ]


def _warm_session(url: str, token: str, headers: dict | None) -> requests.Session:
    """A keep-alive session whose connection is already open (a test server's accept backlog is
    small: fifty cold connects at once get reset before they reach the code under test)."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", **(headers or {})})
    session.get(url.split("/api/")[0] + "/healthz", timeout=30)
    return session


def post_at_once(url: str, token: str, payload: dict, count: int, headers: dict | None = None):
    """`count` threads POST the same payload as close together as a barrier allows."""
    sessions = [_warm_session(url, token, headers) for _ in range(count)]
    barrier = threading.Barrier(count)

    def one(session):
        barrier.wait()
        response = session.post(url, json=payload, timeout=60)
        return response.status_code, response.content, dict(response.headers)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, sessions))
