"""Campaigns and Campaign over HTTP (CONTRACT §12, issue 14): the list of the mode shown with its
progress, the page's progress bar and stats identity from the kept counters, its live part that
stops polling once final, Pause/Resume/Stop/Resend failed/Launch through the API's services (audited
with the member), the report as CSV, and workspace B's 404 and a viewer's 403."""

import csv
import html
import io
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.resources import campaign_stats
from messaging.models import Message, Status
from tests.support.campaign_pages import (
    daytime_contacts,
    draft,
    launched,
    set_outcome,
    suppress,
)
from tests.support.campaign_stats import STATUSES, identity_holds
from workspaces.models import AuditEvent

from .test_messages_pages import client_for

pytestmark = pytest.mark.django_db


def url(tenant, part: str = "") -> str:
    return f"/w/{tenant.workspace.slug}/campaigns/{part}"


@pytest.fixture
def manager(people):
    return client_for(people[("A", "campaign_manager")])


@pytest.fixture
def viewer(people):
    return client_for(people[("A", "viewer")])


def messages_of(campaign) -> list[Message]:
    return list(Message.objects.filter(campaign_id=campaign.pk).order_by("to_number"))


def flashes(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def identity_on(page: str) -> dict:
    """The stats identity as the page writes it, read back into the API's `stats` shape."""
    line = re.search(r'id="stats-identity">([^<]*)<', page).group(1)
    found = dict(re.findall(r"(\w+) (\d+)", line))
    stats = {status: int(found[status]) for status in STATUSES}
    stats["recipients"] = int(found["Recipients"])
    stats["skipped"] = {"all": int(found["skipped"])}
    return stats


# --- Campaigns ------------------------------------------------------------------------------


def test_list_shows_the_modes_campaigns_with_progress_from_the_counters(
    tenant, other_tenant, manager
):
    daytime_contacts(tenant.workspace, 4)
    running = launched(tenant, name="Running one")
    set_outcome([m.id for m in messages_of(running)[:3]], Status.DELIVERED)
    waiting = draft(tenant, name="Not yet")
    hidden = draft(tenant, name="Test mode one", test=True)
    daytime_contacts(other_tenant.workspace, 1)
    theirs = launched(other_tenant, name="Theirs")
    page = manager.get(url(tenant)).content.decode()
    assert "Running one" in page and "Not yet" in page
    assert f'href="{url(tenant, running.pk)}/"' in page
    assert f'href="{url(tenant, waiting.pk)}/"' in page
    assert "3 of 4 final (75 %)" in page
    assert 'max="4" value="3"' in page
    assert hidden.name not in page and theirs.name not in page
    assert f'href="{url(tenant, "new/")}"' in page and ">New campaign</a>" in page


def test_the_test_data_switch_lists_test_campaigns_only(tenant, people):
    draft(tenant, name="Live one")
    draft(tenant, name="Test one", test=True)
    client = client_for(people[("A", "owner")], test_data=True, workspace=tenant.workspace)
    page = client.get(url(tenant)).content.decode()
    assert "Test one" in page and "Live one" not in page


def test_an_empty_list_says_what_to_do_next(tenant, manager, viewer):
    page = manager.get(url(tenant)).content.decode()
    assert "No campaigns yet" in page and "Import your contacts" in page
    # one link of that name, so a screen reader (and a test) finds the button unambiguously
    assert page.count(">New campaign</a>") == 1
    assert viewer.get(url(tenant)).content.decode().count("New campaign") == 0


def test_the_list_is_cursor_paged(tenant, manager):
    made = {draft(tenant, name=f"Draft {i:02d}").pk for i in range(30)}
    seen, next_url, pages = set(), url(tenant), 0
    while next_url:
        response = manager.get(next_url)
        seen |= set(re.findall(r"campaigns/(cmp_[0-9a-z]+)/", response.content.decode()))
        next_url, pages = response.context["next"], pages + 1
    assert seen == made and pages == 2


# --- Campaign -------------------------------------------------------------------------------


def test_the_page_shows_progress_and_the_stats_identity(tenant, manager):
    contacts = daytime_contacts(tenant.workspace, 5)
    daytime_contacts(tenant.workspace, 1, consent=False)
    suppress(tenant.workspace, contacts[0].phone)
    campaign = launched(tenant)
    sent = messages_of(campaign)
    assert len(sent) == 4
    set_outcome([sent[0].id], Status.DELIVERED)
    set_outcome([sent[1].id], Status.FAILED, "unknown_number")
    set_outcome([sent[2].id], Status.UNDELIVERED, "carrier_filtered")
    response = manager.get(url(tenant, f"{campaign.pk}/"))
    page = response.content.decode()
    assert 'role="progressbar"' in page
    assert 'aria-valuemax="4" aria-valuenow="3"' in page  # 6 recipients less 2 skipped; 3 final
    shown = identity_on(page)
    assert identity_holds(shown)
    assert shown["recipients"] == 6 and shown["queued"] == 1 and shown["failed"] == 1
    api = campaign_stats(Campaign.objects.get(pk=campaign.pk))
    assert all(shown[s] == api[s] for s in STATUSES)
    assert "<code>workspace_suppressed</code>" in page and "<code>consent_required</code>" in page
    # Failures by code, and delivery over time as a chart with its table.
    failures = dict((f["code"], f["n"]) for f in response.context["failures"])
    assert failures == {"unknown_number": 1, "carrier_filtered": 1}
    chart = response.context["chart"]
    assert [sum(d["data"]) for d in chart["datasets"]] == [1, 1, 1]
    assert 'data-chart="campaign-over-time"' in page and 'id="campaign-over-time"' in page


def test_the_live_part_polls_with_the_header_until_the_campaign_is_final(tenant, manager):
    daytime_contacts(tenant.workspace, 2)
    campaign = launched(tenant)
    live = manager.get(url(tenant, f"{campaign.pk}/live/?seen=running"), HTTP_X_TERN_POLL="1")
    part = live.content.decode()
    assert 'hx-trigger="every 2s"' in part and '"X-Tern-Poll": "1"' in part
    assert 'aria-valuemax="2" aria-valuenow="0"' in part
    assert "hx-swap-oob" not in part  # nothing moved: the buttons stay as drawn
    set_outcome([m.id for m in messages_of(campaign)], Status.DELIVERED)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.COMPLETED)
    part = manager.get(url(tenant, f"{campaign.pk}/live/?seen=running")).content.decode()
    assert "hx-trigger" not in part
    assert 'aria-valuemax="2" aria-valuenow="2"' in part
    assert 'hx-swap-oob="true"' in part and ">Pause<" not in part  # the buttons drawn again
    assert 'id="campaign-badge" class="badge campaign-completed" hx-swap-oob="true"' in part


