"""The message pages in a real browser: search and read a timeline, the live count as one types,
a send landing on its message, a webhook delivery replayed to a local receiver; axe on each."""

import re

import pytest
from django.db import transaction
from playwright.sync_api import expect

from messaging.models import Message
from webhooks.models import WebhookDelivery
from webhooks.services.delivery import delivery_attempt
from webhooks.services.endpoints import endpoint_create
from webhooks.tasks import deliver_webhook
from workspaces.audit import Actor

from ..support.browser import assert_accessible
from ..support.factories import message_for
from ..support.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_found_by_search_and_its_timeline_read(page_as, tenant, other_tenant, people):
    wanted = message_for(tenant.workspace, tenant.sender, to="+14155550142", body="Parcel at depot")
    message_for(tenant.workspace, tenant.sender, to="+14155550143", body="Other")
    message_for(other_tenant.workspace, other_tenant.sender, to="+14155550142", body="Theirs")
    page = page_as(people[("A", "viewer")])
    page.goto(f"/w/{tenant.workspace.slug}/messages/")
    assert_accessible(page)
    page.get_by_label("Search").fill("+14155550142")
    page.get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name=wanted.id)
    expect(link).to_be_visible()
    assert page.get_by_role("link", name=re.compile(r"^msg_")).count() == 1
    link.click()
    expect(page.get_by_role("heading", name=wanted.id)).to_be_visible()
    steps = page.get_by_role("list", name="Steps")
    expect(steps).to_contain_text("API request received")
    expect(steps).to_contain_text("Queued")
    expect(page.get_by_role("heading", name="Gate decisions")).to_be_visible()
    assert page.get_by_role("button", name="Cancel message").count() == 0  # a viewer
    assert_accessible(page)


def test_the_live_count_follows_typing(page_as, tenant, people):
    page = page_as(people[("A", "agent")])
    page.goto(f"/w/{tenant.workspace.slug}/messages/new/")
    assert_accessible(page)
    count = page.locator("#live-count")
    page.get_by_label("To").fill("+14155550100")
    page.get_by_label("Message").press_sequentially("Hello")
    expect(count).to_contain_text("GSM-7")
    page.get_by_label("Message").press_sequentially(" 🙂")
    expect(count).to_contain_text("UCS-2")
    expect(count).to_contain_text(re.compile(r"(^|\D)1 segments"))
    page.get_by_label("Message").fill("x" * 200)
    page.get_by_label("Message").press_sequentially("🙂")
    expect(count).to_contain_text("4 segments")


def test_a_send_goes_through_and_lands_on_its_page(page_as, tenant, people):
    page = page_as(people[("A", "agent")])
    page.goto(f"/w/{tenant.workspace.slug}/messages/new/")
    expect(page.get_by_label("From")).to_have_value(tenant.sender.number)
    page.get_by_label("To").fill("+14155550188")
    page.get_by_label("Message").fill("Sent from the browser")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/messages/msg_[0-9a-z]{26}/$"))
    message = Message.objects.get(body="Sent from the browser")
    expect(page.get_by_role("heading", name=message.id)).to_be_visible()
    first = message.events.order_by("at", "id").first()
    assert first.event == "api_request_received" and first.detail["via"] == "console"
    assert_accessible(page)


def test_a_webhook_delivery_replayed(page_as, tenant, people, monkeypatch):
    monkeypatch.setattr(  # the worker's part, run in the server's thread
        deliver_webhook, "apply_async", lambda args, **kw: delivery_attempt(delivery_id=args[0])
    )
    with Receiver() as receiver:
        endpoint_create(
            workspace_id=tenant.workspace.pk,
            test=False,
            url=receiver.url,
            events=["message.queued"],
            actor=Actor.system(),
        )
        with transaction.atomic():
            message = message_for(tenant.workspace, tenant.sender)
        assert len(receiver.requests) == 1
        delivery = WebhookDelivery.objects.get(event__data__id=message.id)
        page = page_as(people[("A", "admin")])
        page.goto(f"/w/{tenant.workspace.slug}/messages/{message.id}/")
        expect(page.get_by_role("cell", name=delivery.id, exact=True)).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name="Replay").click()
        expect(page.get_by_role("status")).to_contain_text(f"Delivery {delivery.id} queued again")
        assert len(receiver.requests) == 2
        assert receiver.requests[0].webhook_id == receiver.requests[1].webhook_id


def test_a_refused_send_shows_its_fix_and_joins_the_refused_requests(page_as, tenant, people):
    page = page_as(people[("A", "agent")])
    page.goto(f"/w/{tenant.workspace.slug}/messages/new/")
    page.get_by_label("To").fill("12")
    page.get_by_label("Message").fill("Never sent")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("E.164")
    page.get_by_role("navigation", name="Workspace").get_by_role(
        "link", name="Refused requests"
    ).click()
    expect(page.get_by_role("heading", name="By code")).to_be_visible()
    expect(page.get_by_role("table").first).to_contain_text("invalid_number")
    expect(page.locator("canvas[data-rendered]")).to_have_count(1)
    assert_accessible(page)


def test_live_count_follows_the_message_before_the_number_is_typed(page_as, tenant, people):
    """Typed or pasted, with `To` still empty: the count follows, and the CSRF token stays out
    of the count's URL."""
    page = page_as(people[("A", "agent")])
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/new/count/" in r.url else None)
    page.goto(f"/w/{tenant.workspace.slug}/messages/new/")
    page.get_by_label("Message").fill("Pasted 🙂 text")
    expect(page.locator("#live-count")).to_contain_text("UCS-2")
    assert asked and all("csrfmiddlewaretoken" not in url for url in asked)
