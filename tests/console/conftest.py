"""Console fixtures: people with sign-ins in two workspaces, and a sample object per URL part."""

import pytest

from tests.support.factories import member


@pytest.fixture
def people(tenant, other_tenant):
    """`people[(workspace_letter, role)]`: the user holding that role in workspace A or B."""
    found = {}
    for letter, t in (("A", tenant), ("B", other_tenant)):
        for role in ("owner", "admin", "campaign_manager", "agent", "viewer"):
            found[(letter, role)] = member(t.workspace, role).user
    return found
