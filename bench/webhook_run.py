"""Run inside the bench environment (`python -m bench.webhook_run WORKSPACE_ID`): signed, logged
webhook deliveries per second to a local receiver, against a plain `requests` loop posting the
same bodies to the same receiver. Prints one JSON line."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django

COUNT = 300


class _Receiver(BaseHTTPRequestHandler):
    """Reads the body and answers 204 (what a fast customer endpoint does)."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _receiver() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hook"


def main(workspace_id: str) -> dict:
    """Deliver COUNT events through the real delivery path, then post the same bodies plainly."""
    django.setup()
    import requests
    from django.db import transaction

    from webhooks.events import emit
    from webhooks.models import WebhookDelivery
    from webhooks.services.delivery import delivery_attempt, event_body
    from webhooks.services.endpoints import endpoint_create
    from workspaces.audit import Actor

    url = _receiver()
    endpoint, _ = endpoint_create(
        workspace_id=workspace_id, test=False, url=url, events=["*"], actor=Actor.system("bench")
    )
    with transaction.atomic():
        events = [
            emit(
                workspace_id=workspace_id,
                test=False,
                type="message.delivered",
                data={"id": f"msg_bench{i}", "body": "x" * 120},
            )
            for i in range(COUNT)
        ]
    ids = list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("id", flat=True))
    started = time.perf_counter()
    for delivery_id in ids:
        delivery_attempt(delivery_id=delivery_id)
    tern_seconds = time.perf_counter() - started
    succeeded = WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded").count()
    bodies = [event_body(e) for e in events]
    started = time.perf_counter()
    for body in bodies:
        requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=10)
    plain_seconds = time.perf_counter() - started
    return {
        "delivered": succeeded,
        "count": COUNT,
        "value": succeeded / tern_seconds,
        "baseline": COUNT / plain_seconds,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
