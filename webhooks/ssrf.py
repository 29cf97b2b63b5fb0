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


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry an IPv4 address: the IPv4 inside is what a packet ends up reaching.
_NAT64 = ipaddress.ip_network(
    "64:ff9b::/96"
)  # RFC 6052 well-known prefix, IPv4 in the last 32 bits
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")  # RFC 3056
_TEREDO = ipaddress.ip_network("2001::/32")  # RFC 4380: server and (obfuscated) client
# Refused whatever they carry: deprecated or local-use forms no public receiver needs.
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::/96",  # IPv4-compatible (RFC 4291, deprecated), :: and ::1 included
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): the IPv4 may sit anywhere in it
        "100::/64",  # discard-only
        "fec0::/10",  # site-local (deprecated, still routed inside some networks)
        "fc00::/7",  # unique-local
    )
)


# IPv4 ranges Python 3.11 still calls global: IETF protocol assignments, the 6to4 relay anycast.
_NEVER_V4 = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24"))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address leads to (mapped, NAT64, 6to4, Teredo), or None."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address in _SIX_TO_FOUR:
        return [address.sixtofour]
    if address in _TEREDO:
        return list(address.teredo)  # the client is de-obfuscated by `teredo`
    return None


def _special(address: Address) -> bool:
    """Loopback, private, link-local, multicast, reserved, unspecified, or not global."""
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def is_public(address: Address) -> bool:
    """True only for an address on the public internet, whatever IPv4 an IPv6 one carries."""
    if address.version == 4:
        return not (_special(address) or any(address in n for n in _NEVER_V4))
    if any(address in network for network in _NEVER):
        return False
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return all(is_public(inner) for inner in embedded)
    return not (_special(address) or address.is_site_local)


def is_loopback(address: Address) -> bool:
    """127.0.0.0/8 or ::1 (also written as ::ffff:127.x.y.z): this very machine."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def address_allowed(address: Address, *, allow_private: bool) -> bool:
    """Public addresses always; loopback too when private targets are allowed, nothing else.

    CONTRACT §8: allowing private targets (the embedded default, tests) opens loopback only,
    never the machine's LAN (10/8, 172.16/12, 192.168/16), link-local metadata services or fc00::/7.
    """
    return is_public(address) or (allow_private and is_loopback(address))


def resolve(url: str, *, allow_private: bool | None = None) -> Target:
    """Resolve the URL's host; raise UnsafeTarget for bad schemes or addresses not allowed."""
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
    if not address_allowed(address, allow_private=allow):
        allowed = "a public or loopback" if allow else "a public"
        raise UnsafeTarget(f"{parts.hostname} resolves to {address}, not {allowed} address.")
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
