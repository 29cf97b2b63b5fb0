import pytest
pytestmark = pytest.mark.django_db

def test_sched(tenant):
    r = tenant.client().post("/api/v1/messages", {"to": "+14155550100", "from": tenant.sender.number, "body": "hi", "send_at": "2099-01-01T00:00:00Z"}, format="json")
    print(r.status_code, r.content)
    mid = r.json()["message"]["id"] if "message" in r.json() else r.json()["id"]
    r = tenant.client().get(f"/api/v1/messages/{mid}")
    print(r.content)
    r = tenant.client().get("/api/v1/messages", {"created_after": "2000-01-01T00:00:00Z"})
    print(r.status_code, r.content[:300])
