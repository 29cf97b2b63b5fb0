"""Suppressions, Exports and Audit log over HTTP (CONTRACT §12, §6, §9): the API's serializers
judge, its services write and audit with the member, roles decide what is shown and posted,
another workspace's objects are 404."""

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from compliance.exports.kinds import export_kinds
from compliance.exports.run import export_run
from compliance.exports.services import export_create
from compliance.models import Export, Suppression
from compliance.services import suppression_create
from console.views.audit import KNOWN_ACTIONS
from workspaces import audit, clock
from workspaces.audit import Actor, audit_record
from workspaces.chain_checks import chain_check_run
from workspaces.models import AuditChainCheck, AuditEvent

pytestmark = pytest.mark.django_db

PHONE = "+14155550161"
QUERY_BUDGET = 8  # session, user, seat, memberships, a page of rows, the chain check: never per row


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def suppress(tenant, phone: str = PHONE, **kwargs) -> Suppression:
    return suppression_create(
        workspace_id=tenant.workspace.pk, phone=phone, source="api", actor=Actor.system(), **kwargs
    )[0]


def ws_url(tenant, path: str) -> str:
    return f"/w/{tenant.workspace.slug}/{path}"


def errors_of(html: str) -> str:
    """The text of the page's error messages (flash and beside fields)."""
    return " ".join(re.findall(r'class="(?:flash-error|errorlist)"[^>]*>(.*?)</', html, re.S))


# --- Suppressions --------------------------------------------------------------------------------


def test_suppressions_list_links_numbers_and_hides_another_workspace(tenant, other_tenant, people):
    mine = suppress(tenant)
    theirs = suppress(other_tenant, "+14155550162")
    html = page(client_for(people[("A", "viewer")]), ws_url(tenant, "suppressions/"))
    assert mine.id in html and f'href="/w/{tenant.workspace.slug}/numbers/{PHONE}/"' in html
    assert theirs.id not in html and "+14155550162" not in html


def test_search_and_filters_narrow_the_list(tenant, people):
    kept = suppress(tenant)
    other = suppress(tenant, "+14155550163")
    client = client_for(people[("A", "viewer")])
    html = page(client, ws_url(tenant, "suppressions/?q=(415) 555-0161"))
    assert kept.id in html and other.id not in html
    suppression_remove_as_system(other)
    html = page(client, ws_url(tenant, "suppressions/?active=false"))
    assert other.id in html and kept.id not in html
    html = page(client, ws_url(tenant, "suppressions/?source=keyword"))
    assert kept.id not in html and "No suppression matches" in html


def suppression_remove_as_system(suppression):
    from compliance.services import suppression_remove

    suppression_remove(suppression=suppression, actor=Actor.system(), reason="test")


def test_campaign_manager_adds_a_suppression_audited_as_the_member(tenant, people):
    user = people[("A", "campaign_manager")]
    client = client_for(user)
    assert "Add suppression" in page(client, ws_url(tenant, "suppressions/"))
    response = client.post(
        ws_url(tenant, "suppressions/"), {"phone": "(415) 555-0164", "reason": "Asked by phone"}
    )
    assert response.status_code == 302
    row = Suppression.objects.for_workspace(tenant.workspace).get(phone="+14155550164")
    assert (row.source, row.reason, row.active) == ("manual", "Asked by phone", True)
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="suppression.created")
    assert (event.actor_type, event.actor_label, event.target_id) == ("user", user.email, row.id)


def test_an_active_duplicate_says_it_already_exists(tenant, people):
    existing = suppress(tenant)
    client = client_for(people[("A", "owner")])
    response = client.post(ws_url(tenant, "suppressions/"), {"phone": PHONE}, follow=True)
    assert f"already suppressed ({existing.id})" in response.content.decode()
    assert Suppression.objects.for_workspace(tenant.workspace).filter(phone=PHONE).count() == 1


