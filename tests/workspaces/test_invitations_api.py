"""Invitations through the API (CONTRACT §11): who may invite whom, the link shown once and
mailed, replacement, revocation, acceptance, expiry, and the other workspace never in sight."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from workspaces import invitations
from workspaces.errors import TernError
from workspaces.models import AuditEvent, Invitation, Membership
from workspaces.services import hash_secret

from ..support.envelope import assert_envelope
from ..support.factories import UserFactory, member

pytestmark = pytest.mark.django_db
PASSPHRASE = "a long passphrase"


def _invite(tenant, email="Sam@Example.com", role="campaign_manager", by="owner"):
    return tenant.client(by).post(
        "/api/v1/invitations", {"email": email, "role": role}, format="json"
    )


def _key(url: str) -> str:
    return re.search(r"/join/([^/]+)/$", url).group(1)


def test_an_invitation_is_created_mailed_and_shown_once(tenant, other_tenant):
    response = _invite(tenant)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("inv_")
    assert body["email"] == "sam@example.com"
    assert body["role"] == "campaign_manager" and body["status"] == "pending"
    assert body["invited_by"] == member(tenant.workspace, "owner").user.email
    assert body["accept_url"].startswith("http") and "/join/" in body["accept_url"]
    stored = Invitation.objects.get(pk=body["id"])
    assert stored.key_hash == hash_secret(_key(body["accept_url"]))
    assert _key(body["accept_url"]) not in str(stored.__dict__)
    (sent,) = mail.outbox
    assert sent.to == ["sam@example.com"]
    assert tenant.workspace.name in sent.subject and body["accept_url"] in sent.body
    listed = tenant.client().get("/api/v1/invitations").json()["results"]
    assert [i["id"] for i in listed] == [body["id"]]
    assert "accept_url" not in listed[0]
    assert tenant.client().get(f"/api/v1/invitations/{body['id']}").json()["status"] == "pending"
    assert other_tenant.client().get("/api/v1/invitations").json()["results"] == []
    event = AuditEvent.objects.get(workspace=tenant.workspace, action="member.invited")
    assert event.target_id == body["id"] and event.after["role"] == "campaign_manager"
    assert _key(body["accept_url"]) not in str(event.after)


def test_nobody_invites_above_their_own_role(tenant):
    response = _invite(tenant, role="owner", by="admin")
    assert assert_envelope(response, 403, "forbidden")["details"]["required_role"] == "owner"
    assert _invite(tenant, role="admin", by="admin").status_code == 201
    assert not Invitation.objects.filter(role="owner").exists()


def test_a_role_without_workspace_manage_cannot_invite(tenant):
    response = _invite(tenant, by="campaign_manager")
    assert assert_envelope(response, 403, "forbidden")["details"]["required_scope"] == (
        "workspace:manage"
    )


def test_a_current_member_cannot_be_invited(tenant):
    viewer = member(tenant.workspace, "viewer").user
    response = _invite(tenant, email=viewer.email.upper())
    assert_envelope(response, 409, "invalid_state")
    assert mail.outbox == []


def test_a_second_invitation_to_the_same_email_replaces_the_first(tenant):
    first = _invite(tenant, role="viewer").json()
    second = _invite(tenant, email="SAM@example.com", role="agent").json()
    statuses = {
        i["id"]: i["status"] for i in tenant.client().get("/api/v1/invitations").json()["results"]
    }
    assert statuses == {first["id"]: "revoked", second["id"]: "pending"}
    first_link = Invitation.objects.get(pk=first["id"])
    with pytest.raises(TernError) as refused:
        invitations.invitation_accept(invitation=first_link, name="Sam", password=PASSPHRASE)
    assert refused.value.code == "invalid_state"
    assert AuditEvent.objects.filter(action="invitation.revoked", target_id=first["id"]).exists()


def test_revoke_answers_200_and_the_link_joins_nobody(tenant, other_tenant):
    created = _invite(tenant).json()
    theirs = _invite(other_tenant).json()
    assert_envelope(tenant.client().delete(f"/api/v1/invitations/{theirs['id']}"), 404, "not_found")
    response = tenant.client().delete(f"/api/v1/invitations/{created['id']}")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    event = AuditEvent.objects.get(action="invitation.revoked", target_id=created["id"])
    assert event.workspace_id == tenant.workspace.pk
    invitation = Invitation.objects.get(pk=created["id"])
    with pytest.raises(TernError):
        invitations.invitation_accept(invitation=invitation, name="Sam", password=PASSPHRASE)
    assert Invitation.objects.get(pk=theirs["id"]).status == "pending"


def test_accepting_makes_a_member_with_the_role_and_is_audited(tenant):
    created = _invite(tenant).json()
    invitation = invitations.invitation_for_key(_key(created["accept_url"]))
    joined = invitations.invitation_accept(
        invitation=invitation, name="Sam Lee", password=PASSPHRASE
    )
    assert joined.pk.startswith("mem_") and joined.role == "campaign_manager"
    assert joined.user.check_password(PASSPHRASE) and joined.user.first_name == "Sam Lee"
    assert tenant.client().get(f"/api/v1/invitations/{created['id']}").json()["status"] == (
        "accepted"
    )
    event = AuditEvent.objects.get(action="member.joined")
    assert event.target_id == joined.pk and event.after["role"] == "campaign_manager"
    emails = [m["email"] for m in tenant.client().get("/api/v1/members").json()["results"]]
    assert "sam@example.com" in emails


def test_an_existing_account_must_be_signed_in_as_that_email(tenant, other_tenant):
    person = member(other_tenant.workspace, "viewer").user
    created = _invite(tenant, email=person.email).json()
    invitation = Invitation.objects.get(pk=created["id"])
    with pytest.raises(TernError) as refused:
        invitations.invitation_accept(invitation=invitation, user=UserFactory())
    assert refused.value.code == "forbidden"
    joined = invitations.invitation_accept(invitation=invitation, user=person)
    assert joined.user == person and joined.workspace_id == tenant.workspace.pk


def test_a_weak_password_is_refused_with_its_reason(tenant):
    created = _invite(tenant).json()
    invitation = Invitation.objects.get(pk=created["id"])
    with pytest.raises(TernError) as refused:
        invitations.invitation_accept(invitation=invitation, name="Sam", password="short")
    assert "password" in refused.value.details
    assert Invitation.objects.get(pk=created["id"]).status == "pending"


def test_an_invitation_expires_after_seven_days(tenant):
    created = _invite(tenant).json()
    with time_machine.travel(timedelta(days=7, minutes=1)):
        listed = tenant.client().get(f"/api/v1/invitations/{created['id']}").json()
        assert listed["status"] == "expired"
        with pytest.raises(TernError) as refused:
            invitations.invitation_accept(
                invitation=Invitation.objects.get(pk=created["id"]),
                name="Sam",
                password=PASSPHRASE,
            )
        assert refused.value.details["status"] == "expired"
    assert not Membership.objects.filter(user__email="sam@example.com").exists()


def test_test_tokens_cannot_reach_invitations(tenant):
    client = tenant.client("owner", mode="test")
    for response in (
        client.get("/api/v1/invitations"),
        client.post("/api/v1/invitations", {"email": "a@b.test", "role": "viewer"}, format="json"),
    ):
        assert assert_envelope(response, 403, "forbidden")["details"]["reason"] == "test_token"


def test_a_removed_person_may_be_invited_again(tenant):
    viewer = member(tenant.workspace, "viewer")
    assert tenant.client().delete(f"/api/v1/members/{viewer.pk}").status_code == 200
    created = _invite(tenant, email=viewer.user.email, role="agent").json()
    invitation = Invitation.objects.get(pk=created["id"])
    again = invitations.invitation_accept(invitation=invitation, user=viewer.user)
    assert again.pk != viewer.pk and again.role == "agent"
    assert Membership.objects.filter(user=viewer.user, workspace=tenant.workspace).count() == 2