def chart_on(part: str) -> dict:
    """The chart data a live part carries (its json_script), read back."""
    found = re.search(r'id="campaign-over-time" data-spec="([^"]*)"', part).group(1)
    return json.loads(html.unescape(found)) if found else {}


def test_each_poll_carries_the_chart_data_and_tables_from_the_summary_only(
    tenant, other_tenant, manager
):
    tenant.workspace.timezone = "Asia/Kolkata"  # UTC+05:30: its hours end in :30
    tenant.workspace.save(update_fields=["timezone"])
    daytime_contacts(tenant.workspace, 3)
    campaign = launched(tenant)
    daytime_contacts(other_tenant.workspace, 2)
    theirs = launched(other_tenant)
    set_outcome([m.id for m in messages_of(theirs)], Status.FAILED, "carrier_filtered")
    live = url(tenant, f"{campaign.pk}/live/?seen=running")
    part = manager.get(live, HTTP_X_TERN_POLL="1").content.decode()
    assert 'hx-select-oob="#campaign-over-time,#failures-by-code"' in part
    assert (
        '<div id="campaign-over-time" data-spec="">' in part
        and "No message has reached its outcome" in part
    )
    assert '<div id="failures-by-code">' in part and "No message of this campaign failed" in part
    assert chart_on(part) == {}
    first, second, _ = messages_of(campaign)
    set_outcome([first.id], Status.DELIVERED)
    set_outcome([second.id], Status.FAILED, "unknown_number")
    with CaptureQueriesContext(connection) as queries:
        part = manager.get(live, HTTP_X_TERN_POLL="1").content.decode()
    chart = chart_on(part)
    assert [d["label"] for d in chart["datasets"]] == ["Delivered", "Undelivered", "Failed"]
    assert [sum(d["data"]) for d in chart["datasets"]] == [1, 0, 1]  # none of workspace B's
    assert [row["counts"] for row in chart["rows"]] == [[1, 0, 1]]
    assert f'<th scope="row">{chart["rows"][0]["hour"]}</th><td class="num">1</td>' in part
    assert chart["rows"][0]["hour"].endswith(":30") and "in Asia/Kolkata" in part
    assert "<code>unknown_number</code>" in part and "carrier_filtered" not in part
    table = Message._meta.db_table
    assert not [q["sql"] for q in queries if f'"{table}"' in q["sql"]]  # the summary only
    # The last poll (the campaign final) still brings the final numbers, then polling stops.
    set_outcome([m.id for m in messages_of(campaign)[2:]], Status.DELIVERED)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.COMPLETED)
    part = manager.get(live, HTTP_X_TERN_POLL="1").content.decode()
    assert "hx-trigger" not in part and "hx-select-oob" not in part
    assert [sum(d["data"]) for d in chart_on(part)["datasets"]] == [2, 0, 1]


