"""DELETE /api/v1/suppressions/{id}: the reason is a non-blank string, or 400 (CONTRACT §6)."""

import pytest

from compliance.models import Suppression
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/suppressions"


def _suppress(tenant, phone="+14155550178") -> str:
    response = tenant.client().post(URL, {"phone": phone, "reason": "asked"}, format="json")
    assert response.status_code == 201
    return response.json()["id"]


@pytest.mark.parametrize(
    "reason",
    [None, False, True, 0, 1, 0.5, [], ["x"], {}, {"a": "b"}, "", "   ", "\t\n"],
    ids=repr,
)
def test_a_reason_that_is_not_a_non_blank_string_is_refused(tenant, other_tenant, reason):
    """JSON null, booleans, numbers, lists, objects and blank strings are not a reason."""
    suppression_id = _suppress(tenant)
    response = tenant.client().delete(f"{URL}/{suppression_id}", {"reason": reason}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "reason" in error["details"]
    suppression = Suppression.objects.get(pk=suppression_id)
    assert suppression.active and suppression.removal_reason in ("", None)
    assert not AuditEvent.objects.filter(action="suppression.removed").exists()
    assert other_tenant.client().get(f"{URL}/{suppression_id}").status_code == 404


@pytest.mark.parametrize("query", ["?reason=", "?reason=%20%20", ""])
def test_a_blank_or_missing_query_reason_without_a_body_is_refused(tenant, query):
    """`?reason=` blank, or absent with no body: 400."""
    suppression_id = _suppress(tenant)
    response = tenant.client().delete(f"{URL}/{suppression_id}{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert Suppression.objects.get(pk=suppression_id).active


def test_a_reason_longer_than_the_bound_is_refused(tenant):
    """Reasons are bounded like the creation's (2,000 characters)."""
    suppression_id = _suppress(tenant)
    response = tenant.client().delete(
        f"{URL}/{suppression_id}", {"reason": "x" * 2001}, format="json"
    )
    assert response.status_code == 400
    assert Suppression.objects.get(pk=suppression_id).active


@pytest.mark.parametrize(
    "how", ["body", "query", "blank query, body", "bad body, query"], ids=str.strip
)
def test_a_string_reason_from_the_body_or_the_query_removes_it(tenant, how):
    """A real reason is recorded trimmed, from `?reason=` or the JSON body."""
    suppression_id = _suppress(tenant)
    client, url = tenant.client(), f"{URL}/{suppression_id}"
    if how == "body":
        response = client.delete(url, {"reason": "  customer called "}, format="json")
    elif how == "query":
        response = client.delete(url + "?reason=customer%20called")
    elif how == "blank query, body":
        response = client.delete(url + "?reason=", {"reason": "customer called"}, format="json")
    else:
        response = client.delete(url + "?reason=customer%20called", {"reason": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["removal_reason"] == "customer called"
    assert AuditEvent.objects.get(action="suppression.removed").reason == "customer called"
