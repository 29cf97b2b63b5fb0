"""The platform answers; the two-workspace fixture is wired."""

import pytest

pytestmark = pytest.mark.django_db


def test_workspace_answers_with_owner_token(tenant, other_tenant):
    response = tenant.client().get("/api/v1/workspace")
    assert response.status_code == 200
    assert response.json()["id"] == tenant.workspace.id
    assert response.json()["id"] != other_tenant.workspace.id
