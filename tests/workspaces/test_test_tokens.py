"""A test token never reaches live things (CONTRACT §2): live tokens, senders, settings."""

import pytest

from workspaces.models import ApiToken, Sender

from ..support.factories import next_number, token_for

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"


def assert_test_token_refused(response) -> None:
    """403 `forbidden` with `details.reason: "test_token"`."""
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "forbidden" and error["details"]["reason"] == "test_token"


@pytest.mark.parametrize("given", [{"mode": "live"}, {}], ids=["explicit", "default"])
def test_a_live_token_mints_live_tokens_by_default_and_on_request(tenant, given):
    """The mode defaults to the calling token's: a live caller's new token is live."""
    body = {"name": "ci", "scopes": ["messages:read"], **given}
    response = tenant.client("owner").post(TOKENS, body, format="json")
    assert response.status_code == 201
    assert response.json()["mode"] == "live" and response.json()["token"].startswith("tern_live_")


def test_a_test_token_cannot_create_a_live_token(tenant, other_tenant):
    """Asking for `mode: live` with a test token: 403, and no token is made."""
    before = ApiToken.objects.count()
    response = tenant.client("owner", "test").post(
        TOKENS, {"name": "escape", "scopes": ["messages:send"], "mode": "live"}, format="json"
    )
    assert_test_token_refused(response)
    assert ApiToken.objects.count() == before
    assert not ApiToken.objects.filter(name="escape").exists()


def test_a_token_made_by_a_test_token_is_a_test_token(tenant, other_tenant):
    """Without `mode`, a test token's new token is a test token, and it sends no live traffic."""
    response = tenant.client("owner", "test").post(
        TOKENS, {"name": "child", "scopes": ["messages:send", "workspace:manage"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["mode"] == "test" and body["token"].startswith("tern_test_")
    assert ApiToken.objects.get(pk=body["id"]).workspace_id == tenant.workspace.pk
    # The child cannot climb back to live either.
    child = tenant.client("owner", "test")
    child.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    escape = child.post(
        TOKENS, {"name": "x", "scopes": ["messages:send"], "mode": "live"}, format="json"
    )
    assert_test_token_refused(escape)
    explicit = tenant.client("owner", "test").post(
        TOKENS, {"name": "t", "scopes": ["messages:read"], "mode": "test"}, format="json"
    )
    assert explicit.status_code == 201 and explicit.json()["mode"] == "test"


def test_a_test_token_cannot_revoke_a_live_token_but_may_revoke_a_test_one(tenant):
    """Revoking a live token would reach live things; a test token only revokes test tokens."""
    live = tenant.tokens[("viewer", "live")]
    response = tenant.client("owner", "test").delete(f"{TOKENS}/{live.id}")
    assert_test_token_refused(response)
    live.refresh_from_db()
    assert live.revoked_at is None
    spare, _ = token_for(tenant.workspace, "owner", mode="test")
    assert tenant.client("owner", "test").delete(f"{TOKENS}/{spare.id}").status_code == 200


def test_a_test_token_cannot_add_or_remove_senders(tenant, other_tenant):
    """Senders are live things: creating and deleting one with a test token is 403."""
    number = next_number()
    response = tenant.client("owner", "test").post(
        "/api/v1/senders", {"number": number, "kind": "long_code"}, format="json"
    )
    assert_test_token_refused(response)
    assert not Sender.objects.filter(number=number).exists()
    response = tenant.client("owner", "test").delete(f"/api/v1/senders/{tenant.sender.id}")
    assert_test_token_refused(response)
    tenant.sender.refresh_from_db()
    assert tenant.sender.removed_at is None
    # Reading them stays open; another workspace's sender is still 404, not 403.
    assert tenant.client("owner", "test").get("/api/v1/senders").status_code == 200
    foreign = tenant.client("owner", "test").delete(f"/api/v1/senders/{other_tenant.sender.id}")
    assert foreign.status_code in (403, 404)
    other_tenant.sender.refresh_from_db()
    assert other_tenant.sender.removed_at is None


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Renamed"},
        {"test_mode": False},
        {"spend_limit": "100000.00"},
        {"verified_recipients": ["+14155550100"]},
        {"help_text": "hi"},
        {},
    ],
)
def test_a_test_token_cannot_change_workspace_settings(tenant, change):
    """PATCH /workspace with a test token is 403 whatever it changes; nothing is written."""
    before = tenant.client().get("/api/v1/workspace").json()
    response = tenant.client("owner", "test").patch("/api/v1/workspace", change, format="json")
    assert_test_token_refused(response)
    assert tenant.client().get("/api/v1/workspace").json() == before
    # Reading the settings stays open to a test token with the scope.
    assert tenant.client("owner", "test").get("/api/v1/workspace").status_code == 200


def test_a_test_token_without_the_scope_is_told_the_scope_first(tenant):
    """The scope check comes first: a test token lacking `workspace:manage` names that scope."""
    _, secret = token_for(tenant.workspace, "owner", scopes=["messages:read"], mode="test")
    client = tenant.client("owner", "test")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.patch("/api/v1/workspace", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["details"]["required_scope"] == "workspace:manage"


def test_live_tokens_keep_every_one_of_these_powers(tenant):
    """The guard refuses test tokens only."""
    client = tenant.client("owner")
    assert client.patch("/api/v1/workspace", {"name": "Live"}, format="json").status_code == 200
    sender = client.post("/api/v1/senders", {"number": next_number()}, format="json")
    assert sender.status_code == 201
    assert client.delete(f"/api/v1/senders/{sender.json()['id']}").status_code == 200
    spare, _ = token_for(tenant.workspace, "viewer")
    assert client.delete(f"{TOKENS}/{spare.id}").status_code == 200
