"""The staff admin (CONTRACT §10): message pages, the review queue, suppression removal, audit."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.urls import reverse

from compliance.models import Suppression
from compliance.services import suppression_create, suppression_remove
from messaging.actions.reports import delivery_failed
from messaging.actions.review import review_mark_reviewed
from messaging.admin.timeline import human_gap
from messaging.models import Message, Status
from messaging.timeline import event_add
from workspaces.audit import Actor, verify_chain
from workspaces.errors import CATALOGUE, TernError
from workspaces.models import AuditEvent

from ..support.factories import message_for

T0 = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)
CHANGELIST = "admin:messaging_message_changelist"


@pytest.fixture
def staff(db):
    """A superuser, as staff working in the admin."""
    return get_user_model().objects.create_superuser("staff@tern.test", "staff@tern.test", "pw")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _fail(message: Message, provider_code: str) -> Message:
    """Fail a message the way a provider report does (class decides suppress/review)."""
    delivery_failed(
        message=message, status=Status.FAILED, provider_code=provider_code, reached_provider=True
    )
    message.refresh_from_db()
    return message


def _in_review(tenant, **kwargs) -> Message:
    """A message the carrier filtered (30007): its class puts it in review."""
    return _fail(message_for(tenant.workspace, tenant.sender, **kwargs), "30007")


def _change_url(message: Message) -> str:
    return reverse("admin:messaging_message_change", args=[quote(message.pk)])


def _listed(response) -> set[str]:
    return {m.pk for m in response.context["cl"].result_list}


def _staff_audit(tenant, action: str):
    return AuditEvent.objects.for_workspace(tenant.workspace).filter(action=action)


# --- gaps --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "+0 ms"),
        (0.35, "+350 ms"),
        (1.2, "+1.2 s"),
        (42, "+42 s"),
        (180, "+3 min"),
        (150, "+2.5 min"),
        (5400, "+1.5 h"),
        (3 * 86400, "+3 d"),
    ],
)
def test_gaps_read_like_a_person_would_say_them(seconds, shown):
    assert human_gap(seconds) == shown


# --- the message list --------------------------------------------------------------------------


def test_changelist_loads_and_filters_by_status_and_error_code(staff_client, tenant):
    queued = message_for(tenant.workspace, tenant.sender)
    unreachable = _fail(message_for(tenant.workspace, tenant.sender), "30003")
    filtered = _in_review(tenant)
    url = reverse(CHANGELIST)

    response = staff_client.get(url)
    assert response.status_code == 200
    assert {queued.pk, unreachable.pk, filtered.pk} <= _listed(response)
    assert staff_client.get(url, {"status": "failed"}).status_code == 200
    assert _listed(staff_client.get(url, {"status": "failed"})) == {unreachable.pk, filtered.pk}
    assert _listed(staff_client.get(url, {"error_code": "unreachable_handset"})) == {unreachable.pk}
    assert _listed(staff_client.get(url, {"error_code": "_none"})) == {queued.pk}
    assert _listed(staff_client.get(url, {"review": "pending"})) == {filtered.pk}
    assert _listed(staff_client.get(url, {"campaign": "_any"})) == set()


def test_changelist_searches_by_id_and_number_and_has_no_add(staff_client, tenant):
    one = message_for(tenant.workspace, tenant.sender)
    two = message_for(tenant.workspace, tenant.sender)
    url = reverse(CHANGELIST)
    assert _listed(staff_client.get(url, {"q": one.pk})) == {one.pk}
    assert _listed(staff_client.get(url, {"q": two.to_number})) == {two.pk}
    assert staff_client.get(reverse("admin:messaging_message_add")).status_code == 403


def test_changelist_shows_how_many_messages_wait_for_review(staff_client, tenant):
    _in_review(tenant)
    _in_review(tenant)
    content = staff_client.get(reverse(CHANGELIST)).content.decode()
    assert "2 messages in review" in content
    assert "?review=pending" in content


# --- the message page --------------------------------------------------------------------------


def test_detail_shows_the_timeline_in_order_with_gaps(staff_client, tenant):
    with time_machine.travel(T0, tick=False):
        message = message_for(tenant.workspace, tenant.sender)
    event_add(
        message,
        "sent_to_carrier",
        {"provider": "simulator", "provider_message_id": "SM123"},
        at=T0 + timedelta(seconds=1.2),
    )
    event_add(message, "delivered", {"provider_code": None}, at=T0 + timedelta(seconds=181.2))

    response = staff_client.get(_change_url(message))
    assert response.status_code == 200
    content = response.content.decode()
    names = re.findall(r'<code class="timeline-name">([a-z_]+)</code>', content)
    assert names == [
        "api_request_received",
        "policy_passed",
        "queued",
        "sent_to_carrier",
        "delivered",
    ]
    assert [row.gap for row in response.context["timeline"]] == [
        "",
        "+0 ms",
        "+0 ms",
        "+1.2 s",
        "+3 min",
    ]
    assert "2026-03-02T15:00:01.200000Z" in content
    assert "+1.2 s" in content and "+3 min" in content
    assert "SM123" in content  # the provider's payload
    assert 'id="provider-payloads"' in content
    assert "Webhook deliveries" in content and "No webhook deliveries yet." in content


def test_failed_message_shows_the_catalogues_fix_and_retry(staff_client, tenant):
    message = _fail(message_for(tenant.workspace, tenant.sender), "30003")
    entry = CATALOGUE["unreachable_handset"]
    content = staff_client.get(_change_url(message)).content.decode()
    assert "unreachable_handset" in content
    assert entry.fix in content
    assert entry.message in content
    assert entry.retry in content
    assert '<dd class="error-provider-code">30003</dd>' in content


def test_message_page_saves_nothing(staff_client, tenant):
    message = message_for(tenant.workspace, tenant.sender)
    url = _change_url(message)
    assert 'name="_save"' not in staff_client.get(url).content.decode()
    response = staff_client.post(url, {"body": "changed", "status": "delivered"})
    assert response.status_code == 403
    message.refresh_from_db()
    assert (message.body, message.status) == ("hi", Status.QUEUED)
    delete = reverse("admin:messaging_message_delete", args=[message.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert Message.objects.filter(pk=message.pk).exists()


def test_page_of_a_message_in_review_links_its_actions(staff_client, tenant):
    message = _in_review(tenant)
    content = staff_client.get(_change_url(message)).content.decode()
    assert 'id="review-banner"' in content
    for action in ("mark_reviewed", "suppress_number", "resend"):
        assert reverse("admin:messaging_message_review", args=[action]) in content


# --- the review queue --------------------------------------------------------------------------


def _action(client, action: str, *messages):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [m.pk for m in messages]}
    )


def test_mark_reviewed_closes_pending_reviews_only(staff_client, tenant, staff):
    pending = _in_review(tenant)
    bystander = message_for(tenant.workspace, tenant.sender)
    response = _action(staff_client, "mark_reviewed", pending, bystander)
    assert response.status_code == 302

    pending.refresh_from_db()
    bystander.refresh_from_db()
    assert pending.review == Message.REVIEW_DONE
    assert bystander.review == Message.REVIEW_NONE
    closed = pending.events.get(event="review_closed")
    assert closed.detail["action"] == "mark_reviewed"
    assert closed.detail["staff"] == staff.username
    audit = _staff_audit(tenant, "message.review_closed").get()
    assert (audit.actor_type, audit.actor_label, audit.target_id) == (
        "staff",
        staff.username,
        pending.pk,
    )
    assert verify_chain(tenant.workspace.pk).ok


def test_suppress_asks_for_a_reason_then_suppresses_with_source_staff(staff_client, tenant, staff):
    message = _in_review(tenant)
    response = _action(staff_client, "suppress_number", message)
    assert response.status_code == 302
    confirm_url = response["Location"]
    assert reverse("admin:messaging_message_review", args=["suppress_number"]) in confirm_url

    page = staff_client.get(confirm_url)
    assert page.status_code == 200
    assert message.pk in page.content.decode()

    refused = staff_client.post(confirm_url.split("?")[0], {"ids": message.pk, "reason": "  "})
    assert refused.status_code == 200
    assert refused.context["form"].errors["reason"]
    assert not Suppression.objects.filter(phone=message.to_number).exists()
    message.refresh_from_db()
    assert message.review == Message.REVIEW_PENDING

    done = staff_client.post(
        confirm_url.split("?")[0], {"ids": message.pk, "reason": "carrier keeps filtering"}
    )
    assert done.status_code == 302
    suppression = Suppression.objects.get(phone=message.to_number, active=True)
    assert (suppression.source, suppression.reason) == ("manual", "carrier keeps filtering")
    assert suppression.created_by == staff.username
    created = _staff_audit(tenant, "suppression.created").get(target_id=suppression.pk)
    assert (created.actor_type, created.actor_label) == ("staff", staff.username)
    message.refresh_from_db()
    assert message.review == Message.REVIEW_DONE
    closed = message.events.get(event="review_closed")
    assert closed.detail["action"] == "suppress_number"
    assert closed.detail["suppression"] == suppression.pk
    assert _staff_audit(tenant, "message.review_closed").filter(target_id=message.pk).exists()


def test_resend_creates_a_new_message_linked_both_ways(staff_client, tenant, staff):
    with time_machine.travel(T0, tick=False):
        original = _in_review(tenant, body="Your code is 1234", metadata={"order": "A-17"})
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        response = _action(staff_client, "resend", original)
        confirm = staff_client.get(response["Location"])
        assert confirm.status_code == 200
        done = staff_client.post(response["Location"].split("?")[0], {"ids": original.pk})
    assert done.status_code == 302

    copy = Message.objects.exclude(pk=original.pk).get(to_number=original.to_number)
    assert (copy.from_number, copy.body, copy.category, copy.metadata, copy.test) == (
        original.from_number,
        "Your code is 1234",
        original.category,
        {"order": "A-17"},
        original.test,
    )
    assert copy.status == Status.QUEUED
    assert copy.events.get(event="resend_of").detail["message"] == original.pk
    original.refresh_from_db()
    assert original.review == Message.REVIEW_DONE
    closed = original.events.get(event="review_closed")
    assert (closed.detail["action"], closed.detail["resent_as"]) == ("resend", copy.pk)
    assert closed.detail["staff"] == staff.username


def test_resend_refused_by_the_policy_keeps_the_review_open(staff_client, tenant, staff):
    message = _in_review(tenant)
    suppression_create(
        workspace_id=tenant.workspace.pk,
        phone=message.to_number,
        source="api",
        actor=Actor.system("test"),
    )
    url = reverse("admin:messaging_message_review", args=["resend"])
    response = staff_client.post(url, {"ids": message.pk}, follow=True)
    assert "workspace_suppressed" in response.content.decode()
    message.refresh_from_db()
    assert message.review == Message.REVIEW_PENDING
    assert Message.objects.filter(to_number=message.to_number).count() == 1


def test_review_services_refuse_a_message_not_in_review(tenant):
    message = message_for(tenant.workspace, tenant.sender)
    with pytest.raises(TernError) as caught:
        review_mark_reviewed(message=message, actor=Actor("staff", "1", "s"))
    assert caught.value.code == "invalid_state"


# --- suppressions ------------------------------------------------------------------------------


@pytest.fixture
def suppression(tenant):
    row, _ = suppression_create(
        workspace_id=tenant.workspace.pk,
        phone="+14155550123",
        source="keyword",
        actor=Actor.system("inbound STOP"),
        reason="STOP",
    )
    return row


def _remove_url(suppression) -> str:
    return reverse("admin:compliance_suppression_remove", args=[quote(suppression.pk)])


def test_suppression_list_and_page_are_read_only(staff_client, suppression):
    listing = staff_client.get(
        reverse("admin:compliance_suppression_changelist"), {"source": "keyword", "active": "1"}
    )
    assert listing.status_code == 200
    assert suppression.pk in listing.content.decode()
    page = staff_client.get(reverse("admin:compliance_suppression_change", args=[suppression.pk]))
    content = page.content.decode()
    assert 'name="_save"' not in content
    assert _remove_url(suppression) in content
    assert staff_client.get(reverse("admin:compliance_suppression_add")).status_code == 403
    delete = reverse("admin:compliance_suppression_delete", args=[suppression.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403


def test_suppression_removal_needs_a_reason(staff_client, tenant, suppression):
    assert staff_client.get(_remove_url(suppression)).status_code == 200
    for empty in ({}, {"reason": ""}, {"reason": "   "}):
        response = staff_client.post(_remove_url(suppression), empty)
        assert response.status_code == 200
        assert response.context["form"].errors["reason"]
    suppression.refresh_from_db()
    assert suppression.active
    assert not _staff_audit(tenant, "suppression.removed").exists()


def test_suppression_removal_with_a_reason_is_soft_and_audited(
    staff_client, tenant, staff, suppression
):
    response = staff_client.post(_remove_url(suppression), {"reason": "customer opted in on paper"})
    assert response.status_code == 302
    suppression.refresh_from_db()
    assert not suppression.active
    assert suppression.removed_at is not None
    assert suppression.removed_by == staff.username
    assert suppression.removal_reason == "customer opted in on paper"
    audit = _staff_audit(tenant, "suppression.removed").get()
    assert (audit.actor_type, audit.actor_id, audit.actor_label) == (
        "staff",
        str(staff.pk),
        staff.username,
    )
    assert (audit.target_id, audit.reason) == (suppression.pk, "customer opted in on paper")
    assert verify_chain(tenant.workspace.pk).ok

    again = staff_client.post(_remove_url(suppression), {"reason": "twice"}, follow=True)
    assert "Not removed" in again.content.decode()
    assert _staff_audit(tenant, "suppression.removed").count() == 1


def test_removal_service_rules(suppression):
    actor = Actor("staff", "1", "staff@tern.test")
    with pytest.raises(TernError) as empty:
        suppression_remove(suppression=suppression, actor=actor, reason=" ")
    assert empty.value.code == "validation_error"
    suppression_remove(suppression=suppression, actor=actor, reason="verified opt-in")
    with pytest.raises(TernError) as inactive:
        suppression_remove(suppression=suppression, actor=actor, reason="again")
    assert inactive.value.code == "invalid_state"


# --- audit events ------------------------------------------------------------------------------


def test_audit_events_cannot_be_edited_in_the_admin(staff_client, tenant):
    event = AuditEvent.objects.for_workspace(tenant.workspace).order_by("seq").first()
    url = reverse("admin:workspaces_auditevent_change", args=[event.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = staff_client.post(url, {"action": "forged", "reason": "forged"})
    assert response.status_code == 403
    after = AuditEvent.objects.get(pk=event.pk)
    assert (after.action, after.reason, after.hash) == (event.action, event.reason, event.hash)
    delete = reverse("admin:workspaces_auditevent_delete", args=[event.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
