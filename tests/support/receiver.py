"""A real local HTTP receiver for webhook tests: records every request and answers from a script.

It listens on 127.0.0.1 on a port of its own, answers a script of statuses (then a default),
can hold requests open until released, and can go down (port closed) and come back on the same
port. `verify` checks a recorded request the way a customer would, with `standardwebhooks`.
"""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

HOLD_LIMIT = 60  # seconds a held request waits for `release` before answering anyway


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status, extra headers, whether to hold until released, and
    `drip` seconds between the bytes of a long body (sent until released), the body itself."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    hold: bool = False
    drip: float = 0
    body: bytes | None = None


@dataclass
class Recorded:
    """One request as it arrived: path, headers (lower-case names), body."""

    path: str
    headers: dict
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def timestamp(self) -> int:
        return int(self.headers["webhook-timestamp"])

    @property
    def signatures(self) -> list[str]:
        return self.headers["webhook-signature"].split(" ")


def verify(recorded: Recorded, secret: str) -> dict:
    """The payload, once `standardwebhooks` has verified the request with this secret."""
    return Webhook(secret).verify(recorded.body, recorded.headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection, closed after the answer

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.receiver.record(Recorded(self.path, headers, body))
        if answer.hold:
            self.server.receiver.released.wait(HOLD_LIMIT)
        self._answer(answer)

    do_GET = do_POST

    def _answer(self, answer: Answer) -> None:
        payload = answer.body or (b"x" * 200 if answer.drip else f"status {answer.status}".encode())
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if answer.drip:
                self._drip(payload, answer.drip)
            else:
                self.wfile.write(payload)
        except OSError:
            pass  # the caller gave up (timeout) or died (killed worker)

    def _drip(self, payload: bytes, pause: float) -> None:
        """One byte per pause, so no single read ever waits long, until released."""
        for byte in payload:
            if self.server.receiver.released.wait(pause):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def log_message(self, format, *args):
        pass


class Receiver:
    """A webhook receiver on 127.0.0.1: `with Receiver([500, 500, 200]) as r: ... r.requests`."""

    def __init__(self, script=(), *, default: int | Answer = 200, path: str = "/hook"):
        self._script = [a if isinstance(a, Answer) else Answer(a) for a in script]
        self._default = default if isinstance(default, Answer) else Answer(default)
        self._lock = threading.Lock()
        self._server = None
        self.path, self.port = path, 0
        self.requests: list[Recorded] = []
        self.released = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def record(self, recorded: Recorded) -> Answer:
        """Keep the request; the next scripted answer (the default once the script is spent)."""
        with self._lock:
            self.requests.append(recorded)
            return self._script.pop(0) if self._script else self._default

    def then(self, *answers) -> None:
        """Append answers to the script."""
        with self._lock:
            self._script += [a if isinstance(a, Answer) else Answer(a) for a in answers]

    def up(self) -> "Receiver":
        """Listen (again, on the same port once it had one)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._server.daemon_threads = True
        self._server.receiver = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        """Close the port: connections are refused until `up`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def release(self) -> None:
        """Let every held request (and any later one) answer."""
        self.released.set()

    def __enter__(self) -> "Receiver":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.release()
        self.down()
