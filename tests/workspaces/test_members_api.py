"""Members through the API (CONTRACT §11): the list, role changes and their limits, removal,
leaving, ownership, two-factor reset, every action audited, the other workspace never seen."""

import pytest
from allauth.mfa.models import Authenticator

from workspaces import members
from workspaces.audit import Actor
from workspaces.errors import TernError
from workspaces.models import ApiToken, AuditEvent, Membership, Workspace

from ..support.envelope import assert_envelope
from ..support.factories import member, token_for

pytestmark = pytest.mark.django_db


def _patch(tenant, target, role, by="owner"):
    return tenant.client(by).patch(f"/api/v1/members/{target.pk}", {"role": role}, format="json")


def _audited(action: str, target) -> AuditEvent:
    return AuditEvent.objects.get(action=action, target_id=target.pk)


def test_the_list_shows_this_workspace_only_with_the_contract_fields(tenant, other_tenant):
    response = tenant.client().get("/api/v1/members")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {r["role"] for r in rows} == {"owner", "admin", "campaign_manager", "agent", "viewer"}
    assert all(r["id"].startswith("mem_") for r in rows)
    assert set(rows[0]) >= {
        "id",
        "email",
        "name",
        "role",
        "two_factor",
        "joined_at",
        "last_seen_at",
    }
    theirs = {m.user.email for m in Membership.objects.filter(workspace=other_tenant.workspace)}
    assert not theirs & {r["email"] for r in rows}
    foreign = member(other_tenant.workspace, "viewer")
    for method in ("get", "delete"):
        response = getattr(tenant.client(), method)(f"/api/v1/members/{foreign.pk}")
        assert_envelope(response, 404, "not_found")
    assert_envelope(_patch(tenant, foreign, "agent"), 404, "not_found")
    assert_envelope(
        tenant.client().post(f"/api/v1/members/{foreign.pk}/make-owner"), 404, "not_found"
    )
    assert Membership.objects.get(pk=foreign.pk).role == "viewer"


def test_two_factor_shows_in_the_list(tenant):
    viewer = member(tenant.workspace, "viewer")
    Authenticator.objects.create(user=viewer.user, type=Authenticator.Type.TOTP, data={})
    rows = {r["id"]: r for r in tenant.client().get("/api/v1/members").json()["results"]}
    assert rows[viewer.pk]["two_factor"] is True
    assert rows[member(tenant.workspace, "agent").pk]["two_factor"] is False


def test_a_demotion_narrows_the_members_tokens_at_once(tenant):
    manager = member(tenant.workspace, "campaign_manager")
    token = tenant.tokens[("campaign_manager", "live")]
    response = _patch(tenant, manager, "viewer")
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    token.refresh_from_db()
    assert "campaigns:write" not in token.scopes and "campaigns:read" in token.scopes
    event = _audited("member.role_changed", manager)
    assert event.before == {"role": "campaign_manager"} and event.after["role"] == "viewer"
    assert token.pk in event.after["tokens_narrowed"]


def test_nobody_grants_above_or_changes_someone_above_their_role(tenant):
    viewer, owner = member(tenant.workspace, "viewer"), member(tenant.workspace, "owner")
    assert_envelope(_patch(tenant, viewer, "owner", by="admin"), 403, "forbidden")
    assert_envelope(_patch(tenant, owner, "viewer", by="admin"), 403, "forbidden")
    assert_envelope(tenant.client("admin").delete(f"/api/v1/members/{owner.pk}"), 403, "forbidden")
    assert _patch(tenant, viewer, "admin", by="admin").status_code == 200
    assert Membership.objects.get(pk=owner.pk).role == "owner"


def test_the_last_owner_is_neither_demoted_nor_removed(tenant):
    owner = member(tenant.workspace, "owner")
    error = assert_envelope(_patch(tenant, owner, "admin"), 409, "invalid_state")
    assert error["details"]["reason"] == "last_owner"
    assert_envelope(tenant.client().delete(f"/api/v1/members/{owner.pk}"), 409, "invalid_state")
    admin = member(tenant.workspace, "admin")
    assert _patch(tenant, admin, "owner").status_code == 200
    # The admin's token now speaks for an owner, and another owner exists: the demotion stands.
    assert _patch(tenant, owner, "admin", by="admin").status_code == 200
    assert_envelope(_patch(tenant, admin, "viewer", by="admin"), 409, "invalid_state")