def test_buttons_follow_the_state_and_a_viewer_sees_none(tenant, manager, viewer):
    daytime_contacts(tenant.workspace, 3)
    campaign = launched(tenant)
    set_outcome([messages_of(campaign)[0].id], Status.FAILED, "unknown_number")
    page = manager.get(url(tenant, f"{campaign.pk}/")).content.decode()
    for name in ("Pause", "Stop", "Resend failed"):
        assert f">{name}</" in page, name
    assert ">Resume</" not in page
    assert "2 messages not yet sent (scheduled or queued) will stop" in page
    looked = viewer.get(url(tenant, f"{campaign.pk}/")).content.decode()
    for name in ("Pause", "Resume", "Stop", "Resend failed", "Confirm", "Launch"):
        assert f">{name}</" not in looked, name
    assert "Download report" in looked  # reading is the viewer's
    for verb in ("pause", "resume", "stop", "resend-failed", "launch"):
        assert viewer.post(url(tenant, f"{campaign.pk}/{verb}/")).status_code == 403, verb
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.RUNNING


def test_pause_resume_and_stop_go_through_the_services_audited_as_the_member(
    tenant, people, manager
):
    daytime_contacts(tenant.workspace, 3)
    campaign = launched(tenant)
    page = url(tenant, f"{campaign.pk}/")
    assert manager.post(url(tenant, f"{campaign.pk}/pause/")).url == page
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.PAUSED
    shown = manager.get(page).content.decode()
    assert ">Resume</" in shown and ">Pause</" not in shown and ">Stop</" in shown
    manager.post(url(tenant, f"{campaign.pk}/resume/"))
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.RUNNING
    response = manager.post(url(tenant, f"{campaign.pk}/stop/"), follow=True)
    assert "Campaign Spring sale stopped." in flashes(response)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.STOPPED
    canceled = messages_of(campaign)
    assert {m.status for m in canceled} == {Status.CANCELED}
    assert {m.error["code"] for m in canceled} == {"stopped_by_user"}
    user = people[("A", "campaign_manager")]
    events = AuditEvent.objects.filter(target_id=campaign.pk, actor_type="user")
    assert set(events.values_list("action", flat=True)) == {
        "campaign.paused",
        "campaign.resumed",
        "campaign.stopped",
    }
    assert set(events.values_list("actor_id", flat=True)) == {str(user.pk)}
    assert "hx-trigger" not in response.content.decode()  # stopped: the page stops polling


def test_an_action_the_state_refuses_shows_the_catalogue_error(tenant, manager):
    daytime_contacts(tenant.workspace, 1)
    campaign = launched(tenant)
    response = manager.post(url(tenant, f"{campaign.pk}/resume/"), follow=True)
    text = flashes(response)
    assert "A running campaign cannot resume." in text
    assert "Read the object again and check its status before acting." in text


def test_workspace_b_gets_404_for_a_campaign_of_a(tenant, other_tenant, people):
    daytime_contacts(tenant.workspace, 1)
    campaign = launched(tenant)
    outsider = client_for(people[("B", "owner")])
    for part in ("", "live/", "report/"):
        assert outsider.get(url(tenant, f"{campaign.pk}/{part}")).status_code == 404
        assert outsider.get(url(other_tenant, f"{campaign.pk}/{part}")).status_code == 404
    for verb in ("pause", "stop", "resend-failed"):
        assert outsider.post(url(other_tenant, f"{campaign.pk}/{verb}/")).status_code == 404
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.RUNNING


def test_a_campaign_of_the_other_mode_is_404(tenant, manager):
    campaign = draft(tenant, test=True)
    assert manager.get(url(tenant, f"{campaign.pk}/")).status_code == 404


