"""The Members page and the join page, through Django's test client (CONTRACT §11, §12):
what each role sees and may do, the same services and audit as the API, and every join state."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from workspaces import invitations
from workspaces.audit import Actor
from workspaces.models import AuditEvent, Invitation, Membership

from ..support.factories import UserFactory, member

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _page(tenant) -> str:
    return f"/w/{tenant.workspace.slug}/members/"


def _invite(tenant, email="new@example.test", role="campaign_manager") -> tuple[Invitation, str]:
    invitation, url = invitations.invitation_create(
        acting=member(tenant.workspace, "owner"), email=email, role=role, actor=Actor.system()
    )
    return invitation, re.search(r"(/join/[^/]+/)$", url).group(1)


def test_the_owner_sees_every_action_and_no_other_workspace(tenant, other_tenant, people):
    _invite(tenant)
    _invite(other_tenant, email="theirs@example.test")
    html = _client(people[("A", "owner")]).get(_page(tenant)).content.decode()
    for name in ("Invite member", "Make owner", "Remove", "Leave workspace", "Revoke", "Save"):
        assert name in html, name
    assert 'for="invite-email">Email<' in html and 'for="invite-role">Role<' in html
    assert "new@example.test" in html and "theirs@example.test" not in html
    assert people[("B", "viewer")].email not in html


def test_a_viewer_sees_only_their_own_membership_and_may_leave(tenant, people):
    """The members list needs workspace:manage, as GET /api/v1/members does."""
    html = _client(people[("A", "viewer")]).get(_page(tenant)).content.decode()
    assert people[("A", "viewer")].email in html
    assert people[("A", "owner")].email not in html
    for name in ("Invite member", "Make owner", ">Remove<", "Revoke", "Save"):
        assert name not in html, name
    assert "Leave workspace" in html


def test_an_admin_is_offered_roles_up_to_admin_and_no_owner_actions(tenant, people):
    html = _client(people[("A", "admin")]).get(_page(tenant)).content.decode()
    assert 'value="admin"' in html and 'value="owner"' not in html
    assert "Make owner" not in html and "Reset two-factor" not in html


def test_inviting_from_the_page_mails_the_link_and_is_audited(tenant, people):
    client = _client(people[("A", "admin")])
    response = client.post(
        _page(tenant) + "invite/", {"email": "Pat@Example.test", "role": "agent"}, follow=True
    )
    assert "Invitation sent to pat@example.test" in response.content.decode()
    (sent,) = mail.outbox
    assert sent.to == ["pat@example.test"] and "/join/" in sent.body
    event = AuditEvent.objects.get(action="member.invited")
    assert event.actor_type == "user" and event.actor_id == str(people[("A", "admin")].pk)


def test_an_error_shows_the_catalogue_message_and_fix(tenant, people):
    response = _client(people[("A", "owner")]).post(
        _page(tenant) + "invite/",
        {"email": people[("A", "viewer")].email, "role": "viewer"},
        follow=True,
    )
    html = response.content.decode()
    assert "is already a member" in html and 'role="alert"' in html


def test_a_forged_action_above_ones_role_answers_403(tenant, people):
    owner = member(tenant.workspace, "owner")
    client = _client(people[("A", "admin")])
    assert client.post(_page(tenant) + f"{owner.pk}/remove/").status_code == 403
    assert client.post(_page(tenant) + f"{owner.pk}/make-owner/").status_code == 403
    viewer = member(tenant.workspace, "viewer")
    assert client.post(_page(tenant) + f"{viewer.pk}/role/", {"role": "owner"}).status_code == 403
    assert Membership.objects.get(pk=owner.pk).removed_at is None


def test_role_change_remove_and_revoke_go_through_the_services(tenant, other_tenant, people):
    client = _client(people[("A", "owner")])
    agent, viewer = member(tenant.workspace, "agent"), member(tenant.workspace, "viewer")
    client.post(_page(tenant) + f"{agent.pk}/role/", {"role": "viewer"})
    assert Membership.objects.get(pk=agent.pk).role == "viewer"
    client.post(_page(tenant) + f"{viewer.pk}/remove/")
    assert Membership.objects.get(pk=viewer.pk).removed_at is not None
    invitation, _ = _invite(tenant)
    client.post(f"/w/{tenant.workspace.slug}/invitations/{invitation.pk}/revoke/")
    assert Invitation.objects.get(pk=invitation.pk).status == "revoked"
    theirs, _ = _invite(other_tenant)
    url = f"/w/{tenant.workspace.slug}/invitations/{theirs.pk}/revoke/"
    assert client.post(url).status_code == 404
    foreign = member(other_tenant.workspace, "viewer")
    assert client.post(_page(tenant) + f"{foreign.pk}/remove/").status_code == 404
    actions = set(
        AuditEvent.objects.filter(workspace=tenant.workspace).values_list("action", flat=True)
    )
    assert {"member.role_changed", "member.removed", "invitation.revoked"} <= actions


def test_anyone_may_leave_but_the_last_owner(tenant, people):
    viewer = people[("A", "viewer")]
    response = _client(viewer).post(_page(tenant) + "leave/")
    assert response.status_code == 302 and response["Location"] == "/w/"
    assert _client(viewer).get(_page(tenant)).status_code == 404
    response = _client(people[("A", "owner")]).post(_page(tenant) + "leave/", follow=True)
    assert "The last owner cannot leave" in response.content.decode()


def test_join_as_a_new_person_signs_in_and_lands_on_the_dashboard(tenant):
    _, path = _invite(tenant)
    client = Client()
    page = client.get(path).content.decode()
    assert ">Name<" in page and ">Password<" in page and ">Join<" in page
    weak = client.post(path, {"name": "Pat", "password": "x"})
    assert "too short" in weak.content.decode()
    assert not Membership.objects.filter(user__email="new@example.test").exists()
    response = client.post(path, {"name": "Pat", "password": "a long passphrase"})
    assert response.status_code == 302
    assert response["Location"] == f"/w/{tenant.workspace.slug}/"
    assert client.get(response["Location"]).status_code == 200
    joined = Membership.objects.get(user__email="new@example.test")
    assert joined.role == "campaign_manager"
    used = client.get(path).content.decode()
    assert "accepted" in used and ">Join<" not in used


def test_join_with_an_existing_account_asks_to_sign_in_as_that_email(tenant, other_tenant):
    person = member(other_tenant.workspace, "viewer").user
    _, path = _invite(tenant, email=person.email)
    page = Client().get(path).content.decode()
    assert f'href="/login/?next={path}"' in page and ">Join<" not in page
    stranger = _client(UserFactory())
    other = stranger.get(path).content.decode()
    assert "but this invitation is for" in other and 'action="/logout/"' in other
    assert stranger.post(path).status_code == 200  # joins nobody
    client = _client(person)
    assert ">Join<" in client.get(path).content.decode()
    assert client.post(path)["Location"] == f"/w/{tenant.workspace.slug}/"
    assert Membership.objects.current().filter(user=person, workspace=tenant.workspace).exists()


@pytest.mark.parametrize("state", ["revoked", "expired", "accepted"])
def test_a_used_revoked_or_expired_link_joins_nobody(tenant, state):
    invitation, path = _invite(tenant)
    if state == "revoked":
        invitations.invitation_revoke(invitation=invitation, actor=Actor.system())
    if state == "accepted":
        invitations.invitation_accept(invitation=invitation, name="P", password="a long passphrase")
    with time_machine.travel(timedelta(days=8) if state == "expired" else timedelta(0)):
        client = Client()
        page = client.get(path).content.decode()
        assert state in page and ">Join<" not in page
        client.post(path, {"name": "Q", "password": "another long passphrase"})
    assert Membership.objects.filter(user__email="new@example.test").count() == (
        1 if state == "accepted" else 0
    )


def test_an_unknown_key_is_a_404():
    assert Client().get("/join/not-a-key/").status_code == 404


def test_the_link_never_reaches_the_logs(tenant, caplog):
    with caplog.at_level("DEBUG"):
        response = tenant.client().post(
            "/api/v1/invitations", {"email": "log@example.test", "role": "viewer"}, format="json"
        )
        key = re.search(r"/join/([^/]+)/$", response.json()["accept_url"]).group(1)
        client = Client()
        client.get(f"/join/{key}/")
        client.post(f"/join/{key}/", {"name": "L", "password": "x"})
        client.post(f"/join/{key}/", {"name": "L", "password": "a long passphrase"})
        client.get(f"/join/{key}/")
    assert Membership.objects.filter(user__email="log@example.test").exists()
    assert key not in caplog.text


def test_owner_only_actions_make_owner_and_reset_two_factor(tenant, people):
    from allauth.mfa.models import Authenticator

    agent = member(tenant.workspace, "agent")
    Authenticator.objects.create(user=agent.user, type=Authenticator.Type.TOTP, data={})
    assert "Reset two-factor" in _client(people[("A", "owner")]).get(_page(tenant)).content.decode()
    admin = _client(people[("A", "admin")])
    assert "Reset two-factor" not in admin.get(_page(tenant)).content.decode()
    assert admin.post(_page(tenant) + f"{agent.pk}/reset-two-factor/").status_code == 403
    owner = _client(people[("A", "owner")])
    owner.post(_page(tenant) + f"{agent.pk}/reset-two-factor/")
    assert not Authenticator.objects.filter(user=agent.user).exists()
    response = owner.post(_page(tenant) + f"{agent.pk}/make-owner/", follow=True)
    assert "is now the owner; you are an admin" in response.content.decode()
    assert Membership.objects.get(pk=agent.pk).role == "owner"
    former = Membership.objects.current().get(user=people[("A", "owner")])
    assert former.role == "admin"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"two_factor.reset", "ownership.transferred"} <= actions
    event = AuditEvent.objects.get(action="ownership.transferred")
    assert event.actor_type == "user" and event.actor_id == str(people[("A", "owner")].pk)


def test_an_invalid_email_is_refused_with_the_reason(tenant, people):
    response = _client(people[("A", "owner")]).post(
        _page(tenant) + "invite/", {"email": "not-an-email", "role": "viewer"}, follow=True
    )
    assert "Not a valid email address: not-an-email." in response.content.decode()
    assert not Invitation.objects.filter(email="not-an-email").exists() and mail.outbox == []


def test_role_names_one_field_only(tenant, people):
    """`Role` labels the invite form's select alone (a screen reader, or get_by_label, finds one);
    each member's own select is named by its access level."""
    import re

    html = _client(people[("A", "owner")]).get(_page(tenant)).content.decode()
    labels = re.findall(r'aria-label="([^"]*)"', html) + re.findall(r"<label[^>]*>([^<]*)<", html)
    assert [x for x in labels if "role" in x.lower()] == ["Role"]
