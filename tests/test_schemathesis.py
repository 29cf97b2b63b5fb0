"""The OpenAPI schema is a contract: schemathesis generates requests from it for every operation
(examples, coverage and fuzzing phases) and checks each answer against it.

Runs in process through WSGI, inside the test's transaction, with a live owner token of a seeded
workspace; path ids are real objects of that workspace where one exists. Nothing leaves the
machine: webhook URLs are checked (private targets refused), no task is published (on_commit
callbacks never run inside the test transaction, and direct publishes are dropped), and any
socket connection to an address other than 127.0.0.1 fails the test.
"""

import copy
import ipaddress
import os
import re
import socket

import pytest
import schemathesis
from celery.app.task import Task
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from workspaces.models import Workspace

from .conftest import make_tenant
from .support.factories import sender_for
from .support.objects import OBJECT_OF

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation in the fuzzing phase: the whole run stays within a few minutes. Both may be set
# from the environment to explore further than the suite does (SCHEMATHESIS_SEED, …_EXAMPLES).
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261127"))
EXAMPLE_SENDER = "+14155550100"
# The webhook example's host "resolves" to a public address so its endpoint is created; no
# connection is ever made to it (no task runs, and connect() refuses it).
EXAMPLE_HOOK_HOST, EXAMPLE_HOOK_ADDRESS = "hooks.example.com", "93.184.215.14"
PREFIXED_ID = re.compile(r"^[a-z]{2,4}_[0-9a-z]{26}$")

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,  # the same requests on every run: a failure here is reproducible
        "suppress-health-check": ["all"],
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "mode": "all"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)


def _schema() -> dict:
    """The schema exactly as /api/v1/schema/ serves it."""
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_schema(), config=CONFIG)
schema.app = get_wsgi_application()


def _is_address(host) -> bool:
    try:
        ipaddress.ip_address(str(host).strip("[]"))
    except ValueError:
        return False
    return True


@pytest.fixture
def no_traffic_off_machine(monkeypatch):
    """Fail on any connection to another host; drop every task instead of publishing it."""
    attempts = []
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1",):
            attempts.append(address)
            raise OSError(f"schemathesis test: no connection to {address!r}")
        return real_connect(sock, address)

    def no_lookup(host, port=None, *args, **kwargs):
        """Answer without asking a DNS server: the examples' host is public, others unknown."""
        if host == "localhost" or _is_address(host):  # no DNS query for these
            return real_getaddrinfo(host, port, *args, **kwargs)
        if host == EXAMPLE_HOOK_HOST:
            sockaddr = (EXAMPLE_HOOK_ADDRESS, port or 443)
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
        raise socket.gaierror(socket.EAI_NONAME, "schemathesis test: no name lookups")

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: no_lookup(host)[0][4][0])
    monkeypatch.setattr(Task, "apply_async", lambda *args, **kwargs: None)
    yield attempts


@pytest.fixture
def in_process(db):
    """Requests share the test's connection and transaction, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(in_process, settings):
    """A workspace with one object of each kind, and its live owner token; then URLs checked."""
    tenant = make_tenant()
    sender_for(tenant.workspace, number=EXAMPLE_SENDER)  # the `from` of the schema's examples
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        rate_limit_per_second=500, default_sender=EXAMPLE_SENDER
    )
    ids = {model: OBJECT_OF[model](tenant).pk for model in OBJECT_OF}
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    return tenant.secrets[("owner", "live")], ids


def _real_id(case, ids: dict) -> None:
    """Point a well-formed id at the seeded object of the route's model, if there is one."""
    given = case.path_parameters.get("id") if case.path_parameters else None
    if not isinstance(given, str) or not PREFIXED_ID.match(given):
        return
    try:
        match = resolve(case.formatted_path)
    except Resolver404:
        return
    model = getattr(getattr(match.func, "cls", None), "model", None)
    if model in ids:
        case.path_parameters["id"] = ids[model]


@schema.parametrize()
def test_api_answers_as_its_schema_says(case, seeded, no_traffic_off_machine):
    """No 5xx; each status, content type and body is one the schema documents."""
    secret, ids = seeded
    _real_id(case, ids)
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)
    assert no_traffic_off_machine == []


def test_a_response_the_schema_does_not_describe_fails_the_checks(seeded, no_traffic_off_machine):
    """The checks bite: with the workspace documented as a number, reading it fails."""
    wrong = copy.deepcopy(schema.raw_schema)
    wrong["paths"]["/api/v1/workspace"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"type": "integer"}}
    }
    loaded = schemathesis.openapi.from_dict(wrong, config=CONFIG)
    loaded.app = schema.app
    case = loaded["/api/v1/workspace"]["GET"].Case()
    secret, _ = seeded
    with pytest.raises(FailureGroup, match="Response violates schema"):
        case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)


def test_the_guard_stops_traffic_off_the_machine(no_traffic_off_machine):
    """A connection elsewhere than 127.0.0.1, or a name lookup, never leaves this process."""
    with pytest.raises(OSError), socket.create_connection(("192.0.2.1", 443), timeout=1):
        pass
    assert no_traffic_off_machine == [("192.0.2.1", 443)]
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("tern.example.org", 443)
    assert Task.apply_async(None) is None  # tasks are dropped, not published
