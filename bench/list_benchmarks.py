"""list_scale: the message list's p95 with 1,000,000 messages in the workspace over its p95 with
1,000 (goal ≤ 1.2, gate ≤ 2), for the API's GET /api/v1/messages and the console's page."""

import os

from .harness import Server, server_env
from .measure import child_json, result, skipped

GOAL, GATE = 1.2, 2.0


def list_scale(server: Server, tag: str) -> dict:
    """Both doors measured at both sizes; the figure is the door that grew most (server time)."""
    if server.database != "postgresql":
        return skipped("ms", "a million messages need PostgreSQL (generate_series)", server)
    host_load = round(os.getloadavg()[0], 2)
    measured = child_json(
        "list_scale",
        server_env(server.database_url),
        "bench.list_scale_run",
        server.url,
        server.workspace_id,
        server.token,
        timeout=3600,
    )
    ratios = {
        door: round(
            measured["big"][door]["server_p95_ms"] / measured["small"][door]["server_p95_ms"], 3
        )
        for door in ("api", "console")
    }
    worst = max(ratios, key=ratios.get)
    note = {
        "database": server.database,
        "host_load_1m": host_load,
        "door": worst,
        "ratios": ratios,
        "goal": GOAL,
        "gate": GATE,
        "p95": "server time (Server-Timing app;dur), 40 sequential GETs after 5; wall in note",
        **measured,
    }
    print(f"list_scale: ratios {ratios}")
    return result(
        measured["big"][worst]["server_p95_ms"],
        measured["small"][worst]["server_p95_ms"],
        "ms",
        note,
    )