def test_resend_failed_makes_a_new_campaign_judged_again(tenant, manager):
    contacts = daytime_contacts(tenant.workspace, 4)
    first = launched(tenant)
    by_phone = {m.to_number: m for m in messages_of(first)}
    failed, undelivered, delivered = contacts[0].phone, contacts[1].phone, contacts[2].phone
    set_outcome([by_phone[failed].id], Status.FAILED, "unknown_number")
    set_outcome([by_phone[undelivered].id], Status.UNDELIVERED, "carrier_filtered")
    set_outcome([by_phone[delivered].id], Status.DELIVERED)
    suppress(tenant.workspace, failed)  # since the first campaign: the policy must see it
    response = manager.post(url(tenant, f"{first.pk}/resend-failed/"))
    again = Campaign.objects.exclude(pk=first.pk).get(workspace=tenant.workspace)
    assert response.url == url(tenant, f"{again.pk}/?review=1")
    assert again.status == Campaign.DRAFT and again.audience == {"campaign_failed": first.pk}
    assert again.body == first.body and again.from_number == first.from_number
    review = manager.get(response.url)
    table = review.context["review"]
    assert table["recipients"] == 2 and table["skipped"] == {"workspace_suppressed": 1}
    assert ">Launch</button>" in review.content.decode()
    manager.post(url(tenant, f"{again.pk}/launch/"), {"reviewed": table["signature"]})
    again.refresh_from_db()
    assert again.status == Campaign.RUNNING
    stats = campaign_stats(again)
    assert stats["recipients"] == 2 and stats["skipped"] == {"workspace_suppressed": 1}
    assert [m.to_number for m in messages_of(again)] == [undelivered]
    assert AuditEvent.objects.filter(target_id=again.pk, action="campaign.launched").exists()


def test_resend_failed_of_a_campaign_without_failures_is_the_catalogue_error(tenant, manager):
    daytime_contacts(tenant.workspace, 1)
    campaign = launched(tenant)
    response = manager.post(url(tenant, f"{campaign.pk}/resend-failed/"), follow=True)
    assert "no failed recipients" in flashes(response)
    assert Campaign.objects.filter(workspace=tenant.workspace).count() == 1


def test_a_launch_from_a_review_no_longer_true_is_refused(tenant, manager):
    daytime_contacts(tenant.workspace, 2)
    campaign = draft(tenant)
    review = manager.get(url(tenant, f"{campaign.pk}/?review=1")).context["review"]
    assert review["recipients"] == 2
    daytime_contacts(tenant.workspace, 1)  # the audience grew since
    response = manager.post(
        url(tenant, f"{campaign.pk}/launch/"), {"reviewed": review["signature"]}, follow=True
    )
    assert "changed since your review" in flashes(response)
    assert response.context["review"]["recipients"] == 3
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.DRAFT


def test_the_report_is_a_csv_of_every_recipient(tenant, manager):
    contacts = daytime_contacts(tenant.workspace, 3)
    suppress(tenant.workspace, contacts[0].phone)
    campaign = launched(tenant)
    sent = messages_of(campaign)
    set_outcome([sent[0].id], Status.FAILED, "unknown_number")
    # A stored value a spreadsheet would run: the report must neutralise it.
    Message.objects.filter(pk=sent[1].id).update(
        status=Status.UNDELIVERED, error={"code": "=HYPERLINK(1)"}
    )
    response = manager.get(url(tenant, f"{campaign.pk}/report/"))
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["phone", "status", "error_code", "skip_reason"]
    assert sorted(rows[1:]) == sorted(
        [
            [sent[0].to_number, "failed", "unknown_number", ""],
            [sent[1].to_number, "undelivered", "'=HYPERLINK(1)", ""],
            [contacts[0].phone, "skipped", "", "workspace_suppressed"],
        ]
    )


def test_a_completed_campaign_polls_on_while_reports_are_due(tenant, manager):
    daytime_contacts(tenant.workspace, 2)
    campaign = launched(tenant)
    first, second = messages_of(campaign)
    set_outcome([first.id], Status.DELIVERED)
    set_outcome([second.id], Status.SENT)  # with the carrier, its report not yet in
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.COMPLETED, completed_at=now)
    live = url(tenant, f"{campaign.pk}/live/?seen=completed")
    part = manager.get(live).content.decode()
    assert 'hx-trigger="every 2s"' in part and 'aria-valuenow="1"' in part
    set_outcome([second.id], Status.DELIVERED)
    part = manager.get(live).content.decode()
    assert "hx-trigger" not in part and 'aria-valuenow="2"' in part
    # A report that never comes stops the polling an hour after the campaign completed.
    set_outcome([second.id], Status.SENT)
    Campaign.objects.filter(pk=campaign.pk).update(completed_at=now - timedelta(hours=2))
    assert "hx-trigger" not in manager.get(live).content.decode()
