"""A real local HTTP server speaking Twilio's Messages API, so the provider is tested on the wire.

It checks basic auth and the resource path, records every request, and answers scripted replies
(201 with a fresh `SM…` sid by default).
"""

import base64
import json
import socket
import threading
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

MAX_DELAY = 1.0  # seconds; longer waits would slow the suite for nothing


@dataclass(frozen=True)
class Reply:
    """One scripted answer; `body=None` on a 2xx means a message resource built from the form."""

    status: int = 201
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # wait before answering (cut short when the server stops)
    drop: bool = False  # read the request, then close the connection without an answer

    def __post_init__(self):
        assert 0 <= self.delay <= MAX_DELAY, f"delay must be within {MAX_DELAY} s"


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict
    form: dict
    auth: tuple[str, str] | None


def rate_limited(retry_after: str | None = "7") -> Reply:
    """429 Too Many Requests, with Retry-After when given."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(429, twilio_error(20429, "Too Many Requests", 429), headers)


def server_error(status: int = 500) -> Reply:
    """A 5xx from Twilio's side."""
    return Reply(status, twilio_error(20500, "Internal Server Error", status))


def invalid_number() -> Reply:
    """400 with Twilio's error 21211 (invalid 'To' number)."""
    return Reply(400, twilio_error(21211, "The 'To' number is not a valid phone number.", 400))


def slow(seconds: float) -> Reply:
    """A 201 that arrives only after `seconds` (to trip the client's read timeout)."""
    return Reply(delay=seconds)


def dropped() -> Reply:
    """The connection closes after the request was read, with no answer."""
    return Reply(drop=True)


def twilio_error(code: int, message: str, status: int) -> dict:
    """Twilio's JSON error body."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more_info, "status": status}


def closed_port() -> int:
    """A local port nothing listens on (bound, then released), for connection-refused tests."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeTwilio:
    """The server plus its script and its record; use as a context manager."""

    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        # A short poll keeps shutdown (every fixture teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """What TWILIO_API_BASE should be."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def messages_path(self) -> str:
        """The Messages resource of this account."""
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def script(self, *replies: Reply) -> None:
        """Queue answers for the next requests; once used up, every request gets a 201."""
        with self._lock:
            self._script.extend(replies)

    def record(self, request: Recorded) -> None:
        """Keep one request (called from the server's threads)."""
        with self._lock:
            self.requests.append(request)

    def next_reply(self) -> Reply:
        """The next scripted answer, or a plain 201."""
        with self._lock:
            return self._script.pop(0) if self._script else Reply()

    def __enter__(self) -> "FakeTwilio":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()  # releases any delayed answer still waiting
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    """Twilio's side of one request."""

    def do_POST(self):
        fake: FakeTwilio = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        auth = _basic_auth(self.headers.get("Authorization", ""))
        fake.record(Recorded("POST", self.path, dict(self.headers), form, auth))
        if auth != (fake.account_sid, fake.auth_token):
            return self._answer(Reply(401, twilio_error(20003, "Authenticate", 401)))
        if self.path != fake.messages_path:
            return self._answer(Reply(404, twilio_error(20404, "Not found", 404)))
        reply = fake.next_reply()
        if reply.delay:
            fake.stopping.wait(reply.delay)
        if reply.drop:
            self.close_connection = True
            return None
        return self._answer(reply, form)

    def _answer(self, reply: Reply, form: dict | None = None) -> None:
        body = reply.body
        if body is None:
            body = _message_resource(self.server.fake.account_sid, form or {})
        payload = json.dumps(body).encode()
        try:
            self.send_response(reply.status)
            for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client already gave up (the read-timeout test): nobody to answer

    def log_message(self, format, *args):
        """Quiet: the test's assertions say what matters."""


def _basic_auth(header: str) -> tuple[str, str] | None:
    """(user, password) from a Basic Authorization header, or None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _message_resource(account_sid: str, form: dict) -> dict:
    """The message resource Twilio answers a successful create with."""
    sid = "SM" + uuid.uuid4().hex
    return {
        "sid": sid,
        "account_sid": account_sid,
        "to": form.get("To"),
        "from": form.get("From"),
        "body": form.get("Body"),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "date_created": formatdate(usegmt=True),
        "error_code": None,
        "error_message": None,
        "price": None,
        "price_unit": "USD",
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
