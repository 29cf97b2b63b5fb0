"""`campaign_resend_failed` and the audience it makes, `{"campaign_failed": id}`: the failed and
undelivered recipients of that campaign of the same workspace, judged again at the dry run and
launch; the API's own audiences are untouched."""

import pytest

from campaigns.models import Campaign
from campaigns.services.launch import campaign_create, campaign_dry_run
from campaigns.services.resend import campaign_resend_failed
from messaging.models import Message, Status
from tests.support.campaign_pages import daytime_contacts, draft, launched, set_outcome
from tests.support.factories import contacts_for
from workspaces.audit import Actor
from workspaces.errors import TernError

pytestmark = pytest.mark.django_db


def test_the_draft_reaches_only_the_failed_and_undelivered(tenant):
    contacts = daytime_contacts(tenant.workspace, 5)
    first = launched(tenant)
    ids = {m.to_number: m.id for m in Message.objects.filter(campaign_id=first.pk)}
    set_outcome([ids[contacts[0].phone]], Status.FAILED, "unknown_number")
    set_outcome([ids[contacts[1].phone]], Status.UNDELIVERED, "carrier_filtered")
    set_outcome([ids[contacts[2].phone]], Status.DELIVERED)
    set_outcome([ids[contacts[3].phone]], Status.CANCELED, "stopped_by_user")
    again = campaign_resend_failed(campaign=first, actor=Actor.system())
    assert again.status == Campaign.DRAFT and again.test == first.test
    assert again.audience == {"campaign_failed": first.pk}
    found = campaign_dry_run(campaign=again)
    assert found["recipients"] == 2 and found["messages"] == 2 and found["skipped"] == {}
    # The API's audiences still reach everyone they name.
    assert campaign_dry_run(campaign=draft(tenant))["recipients"] == 5


def test_another_workspaces_campaign_names_nobody(tenant, other_tenant):
    theirs = daytime_contacts(other_tenant.workspace, 2)
    their_campaign = launched(other_tenant)
    set_outcome(
        Message.objects.filter(campaign_id=their_campaign.pk).values_list("id", flat=True),
        Status.FAILED,
        "unknown_number",
    )
    mine = campaign_create(
        workspace_id=tenant.workspace.pk,
        test=False,
        actor=Actor.system(),
        name="Sneaky",
        body="Hi",
        audience={"campaign_failed": their_campaign.pk},
        from_number=tenant.sender.number,
    )
    # Even a contact of A with the same number as B's failed recipient is not reached.
    contacts_for(tenant.workspace, [theirs[0].phone])
    assert campaign_dry_run(campaign=mine)["recipients"] == 0


def test_nothing_to_resend_is_invalid_state(tenant):
    daytime_contacts(tenant.workspace, 1)
    with pytest.raises(TernError) as refused:
        campaign_resend_failed(campaign=launched(tenant), actor=Actor.system())
    assert refused.value.code == "invalid_state"
    with pytest.raises(TernError):
        campaign_resend_failed(campaign=draft(tenant), actor=Actor.system())
