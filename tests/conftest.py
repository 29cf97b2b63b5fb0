"""Fixtures for the whole suite: two workspaces with a member of every role, API clients."""

import os
import shutil
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.core.management.commands import flush
from django.db import connection
from rest_framework.test import APIClient

from workspaces.audit import install_guards, remove_guards
from workspaces.scopes import ROLE_SCOPES

from .support.factories import WorkspaceFactory, sender_for, token_for

pytest_plugins = ["tests.support.browser"]

_original_flush = flush.Command.handle


def _flush_past_audit_guards(self, *args, **options):
    """Transactional tests end with a flush, which the audit table refuses while guarded."""
    remove_guards(connection)
    try:
        return _original_flush(self, *args, **options)
    finally:
        install_guards(connection)


flush.Command.handle = _flush_past_audit_guards


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are skipped, with their reason, on the SQLite default."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); SQLite cannot prove it")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    """Remove this session's var/ folder; in CI nothing may be skipped (a skip fails the run)."""
    if settings.VAR_DIR.name.startswith("session-"):
        shutil.rmtree(settings.VAR_DIR, ignore_errors=True)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("TERN_REQUIRE_ALL_TESTS") and skipped and exitstatus == 0:
        reporter.write_line(f"FAILED: {skipped} test(s) skipped where none may be", red=True)
        session.exitstatus = 1


@dataclass
class Tenant:
    """One workspace with a token per role (live), a test-mode owner token and a sender."""

    workspace: object
    tokens: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict)
    sender: object = None

    def client(self, role: str = "owner", mode: str = "live") -> APIClient:
        """An API client carrying this role's token."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.secrets[(role, mode)]}")
        return client


def make_tenant() -> Tenant:
    """A workspace with members of every role, their tokens, a test token and a sender."""
    tenant = Tenant(workspace=WorkspaceFactory())
    for role in ROLE_SCOPES:
        token, secret = token_for(tenant.workspace, role)
        tenant.tokens[(role, "live")], tenant.secrets[(role, "live")] = token, secret
    token, secret = token_for(tenant.workspace, "owner", mode="test")
    tenant.tokens[("owner", "test")], tenant.secrets[("owner", "test")] = token, secret
    tenant.sender = sender_for(tenant.workspace)
    return tenant


@pytest.fixture
def tenant(db) -> Tenant:
    """Workspace A: the one under test."""
    return make_tenant()


@pytest.fixture
def other_tenant(db) -> Tenant:
    """Workspace B: its data must never appear in A's answers."""
    return make_tenant()


@pytest.fixture
def anon() -> APIClient:
    """A client with no credentials."""
    return APIClient()
