"""The SSRF guard: resolve a webhook host once, refuse private targets, connect to that address.

Resolving, checking and then letting `requests` resolve again would leave a gap (DNS rebinding):
the address we checked is the address we connect to, with the Host header and the TLS name kept.
"""

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter


class UnsafeTarget(ValueError):
    """The URL is not one Tern may call."""


@dataclass(frozen=True)
class Target:
    """A URL's host resolved once, and the same URL aimed at the checked address."""

    url: str
    host: str
    address: str
    pinned_url: str


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def resolve(url: str, *, allow_private: bool | None = None) -> Target:
    """Resolve the URL's host; raise UnsafeTarget for bad schemes or non-public addresses."""
    allow = settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS if allow_private is None else allow_private
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("Only http and https URLs with a host are allowed.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"The host {parts.hostname} does not resolve.") from exc
    address = ipaddress.ip_address(infos[0][4][0])
    if not allow and _forbidden(address):
        raise UnsafeTarget(f"{parts.hostname} resolves to {address}, a private address.")
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(url=url, host=parts.hostname, address=str(address), pinned_url=pinned)


class _PinnedTLSAdapter(HTTPAdapter):
    """Connects to an address while naming (SNI) and verifying the certificate of the host."""

    def __init__(self, host: str):
        self._host = host
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._host
        kwargs["assert_hostname"] = self._host
        return super().init_poolmanager(*args, **kwargs)


@dataclass(frozen=True)
class Answer:
    """What the receiver said: its status, its headers and the start of its body."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def post(
    target: Target, *, body: bytes, headers: dict, timeout: float, max_body: int = 2048
) -> Answer:
    """POST to the checked address, never following redirects. The whole answer must arrive
    within `timeout` (a per-read timeout alone lets a body sent a byte at a time hold the worker
    for ever); at most `max_body` bytes of its body are read."""
    deadline = time.monotonic() + timeout
    netloc = urlsplit(target.url).netloc.rsplit("@", 1)[-1]
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment would resolve the host again
        if target.pinned_url.startswith("https://"):
            session.mount("https://", _PinnedTLSAdapter(target.host))
        with session.post(
            target.pinned_url,
            data=body,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            headers={**headers, "Host": netloc},
        ) as response:
            kept = _read_body(response.raw, deadline, max_body)
            return Answer(response.status_code, response.headers, kept)


def _read_body(raw, deadline: float, limit: int) -> bytes:
    """Up to `limit` bytes of the body, each read bounded by the time left."""
    chunks, size = [], 0
    try:
        while size < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                raise requests.ReadTimeout("the answer did not arrive within the timeout")
            if sock := getattr(raw.connection, "sock", None):
                sock.settimeout(left)
            chunk = raw.read1(limit - size, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.ReadTimeout(str(exc)) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise requests.ConnectionError(str(exc)) from exc
    return b"".join(chunks)[:limit]