def test_removal_answers_removed_at_revokes_tokens_and_hides_the_member(tenant):
    agent = member(tenant.workspace, "agent")
    token = tenant.tokens[("agent", "live")]
    response = tenant.client().delete(f"/api/v1/members/{agent.pk}")
    assert response.status_code == 200 and response.json()["removed_at"]
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = tenant.client("agent").get("/api/v1/messages")
    assert_envelope(refused, 401, "unauthorized")
    ids = [r["id"] for r in tenant.client().get("/api/v1/members").json()["results"]]
    assert agent.pk not in ids
    assert_envelope(tenant.client().get(f"/api/v1/members/{agent.pk}"), 404, "not_found")
    assert token.pk in _audited("member.removed", agent).after["tokens_revoked"]


def test_a_member_leaves_unless_last_owner(tenant):
    viewer = member(tenant.workspace, "viewer")
    actor = Actor("user", str(viewer.user_id), viewer.user.email)
    members.member_leave(member=viewer, actor=actor)
    assert Membership.objects.get(pk=viewer.pk).removed_at is not None
    assert _audited("member.left", viewer).actor_id == str(viewer.user_id)
    owner = member(tenant.workspace, "owner")
    with pytest.raises(TernError) as refused:
        members.member_leave(member=owner, actor=actor)
    assert refused.value.code == "invalid_state"


def test_ownership_transfer_is_owner_only_and_audited(tenant):
    owner, agent = member(tenant.workspace, "owner"), member(tenant.workspace, "agent")
    refused = tenant.client("admin").post(f"/api/v1/members/{agent.pk}/make-owner")
    assert_envelope(refused, 403, "forbidden")
    response = tenant.client().post(f"/api/v1/members/{agent.pk}/make-owner")
    assert response.status_code == 200 and response.json()["role"] == "owner"
    assert Membership.objects.get(pk=owner.pk).role == "admin"
    event = _audited("ownership.transferred", agent)
    assert event.before["owner"] == owner.pk and event.after["owner"] == agent.pk


def test_an_owner_resets_a_members_two_factor(tenant):
    viewer = member(tenant.workspace, "viewer")
    Authenticator.objects.create(user=viewer.user, type=Authenticator.Type.TOTP, data={})
    Authenticator.objects.create(user=viewer.user, type=Authenticator.Type.RECOVERY_CODES, data={})
    path = f"/api/v1/members/{viewer.pk}/reset-two-factor"
    assert_envelope(tenant.client("admin").post(path), 403, "forbidden")
    response = tenant.client().post(path)
    assert response.status_code == 200 and response.json()["two_factor"] is False
    assert not Authenticator.objects.filter(user=viewer.user).exists()
    assert _audited("two_factor.reset", viewer).after["authenticators_removed"] == 2


def test_test_tokens_and_roles_without_manage_are_refused(tenant):
    viewer = member(tenant.workspace, "viewer")
    client = tenant.client("owner", mode="test")
    for response in (
        client.get("/api/v1/members"),
        client.patch(f"/api/v1/members/{viewer.pk}", {"role": "agent"}, format="json"),
        client.delete(f"/api/v1/members/{viewer.pk}"),
    ):
        assert assert_envelope(response, 403, "forbidden")["details"]["reason"] == "test_token"
    response = _patch(tenant, viewer, "agent", by="campaign_manager")
    assert assert_envelope(response, 403, "forbidden")["details"]["required_scope"] == (
        "workspace:manage"
    )


def test_workspace_two_factor_and_timezone_are_settings(tenant):
    client = tenant.client()
    assert client.get("/api/v1/workspace").json()["timezone"] == "UTC"
    response = client.patch(
        "/api/v1/workspace",
        {"require_two_factor": True, "timezone": "America/New_York"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["require_two_factor"] is True
    bad = client.patch("/api/v1/workspace", {"timezone": "Mars/Olympus"}, format="json")
    assert "timezone" in assert_envelope(bad, 400, "validation_error")["details"]
    workspace = Workspace.objects.get(pk=tenant.workspace.pk)
    assert workspace.timezone == "America/New_York"
    event = AuditEvent.objects.filter(action="workspace.updated").latest("seq")
    assert event.after == {"require_two_factor": True, "timezone": "America/New_York"}


def test_a_token_of_a_member_without_the_role_is_narrowed_even_if_stored_wide(tenant):
    viewer = member(tenant.workspace, "viewer")
    token, _ = token_for(tenant.workspace, "viewer")
    ApiToken.objects.filter(pk=token.pk).update(scopes=["messages:read"])
    assert _patch(tenant, viewer, "agent").status_code == 200
    token.refresh_from_db()
    assert token.scopes == ["messages:read"]  # a promotion never widens a token
