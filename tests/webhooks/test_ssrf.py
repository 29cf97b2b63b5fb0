"""The SSRF guard, address by address (CONTRACT §8): public always; loopback only when private
targets are allowed; never the LAN, link-local, reserved ranges, nor an IPv6 address that carries
such an IPv4 (mapped, IPv4-compatible, NAT64, 6to4, Teredo).

No test here sends a packet anywhere but 127.0.0.1: the guard is checked as a function, on
literal addresses (no DNS), and the attempt-time test replaces the HTTP call with a recorder.
"""

import ipaddress
import socket

import pytest

from webhooks import ssrf
from webhooks.models import WebhookEndpoint
from webhooks.services.delivery import delivery_attempt
from webhooks.services.endpoints import endpoint_create, endpoint_ping
from workspaces.audit import Actor

pytestmark = pytest.mark.django_db

# Refused whatever WEBHOOKS_ALLOW_PRIVATE_TARGETS says.
NEVER = [
    # IPv4: private, shared, link-local, unspecified, "this network", multicast, broadcast,
    # reserved, documentation and benchmarking ranges.
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 of its own kinds.
    "::",
    "fe80::1",
    "fec0::1",
    "fc00::1",
    "fd12:3456:789a::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
    "2001:db8::1",
    "2001:10::1",
    # IPv4-mapped and IPv4-translated.
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:192.168.0.1",
    "::ffff:0.0.0.0",
    "::ffff:0:7f00:1",
    "::ffff:0:a00:1",
    # IPv4-compatible (deprecated): refused whatever they carry.
    "::127.0.0.1",
    "::10.0.0.1",
    "::169.254.169.254",
    "::8.8.8.8",
    # NAT64, well-known prefix and local-use prefix.
    "64:ff9b::7f00:1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::c0a8:101",
    "64:ff9b::",
    "64:ff9b:1::a00:1",
    "64:ff9b:1::808:808",
    # 6to4.
    "2002:7f00:1::",
    "2002:7f00:1::1",
    "2002:a00:1::",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:101::1",
    "2002::",
    # Teredo: a private server, or a private client (stored obfuscated, bits inverted).
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # client 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # client 192.0.2.45
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # server 10.0.0.1
    "2001:0:7f00:1:8000:63bf:f7f7:f7f7",  # server 127.0.0.1
    "192.88.99.1",  # 6to4 relay anycast
]
# Refused unless private targets are allowed: this machine itself.
LOOPBACK = ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1"]
# Allowed always.
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:800::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo: public server, public client 8.8.8.8
]


def _url(address: str) -> str:
    literal = f"[{address}]" if ":" in address else address
    return f"http://{literal}:9/hook"


@pytest.mark.parametrize("allow", [False, True], ids=["private-off", "private-on"])
@pytest.mark.parametrize("address", NEVER)
def test_never_allowed(address, allow):
    """These addresses are refused by the check and by resolve(), in both modes."""
    assert not ssrf.address_allowed(ipaddress.ip_address(address), allow_private=allow)
    with pytest.raises(ssrf.UnsafeTarget):
        ssrf.resolve(_url(address), allow_private=allow)


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_only_when_private_targets_are_allowed(address):
    """Loopback is the one non-public target the allowance opens."""
    ip = ipaddress.ip_address(address)
    assert not ssrf.address_allowed(ip, allow_private=False)
    assert ssrf.address_allowed(ip, allow_private=True)
    with pytest.raises(ssrf.UnsafeTarget):
        ssrf.resolve(_url(address), allow_private=False)
    assert ssrf.resolve(_url(address), allow_private=True).address == str(ip)


@pytest.mark.parametrize("allow", [False, True], ids=["private-off", "private-on"])
@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address, allow):
    """Public addresses, and IPv6 forms that carry only public IPv4 addresses, pass."""
    assert ssrf.address_allowed(ipaddress.ip_address(address), allow_private=allow)
    assert ssrf.resolve(_url(address), allow_private=allow).address == str(
        ipaddress.ip_address(address)
    )


@pytest.mark.parametrize("address", NEVER)
def test_refused_at_creation_with_private_targets_allowed(tenant, other_tenant, address):
    """POST /webhook-endpoints: 400 validation_error on `url`, nothing stored (tests allow
    private targets, so this is the loopback-only rule at work)."""
    response = tenant.client().post(
        "/api/v1/webhook-endpoints", {"url": _url(address), "events": ["*"]}, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "url" in error["details"]
    assert not WebhookEndpoint.objects.for_workspace(tenant.workspace).exists()
    assert not WebhookEndpoint.objects.for_workspace(other_tenant.workspace).exists()


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "64:ff9b::7f00:1", "fd00::1"])
def test_refused_when_a_url_is_changed_to_it(tenant, address):
    """PATCH to such a URL is 400 as well, and the endpoint keeps its URL."""
    endpoint, _ = endpoint_create(
        workspace_id=tenant.workspace.id,
        test=False,
        url="http://127.0.0.1:9/hook",
        events=["*"],
        actor=Actor.system("ssrf tests"),
    )
    response = tenant.client().patch(
        f"/api/v1/webhook-endpoints/{endpoint.id}", {"url": _url(address)}, format="json"
    )
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "192.168.0.10", "169.254.169.254", "::ffff:10.0.0.1", "2002:7f00:1::"]
)
def test_refused_at_attempt_time_when_the_name_now_resolves_there(tenant, monkeypatch, address):
    """Created while the name resolved to loopback, attempted after it moved (DNS rebinding):
    the attempt is refused before any connection and says why."""
    name = "rebind.example.test"
    resolves_to = {"address": "127.0.0.1"}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real(resolves_to["address"] if host == name else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    sent = []

    def post(target, **kwargs):
        sent.append(target.address)
        return ssrf.Answer(200, {}, b"")

    monkeypatch.setattr(ssrf, "post", post)
    endpoint, _ = endpoint_create(
        workspace_id=tenant.workspace.id,
        test=False,
        url=f"http://{name}:9/hook",
        events=["*"],
        actor=Actor.system("ssrf tests"),
    )
    resolves_to["address"] = address
    delivery = endpoint_ping(endpoint=endpoint)
    delivery_attempt(delivery_id=delivery.id)
    attempt = delivery.attempts.get()
    assert sent == [], "the guard let a request go to a non-loopback address"
    assert attempt.response_code is None and attempt.error.startswith("refused")
    assert str(ipaddress.ip_address(address)) in attempt.error
