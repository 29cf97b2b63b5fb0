"""Members in a real browser: an owner invites a campaign manager from the Members page, the
invitee opens the mailed link in a second browser, joins, and sees only what the role may use."""

import re

import pytest
from django.core import mail

from console.navigation import NAV
from workspaces.models import Membership
from workspaces.scopes import scopes_for_role

from ..support.browser import assert_accessible
from ..support.factories import member

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_invited_campaign_manager_joins_and_sees_only_their_share(
    page_as, browser_context, tenant, other_tenant, people
):
    owner_page = page_as(people[("A", "owner")])
    owner_page.goto(f"/w/{tenant.workspace.slug}/members/")
    owner_page.get_by_role("heading", name="Members", exact=True).wait_for()
    assert other_tenant.workspace.name not in owner_page.content()
    assert_accessible(owner_page)
    owner_page.get_by_label("Email").fill("casey@example.test")
    owner_page.get_by_label("Role", exact=True).select_option(label="Campaign manager")
    owner_page.get_by_role("button", name="Invite member").click()
    owner_page.get_by_text("Invitation sent to casey@example.test").wait_for()
    pending = owner_page.get_by_role("region", name="Pending invitations")
    assert pending.get_by_role("rowheader", name="casey@example.test").is_visible()

    (sent,) = mail.outbox
    assert tenant.workspace.name in sent.subject
    path = re.search(r"(/join/[^/\s]+/)", sent.body).group(1)

    invitee = browser_context().new_page()
    invitee.goto(path)
    assert_accessible(invitee)
    invitee.get_by_label("Name").fill("Casey Doe")
    invitee.get_by_label("Password").fill("a long passphrase")
    invitee.get_by_role("button", name="Join").click()
    invitee.wait_for_url(f"**/w/{tenant.workspace.slug}/")
    invitee.get_by_role("heading", name="Dashboard").wait_for()
    assert_accessible(invitee)

    nav = invitee.get_by_role("navigation", name="Workspace")
    labels = [link.inner_text().strip() for link in nav.get_by_role("link").all()]
    allowed = scopes_for_role("campaign_manager")
    by_label = {item.label: item for item in NAV}
    assert "Dashboard" in labels and "Members" in labels
    for label in labels:
        item = by_label[label]
        assert not item.managers_only and (item.scope is None or item.scope in allowed), label
    if "Settings" in labels:  # every member reads the settings; only workspace:manage saves
        nav.get_by_role("link", name="Settings").click()
        invitee.get_by_role("heading", name="Settings").wait_for()
        assert invitee.get_by_role("button", name="Save").count() == 0

    nav.get_by_role("link", name="Members").click()
    invitee.get_by_role("heading", name="Members", exact=True).wait_for()
    for action in ("Invite member", "Remove", "Make owner", "Save", "Revoke"):
        assert invitee.get_by_role("button", name=action).count() == 0, action
    assert invitee.get_by_role("button", name="Leave workspace").count() == 1
    assert_accessible(invitee)
    joined = Membership.objects.current().get(user__email="casey@example.test")
    assert joined.role == "campaign_manager" and joined.workspace_id == tenant.workspace.pk


def test_removing_a_member_asks_first_in_a_dialog(page_as, tenant, people):
    viewer = member(tenant.workspace, "viewer")
    page = page_as(people[("A", "owner")])
    page.goto(f"/w/{tenant.workspace.slug}/members/")
    row = page.get_by_role("row").filter(has_text=viewer.user.email)
    row.get_by_role("button", name="Remove").click()
    dialog = row.get_by_role("dialog", name="Remove")
    assert viewer.user.email in dialog.inner_text()
    assert_accessible(page)
    dialog.get_by_role("button", name="Confirm").click()
    page.get_by_text(f"{viewer.user.email} was removed.").wait_for()
    assert Membership.objects.get(pk=viewer.pk).removed_at is not None