def test_a_bad_phone_shows_the_catalogue_error_and_fix(tenant, people):
    client = client_for(people[("A", "owner")])
    response = client.post(ws_url(tenant, "suppressions/"), {"phone": "12", "reason": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The recipient is not a valid phone number." in html
    assert "Send the number in E.164 form" in html  # the catalogue's fix
    assert "Not a valid phone number." in errors_of(html)
    assert 'value="12"' in html  # the form shows what was typed
    assert not Suppression.objects.for_workspace(tenant.workspace).exists()


def test_remove_is_shown_to_owner_and_admin_only(tenant, people):
    suppress(tenant)
    for role in ("owner", "admin"):
        assert "Remove suppression" in page(
            client_for(people[("A", role)]), ws_url(tenant, "suppressions/")
        )
    for role in ("campaign_manager", "agent", "viewer"):
        html = page(client_for(people[("A", role)]), ws_url(tenant, "suppressions/"))
        assert "Remove suppression" not in html, role


def test_viewer_sees_no_add_and_a_posted_add_is_403(tenant, people):
    client = client_for(people[("A", "viewer")])
    html = page(client, ws_url(tenant, "suppressions/"))
    assert "Add suppression" not in html
    assert client.post(ws_url(tenant, "suppressions/"), {"phone": PHONE}).status_code == 403
    assert not Suppression.objects.for_workspace(tenant.workspace).exists()


def test_owner_removes_with_a_reason_audited_as_the_member(tenant, people):
    row = suppress(tenant)
    user = people[("A", "owner")]
    url = ws_url(tenant, f"suppressions/{row.id}/remove/")
    response = client_for(user).post(url, {"reason": "Opted in again on paper"}, follow=True)
    assert f"Suppression {row.id} of {PHONE} removed." in response.content.decode()
    row.refresh_from_db()
    assert (row.active, row.removal_reason, row.removed_by) == (
        False,
        "Opted in again on paper",
        user.email,
    )
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="suppression.removed")
    assert (event.actor_label, event.reason) == (user.email, "Opted in again on paper")


def test_removal_without_a_reason_shows_the_error_and_keeps_it(tenant, people):
    row = suppress(tenant)
    url = ws_url(tenant, f"suppressions/{row.id}/remove/")
    response = client_for(people[("A", "admin")]).post(url, {"reason": "  "}, follow=True)
    assert response.status_code == 400 and not response.redirect_chain  # the question again
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and ">Confirm</button>" in html
    assert "A suppression is removed only for a recorded reason." in errors_of(html)
    assert "Correct the fields named" in errors_of(html)  # validation_error's fix
    row.refresh_from_db()
    assert row.active


def test_the_list_has_one_reason_field_and_removal_asks_on_its_own_page(tenant, people):
    row = suppress(tenant)
    suppress(tenant, phone="+14155550162")
    client = client_for(people[("A", "owner")])
    listing = page(client, ws_url(tenant, "suppressions/"))
    assert listing.count(">Reason</label>") == 1  # the add form's: one per page, never ambiguous
    assert listing.count(">Remove suppression</button>") == 2
    asked = page(client, ws_url(tenant, f"suppressions/{row.id}/remove/"))
    assert 'role="dialog"' in asked and ">Remove suppression</h1>" in asked
    assert asked.count(">Reason</label>") == 1 and ">Confirm</button>" in asked
    assert row.id in asked and PHONE in asked


def test_removing_a_removed_suppression_says_so_and_changes_nothing(tenant, people):
    row = suppress(tenant)
    suppression_remove_as_system(row)
    url = ws_url(tenant, f"suppressions/{row.id}/remove/")
    response = client_for(people[("A", "owner")]).post(url, {"reason": "again"}, follow=True)
    assert f"Suppression {row.id} of {PHONE} is already removed." in response.content.decode()
    row.refresh_from_db()
    assert row.removal_reason == "test"


def test_campaign_manager_and_viewer_cannot_remove(tenant, people):
    row = suppress(tenant)
    url = ws_url(tenant, f"suppressions/{row.id}/remove/")
    for role in ("campaign_manager", "viewer"):
        assert client_for(people[("A", role)]).post(url, {"reason": "x"}).status_code == 403
        assert client_for(people[("A", role)]).get(url).status_code == 403
    row.refresh_from_db()
    assert row.active


def test_another_workspaces_suppression_is_404(tenant, other_tenant, people):
    theirs = suppress(other_tenant)
    url = ws_url(tenant, f"suppressions/{theirs.id}/remove/")
    assert client_for(people[("A", "owner")]).post(url, {"reason": "x"}).status_code == 404
    assert client_for(people[("A", "owner")]).get(url).status_code == 404
    outsider = client_for(people[("B", "owner")])
    assert outsider.get(ws_url(tenant, "suppressions/")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.active


# --- Exports -------------------------------------------------------------------------------------


def make_export(tenant, kind: str = "suppressions") -> Export:
    today = clock.now().date()
    return export_create(
        workspace_id=tenant.workspace.pk,
        kind=kind,
        format="csv",
        date_from=today - timedelta(days=1),
        date_to=today,
        actor=Actor.system(),
    )


def test_exports_form_offers_every_kind_to_managers_only(tenant, people):
    html = page(client_for(people[("A", "admin")]), ws_url(tenant, "exports/"))
    assert "Create export" in html
    for kind in export_kinds():
        assert f'<option value="{kind}"' in html
    for label in ("Kind", "Format", "From", "To"):
        assert f">{label}</label>" in html
    assert 'type="date" id="exp-from"' in html
    for role in ("campaign_manager", "viewer"):
        html = page(client_for(people[("A", role)]), ws_url(tenant, "exports/"))
        assert "Create export" not in html
        assert "No exports yet." in html


def test_owner_creates_an_export_through_the_api_service(tenant, people):
    user = people[("A", "owner")]
    form = {"kind": "suppressions", "format": "jsonl", "from": "2026-01-01", "to": "2026-01-31"}
    response = client_for(user).post(ws_url(tenant, "exports/"), form)
    export = Export.objects.for_workspace(tenant.workspace).get()
    assert response.status_code == 302 and response["Location"].endswith(f"?export={export.id}")
    assert (export.kind, export.format, str(export.date_from), export.status) == (
        "suppressions",
        "jsonl",
        "2026-01-01",
        "pending",
    )
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="export.created")
    assert event.actor_label == user.email


def test_export_dates_backwards_show_the_serializers_error(tenant, people):
    form = {"kind": "consents", "format": "csv", "from": "2026-02-01", "to": "2026-01-01"}
    response = client_for(people[("A", "owner")]).post(ws_url(tenant, "exports/"), form)
    assert response.status_code == 400
    assert "`to` must not be before `from`." in errors_of(response.content.decode())
    assert not Export.objects.for_workspace(tenant.workspace).exists()


def test_viewer_and_campaign_manager_posting_an_export_get_403(tenant, people):
    form = {"kind": "consents", "format": "csv", "from": "2026-01-01", "to": "2026-01-02"}
    for role in ("viewer", "campaign_manager"):
        client = client_for(people[("A", role)])
        assert client.post(ws_url(tenant, "exports/"), form).status_code == 403
    assert not Export.objects.for_workspace(tenant.workspace).exists()


def test_a_pending_export_polls_and_a_completed_one_shows_download_sha_and_manifest(tenant, people):
    export = make_export(tenant)
    client = client_for(people[("A", "viewer")])
    row_url = ws_url(tenant, f"exports/{export.id}/")
    pending = page(client, row_url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in pending and "X-Tern-Poll" in pending
    assert "Download" not in pending
    export_run(export_id=export.id)
    export.refresh_from_db()
    done = page(client, row_url, HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done
    assert re.search(r"\b[0-9a-f]{64}\b", done).group(0) == export.sha256
    assert f'href="/w/{tenant.workspace.slug}/exports/{export.id}/download/"' in done
    assert export.manifest["audit_chain_head"]["hash"] in done
    assert "Audit chain head" in done and ">Download</a>" in done


def test_download_streams_the_file_as_an_attachment_audited(tenant, people):
    export = make_export(tenant)
    export_run(export_id=export.id)
    export.refresh_from_db()
    user = people[("A", "viewer")]
    response = client_for(user).get(ws_url(tenant, f"exports/{export.id}/download/"))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == export.sha256
    event = AuditEvent.objects.for_workspace(tenant.workspace).get(action="export.downloaded")
    assert (event.actor_label, event.target_id) == (user.email, export.id)


def test_download_before_completion_says_so(tenant, people):
    export = make_export(tenant)
    response = client_for(people[("A", "owner")]).get(
        ws_url(tenant, f"exports/{export.id}/download/"), follow=True
    )
    assert "The export is pending" in errors_of(response.content.decode())


def test_a_failed_export_shows_its_words(tenant, people):
    export = make_export(tenant)
    Export.objects.filter(pk=export.pk).update(status="failed", error="Too long; shorten it.")
    html = page(client_for(people[("A", "viewer")]), ws_url(tenant, "exports/"))
    assert "Too long; shorten it." in html


def test_highlighted_export_is_marked(tenant, people):
    first, second = make_export(tenant), make_export(tenant)
    html = page(client_for(people[("A", "viewer")]), ws_url(tenant, f"exports/?export={first.id}"))
    assert re.search(rf'<li id="{first.id}" class="card export-row highlighted"', html)
    assert not re.search(rf'<li id="{second.id}" class="card export-row highlighted"', html)


def test_another_workspaces_export_is_404(tenant, other_tenant, people):
    theirs = make_export(other_tenant)
    export_run(export_id=theirs.id)
    client = client_for(people[("A", "owner")])
    row_url = ws_url(tenant, f"exports/{theirs.id}/")
    assert client.get(row_url, HTTP_HX_REQUEST="true").status_code == 404
    assert client.get(ws_url(tenant, f"exports/{theirs.id}/download/")).status_code == 404
    assert theirs.id not in page(client, ws_url(tenant, "exports/"))
    assert client_for(people[("B", "owner")]).get(ws_url(tenant, "exports/")).status_code == 404


# --- Audit log -----------------------------------------------------------------------------------


def test_audit_log_shows_events_with_details_and_hides_other_workspaces(
    tenant, other_tenant, people
):
    mine = audit_record(
        workspace=tenant.workspace,
        actor=Actor("user", "7", "ann@example.com"),
        action="suppression.removed",
        target_type="suppression",
        target_id="sup_x",
        reason="Opted in <again>",
        before={"active": True},
        after={"active": False},
    )
    theirs = audit_record(workspace=other_tenant.workspace, actor=Actor.system(), action="x.y")
    html = page(client_for(people[("A", "viewer")]), ws_url(tenant, "audit/"))
    assert mine.id in html and theirs.id not in html
    assert "Opted in &lt;again&gt;" in html  # escaped, never run
    assert mine.hash in html and "ann@example.com" in html and "sup_x" in html
    assert "&quot;active&quot;: false" in html
    assert "Verify chain" in html


def test_audit_filters_narrow_the_list(tenant, people):
    ann = Actor("user", "7", "ann@example.com")
    removed = audit_record(workspace=tenant.workspace, actor=ann, action="suppression.removed")
    other = audit_record(workspace=tenant.workspace, actor=Actor.system(), action="token.created")
    client = client_for(people[("A", "viewer")])
    html = page(client, ws_url(tenant, "audit/?action=suppression.removed"))
    assert removed.id in html and other.id not in html
    html = page(client, ws_url(tenant, "audit/?actor=ann@example"))
    assert removed.id in html and other.id not in html
    html = page(client, ws_url(tenant, "audit/?since=2000-01-01&until=2000-01-02"))
    assert removed.id not in html and "No event matches" in html
    today = clock.now().date().isoformat()
    html = page(client, ws_url(tenant, f"audit/?since={today}&until={today}"))
    assert removed.id in html and other.id in html


def test_audit_filter_select_knows_every_action_the_code_records():
    root = Path(settings.BASE_DIR)
    found = set()
    for app in ("workspaces", "compliance", "messaging", "campaigns", "webhooks", "console"):
        for source in (root / app).rglob("*.py"):
            found |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', source.read_text()))
    assert found and found <= set(KNOWN_ACTIONS), found - set(KNOWN_ACTIONS)


def test_verify_chain_runs_on_the_worker_and_shows_intact(tenant, people):
    client = client_for(people[("A", "viewer")])
    response = client.post(ws_url(tenant, "audit/verify/"))
    assert response.status_code == 302
    check = AuditChainCheck.objects.for_workspace(tenant.workspace).get()
    html = page(client, ws_url(tenant, "audit/"))
    assert "Verifying the chain" in html and 'hx-trigger="every 1s"' in html
    chain_check_run(check_id=check.id)
    html = page(client, ws_url(tenant, "audit/"))
    assert "Chain intact" in html and "First broken event" not in html


def test_verify_chain_twice_while_waiting_queues_one_check(tenant, people):
    client = client_for(people[("A", "viewer")])
    client.post(ws_url(tenant, "audit/verify/"))
    client.post(ws_url(tenant, "audit/verify/"), HTTP_HX_REQUEST="true")
    assert AuditChainCheck.objects.for_workspace(tenant.workspace).count() == 1


def forge_reason(event: AuditEvent) -> None:
    """Edit one event in place with the append-only triggers down (as the verifier's tests do)."""
    audit.remove_guards()
    try:
        with connection.cursor() as cursor:
            table = AuditEvent._meta.db_table
            cursor.execute(f"UPDATE {table} SET reason = 'forged' WHERE id = %s", [event.id])
    finally:
        audit.install_guards()


def test_a_tampered_chain_names_its_first_broken_event(tenant, people):
    events = [
        audit_record(workspace=tenant.workspace, actor=Actor.system(), action="t.e", reason=str(i))
        for i in range(3)
    ]
    forge_reason(events[1])
    client = client_for(people[("A", "owner")])
    client.post(ws_url(tenant, "audit/verify/"))
    chain_check_run(check_id=AuditChainCheck.objects.for_workspace(tenant.workspace).get().id)
    html = page(client, ws_url(tenant, "audit/"))
    assert f"First broken event: {events[1].id}" in html
    assert "Chain intact" not in html


def test_another_workspaces_member_gets_404_on_the_audit_pages(tenant, people):
    outsider = client_for(people[("B", "owner")])
    assert outsider.get(ws_url(tenant, "audit/")).status_code == 404
    assert outsider.post(ws_url(tenant, "audit/verify/")).status_code == 404
    assert not AuditChainCheck.objects.for_workspace(tenant.workspace).exists()


@pytest.fixture
def number_kind():
    """The `number` kind, the evidence bundle (compliance/exports/number.py), registered for
    good: a stand-in popped after the test would take the real one away from later tests."""
    from compliance.exports import kinds

    assert kinds.export_kind("number").bundle
    return "number"


def test_phone_and_as_of_are_offered_for_kind_number(tenant, people, number_kind):
    html = page(client_for(people[("A", "owner")]), ws_url(tenant, "exports/"))
    assert '<option value="number"' in html
    assert ">Phone</label>" in html and ">As of</label>" in html
    assert 'type="datetime-local" id="exp-as-of"' in html


def test_phone_and_as_of_reach_the_serializer_only_for_kind_number():
    from django.utils import timezone

    from console.views.exports import serializer_data

    posted = {"kind": "consents", "format": "csv", "from": "2026-01-01", "to": "2026-01-31"}
    extra = {"phone": "+14155550100", "as_of": "2026-03-01T09:30"}
    assert serializer_data({**posted, **extra}) == posted
    with timezone.override("America/New_York"):
        data = serializer_data({**posted, "kind": "number", **extra})
    assert data == {
        "kind": "number",
        "format": "csv",
        "phone": "+14155550100",
        "as_of": "2026-03-01T09:30:00-05:00",
    }


def test_the_row_and_the_verdict_without_javascript_are_the_whole_page(tenant, people):
    export = make_export(tenant)
    client = client_for(people[("A", "viewer")])
    response = client.get(ws_url(tenant, f"exports/{export.id}/"))
    assert response["Location"] == ws_url(tenant, f"exports/?export={export.id}")
    assert client.get(ws_url(tenant, "audit/verify/"))["Location"] == ws_url(tenant, "audit/")


def test_audit_times_are_shown_in_the_workspace_time_zone(tenant, people):
    tenant.workspace.timezone = "Asia/Tokyo"
    tenant.workspace.save(update_fields=["timezone"])
    event = audit_record(workspace=tenant.workspace, actor=Actor.system(), action="t.e")
    html = page(client_for(people[("A", "viewer")]), ws_url(tenant, "audit/"))
    local = event.created_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M:%S")
    assert local in html and "Asia/Tokyo" in html


def test_each_page_reads_a_bounded_number_of_queries(tenant, people, django_assert_max_num_queries):
    for i in range(60):
        suppress(tenant, f"+1415555{i:04d}")
    for _ in range(25):
        make_export(tenant)
    client = client_for(people[("A", "owner")])
    page(client, ws_url(tenant, ""))  # the session's first request records the sign-in
    for path in ("suppressions/", "exports/", "audit/"):
        with django_assert_max_num_queries(QUERY_BUDGET):
            page(client, ws_url(tenant, path))
