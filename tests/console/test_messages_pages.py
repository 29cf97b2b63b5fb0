"""Messages, Message, Send and Refused requests over HTTP (CONTRACT §12, issue 13): what each
page lists, that workspace B's messages never appear, and that actions go through the API's
services (audited, on the timeline) with the scopes the API asks for."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client

from console.access import TEST_DATA_SESSION_KEY
from messaging.models import Message, MessageEvent, Refusal, Status
from webhooks.models import WebhookDelivery
from webhooks.services.endpoints import endpoint_create
from webhooks.tasks import deliver_webhook
from workspaces import clock
from workspaces.audit import Actor
from workspaces.models import AuditEvent, Workspace

from ..support.factories import message_for

pytestmark = pytest.mark.django_db


def client_for(user, *, test_data: bool = False, workspace=None) -> Client:
    client = Client()
    client.force_login(user)
    if test_data:
        session = client.session
        session[TEST_DATA_SESSION_KEY] = {workspace.pk: True}
        session.save()
    return client


def url(tenant, part: str = "") -> str:
    return f"/w/{tenant.workspace.slug}/{part}"


@pytest.fixture
def owner(tenant, people):
    return client_for(people[("A", "owner")])


@pytest.fixture
def enqueued(monkeypatch) -> list:
    """Webhook deliveries published (none really sent)."""
    published = []
    monkeypatch.setattr(
        deliver_webhook, "apply_async", lambda args, **options: published.append(args)
    )
    return published


def send(tenant, **kwargs) -> Message:
    return message_for(tenant.workspace, tenant.sender, **kwargs)


# --- Messages -------------------------------------------------------------------------------


def test_list_shows_this_workspaces_messages_linked_and_never_another(tenant, other_tenant, owner):
    mine = send(tenant, body="apple pie")
    theirs = send(other_tenant, body="apple pie")
    page = owner.get(url(tenant, "messages/")).content.decode()
    assert f'href="/w/{tenant.workspace.slug}/messages/{mine.id}/"' in page
    assert theirs.id not in page and theirs.to_number not in page


@pytest.mark.parametrize("how", ["number", "national", "id", "text", "text_case"])
def test_search_finds_by_number_id_or_text(tenant, other_tenant, owner, how):
    wanted = send(tenant, to="+14155550142", body="Your parcel is at the depot")
    other = send(tenant, to="+14155550143", body="Something else")
    foreign = send(other_tenant, to="+14155550142", body="Your parcel is at the depot")
    query = {
        "number": "+14155550142",
        "national": "(415) 555-0142",
        "id": wanted.id,
        "text": "parcel is",
        "text_case": "PARCEL",
    }[how]
    page = owner.get(url(tenant, "messages/"), {"q": query}).content.decode()
    assert wanted.id in page
    assert other.id not in page and foreign.id not in page


def test_a_number_finds_messages_from_it_too(tenant, owner):
    sent = send(tenant, body="from our sender")
    page = owner.get(url(tenant, "messages/"), {"q": tenant.sender.number}).content.decode()
    assert sent.id in page


def test_filters_status_direction_error_code_and_dates(tenant, owner):
    failed = send(tenant, body="one")
    Message.objects.filter(pk=failed.pk).update(
        status=Status.FAILED, error={"code": "unknown_number", "message": "x"}
    )
    queued = send(tenant, body="two")
    old = send(tenant, body="three")
    Message.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=10))

    def listed(**params):
        page = owner.get(url(tenant, "messages/"), params).content.decode()
        return {m for m in (failed.id, queued.id, old.id) if m in page}

    assert listed(status="failed") == {failed.id}
    assert listed(error_code="unknown_number") == {failed.id}
    assert listed(direction="inbound") == set()
    assert listed(direction="outbound") == {failed.id, queued.id, old.id}
    since = (clock.now() - timedelta(days=2)).date().isoformat()
    assert listed(since=since) == {failed.id, queued.id}
    until = (clock.now() - timedelta(days=5)).date().isoformat()
    assert listed(until=until) == {old.id}


def test_an_invalid_filter_says_so(tenant, owner):
    response = owner.get(url(tenant, "messages/"), {"status": "exploded"})
    assert response.status_code == 200
    assert "Check the filters" in response.content.decode()


def test_cursor_pages_walk_every_message_once(tenant, owner):
    made = [send(tenant, body=f"page {i}") for i in range(5)]
    seen, link, pages = [], url(tenant, "messages/?limit=2"), 0
    while link and pages < 5:
        response = owner.get(link)
        page = response.content.decode()
        seen += [m.id for m in made if m.id in page]
        link = response.context["next"]
        pages += 1
    assert sorted(seen) == sorted(m.id for m in made) and len(seen) == 5
    assert pages == 3


def test_an_edited_cursor_is_refused_not_a_500(tenant, owner):
    response = owner.get(url(tenant, "messages/"), {"cursor": "forged"})
    assert response.status_code == 200
    assert "Not a cursor" in response.content.decode()


def test_the_mode_shown_decides_which_messages_list(tenant, people):
    live = send(tenant, body="live one")
    tenant.workspace.verified_recipients = ["+14155550100"]
    tenant.workspace.save()
    test = send(tenant, to="+14155550100", body="test one", test=True)
    seen = client_for(people[("A", "owner")], test_data=True, workspace=tenant.workspace)
    page = seen.get(url(tenant, "messages/")).content.decode()
    assert test.id in page and live.id not in page


def test_list_queries_stay_flat(tenant, owner, django_assert_max_num_queries):
    for i in range(3):
        send(tenant, body=f"few {i}")
    owner.get(url(tenant, "messages/"))  # the session's once-a-minute refresh is not the page's
    with django_assert_max_num_queries(12) as few:
        owner.get(url(tenant, "messages/"))
    for i in range(30):
        send(tenant, body=f"many {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        owner.get(url(tenant, "messages/"))


# --- Message --------------------------------------------------------------------------------


def test_message_page_shows_steps_gates_and_timeline(tenant, owner):
    message = send(tenant, body="steps")
    page = owner.get(url(tenant, f"messages/{message.id}/")).content.decode()
    for text in (
        "API request received",
        "Queued",
        "Sent to carrier",
        "Delivered",
        "Webhook delivered",
        "Policy passed",
        "not yet",
        "Provider log",
    ):
        assert text in page, text
    assert tenant.sender.number in page  # the gate relied on the sender


def test_message_page_shows_error_fix_and_retry(tenant, owner):
    message = send(tenant)
    Message.objects.filter(pk=message.pk).update(
        status=Status.FAILED, error={"code": "unknown_number", "message": "Blocked."}
    )
    page = owner.get(url(tenant, f"messages/{message.id}/")).content.decode()
    from workspaces.errors import spec

    assert "unknown_number" in page
    assert spec("unknown_number").fix.split("(")[0].strip()[:40] in page.replace("&#x27;", "'")
    assert spec("unknown_number").retry in page


def test_another_workspaces_message_is_a_404_on_every_door(tenant, other_tenant, owner):
    theirs = send(other_tenant)
    for part in ("", "cancel/", "replay/"):
        target = url(tenant, f"messages/{theirs.id}/{part}")
        response = owner.post(target) if part else owner.get(target)
        assert response.status_code == 404, part
    assert Message.objects.get(pk=theirs.pk).status == Status.QUEUED


def test_cancel_goes_through_the_service_onto_the_timeline(tenant, owner, people):
    message = send(tenant)
    page = owner.get(url(tenant, f"messages/{message.id}/")).content.decode()
    assert "Cancel message" in page and "Confirm" in page
    response = owner.post(url(tenant, f"messages/{message.id}/cancel/"))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == Status.CANCELED
    event = MessageEvent.objects.get(message=message, event="canceled")
    assert event.detail["via"] == "console"
    assert event.detail["member"] == people[("A", "owner")].memberships.get().pk
    again = owner.post(url(tenant, f"messages/{message.id}/cancel/"), follow=True)
    assert "cannot be canceled" in again.content.decode()


def test_agent_may_cancel_viewer_may_not(tenant, people):
    message = send(tenant)
    viewer = client_for(people[("A", "viewer")])
    assert (
        "Cancel message" not in viewer.get(url(tenant, f"messages/{message.id}/")).content.decode()
    )
    assert viewer.post(url(tenant, f"messages/{message.id}/cancel/")).status_code == 403
    agent = client_for(people[("A", "agent")])
    assert agent.post(url(tenant, f"messages/{message.id}/cancel/")).status_code == 302


def _endpoint(tenant):
    return endpoint_create(
        workspace_id=tenant.workspace.pk,
        test=False,
        url="http://127.0.0.1:9/hook",
        events=["*"],
        actor=Actor.system(),
    )[0]


def test_replay_is_audited_with_the_member(tenant, other_tenant, owner, people, enqueued):
    endpoint = _endpoint(tenant)
    with transaction.atomic():
        message = send(tenant)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event__data__id=message.id)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.FAILED)
    page = owner.get(url(tenant, f"messages/{message.id}/")).content.decode()
    assert delivery.id in page and "Replay" in page
    response = owner.post(url(tenant, f"messages/{message.id}/replay/"), {"delivery": delivery.id})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.PENDING
    audit = AuditEvent.objects.get(action="webhook_delivery.replayed", target_id=delivery.id)
    assert audit.actor_id == str(people[("A", "owner")].pk)
    # Another workspace's delivery id is not this message's: 404.
    other_endpoint = _endpoint(other_tenant)
    with transaction.atomic():
        theirs = send(other_tenant)
    foreign = WebhookDelivery.objects.get(endpoint=other_endpoint, event__data__id=theirs.id)
    refused = owner.post(url(tenant, f"messages/{message.id}/replay/"), {"delivery": foreign.id})
    assert refused.status_code == 404


def test_replay_needs_webhooks_manage(tenant, people, enqueued):
    message = send(tenant)
    agent = client_for(people[("A", "agent")])
    page = agent.get(url(tenant, f"messages/{message.id}/")).content.decode()
    assert "Webhook deliveries" not in page
    assert agent.post(url(tenant, f"messages/{message.id}/replay/")).status_code == 403


# --- Send -----------------------------------------------------------------------------------


def _form(tenant, **fields) -> dict:
    return {
        "to": "+14155550177",
        "sender": tenant.sender.number,
        "body": "Hello from the console",
        "key": uuid.uuid4().hex,
        **fields,
    }


def test_send_page_preselects_the_default_sender(tenant, owner):
    second = tenant.sender.__class__.objects.create(
        workspace=tenant.workspace, number="+14155550999", country="US"
    )
    Workspace.objects.filter(pk=tenant.workspace.pk).update(default_sender=second.number)
    page = owner.get(url(tenant, "messages/new/")).content.decode()
    assert f'<option value="{second.number}" selected>' in page
    assert 'name="key"' in page
    for label in ("To", "From", "Message"):
        assert f">{label}</label>" in page


def test_a_form_posted_twice_sends_once(tenant, owner, people):
    form = _form(tenant)
    first = owner.post(url(tenant, "messages/new/"), form)
    second = owner.post(url(tenant, "messages/new/"), form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    sent = Message.objects.for_workspace(tenant.workspace).filter(body=form["body"])
    assert sent.count() == 1
    message = sent.get()
    assert first["Location"] == url(tenant, f"messages/{message.id}/")
    first_event = message.events.order_by("at", "id").first()
    member = people[("A", "owner")].memberships.get()
    assert first_event.event == "api_request_received"
    assert first_event.detail["via"] == "console"
    assert first_event.detail["member"] == member.pk
    assert not Refusal.objects.for_workspace(tenant.workspace).exists()


def test_a_refused_send_is_logged_via_the_console_and_shows_the_fix(tenant, owner):
    response = owner.post(url(tenant, "messages/new/"), _form(tenant, to="12"))
    assert response.status_code == 422 or response.status_code == 400
    page = response.content.decode()
    refusal = Refusal.objects.for_workspace(tenant.workspace).get()
    assert refusal.via == "console" and refusal.code == "invalid_number"
    from workspaces.errors import spec

    assert spec("invalid_number").fix[:30] in page.replace("&#x27;", "'")
    assert not Message.objects.for_workspace(tenant.workspace).exists()


def test_the_api_path_is_unchanged(tenant):
    response = tenant.client().post(
        "/api/v1/messages",
        {"to": "+14155550178", "from": tenant.sender.number, "body": "api"},
        format="json",
    )
    assert response.status_code == 202, response.content
    first = MessageEvent.objects.filter(message_id=response.json()["id"]).order_by("at", "id")[0]
    assert first.event == "api_request_received" and first.detail == {}


def test_viewer_sees_no_send_link_and_gets_403(tenant, people):
    viewer = client_for(people[("A", "viewer")])
    page = viewer.get(url(tenant, "messages/")).content.decode()
    assert f'href="/w/{tenant.workspace.slug}/messages/new/"' not in page
    assert viewer.post(url(tenant, "messages/new/"), _form(tenant)).status_code == 403
    assert not Message.objects.for_workspace(tenant.workspace).exists()


def test_live_count_uses_the_apis_encoding_and_price(tenant, owner):
    response = owner.get(
        url(tenant, "messages/new/count/"), {"to": "+14155550100", "body": "Hi 🙂"}
    )
    page = response.content.decode()
    assert "UCS-2" in page and "1 segments" in page and "0.0079" in page
    long = owner.get(url(tenant, "messages/new/count/"), {"to": "", "body": "a" * 161})
    assert "GSM-7" in long.content.decode() and "2 segments" in long.content.decode()


def test_test_mode_send_is_free_and_verified_only(tenant, people):
    Workspace.objects.filter(pk=tenant.workspace.pk).update(verified_recipients=["+14155550100"])
    client = client_for(people[("A", "owner")], test_data=True, workspace=tenant.workspace)
    refused = client.post(url(tenant, "messages/new/"), _form(tenant, to="+14155550101"))
    assert refused.status_code >= 400
    assert Refusal.objects.get().code == "recipient_not_verified"
    sent = client.post(url(tenant, "messages/new/"), _form(tenant, to="+14155550100"))
    assert sent.status_code == 302
    message = Message.objects.get()
    assert message.test and message.price == 0


# --- Refused requests ------------------------------------------------------------------------


def test_refusals_list_charts_and_filters_by_code(tenant, other_tenant, owner):
    owner.post(url(tenant, "messages/new/"), _form(tenant, to="12"))
    owner.post(url(tenant, "messages/new/"), _form(tenant, to="12"))
    owner.post(url(tenant, "messages/new/"), _form(tenant, body=""))
    tenant_b_owner = other_tenant.client()
    tenant_b_owner.post("/api/v1/messages", {"to": "99", "body": "x"}, format="json")
    response = owner.get(url(tenant, "refusals/"))
    page = response.content.decode()
    assert response.context["chart"]["labels"] == ["invalid_number", "validation_error"]
    assert response.context["chart"]["datasets"][0]["data"] == [2, 1]
    assert 'data-chart="refusals-by-code"' in page
    foreign = Refusal.objects.for_workspace(other_tenant.workspace).get()
    assert foreign.id not in page
    only = owner.get(url(tenant, "refusals/"), {"code": "validation_error"})
    assert len(only.context["rows"]) == 1


def test_message_page_queries_stay_flat(tenant, owner, django_assert_max_num_queries):
    message = send(tenant)
    owner.get(url(tenant, f"messages/{message.id}/"))  # not the session's once-a-minute refresh
    with django_assert_max_num_queries(14) as first:
        owner.get(url(tenant, f"messages/{message.id}/"))
    for _ in range(5):
        MessageEvent.objects.create(
            workspace=tenant.workspace, message=message, event="retry_scheduled", at=clock.now()
        )
    with django_assert_max_num_queries(len(first.captured_queries)):
        owner.get(url(tenant, f"messages/{message.id}/"))


def test_a_body_too_long_is_refused_as_the_api_refuses_it(tenant, owner):
    response = owner.post(url(tenant, "messages/new/"), _form(tenant, body="x" * 5001))
    assert response.status_code == 400
    assert Refusal.objects.for_workspace(tenant.workspace).get().code == "validation_error"
