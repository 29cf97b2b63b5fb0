"""The Developers page over HTTP (CONTRACT §12, §2, §8): tokens every member makes for themselves
within their role, others' tokens for `workspace:manage`, webhook endpoints through the API's
services and SSRF guard, replays, senders; another workspace's ids are 404."""

import re
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from webhooks.events import emit
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoints as endpoint_services
from webhooks.services.delivery import delivery_attempt
from workspaces.audit import Actor
from workspaces.models import ApiToken, AuditEvent, Sender
from workspaces.services import hash_secret

from ..support.browser import assert_accessible
from ..support.factories import next_number, token_for
from ..support.receiver import Answer, Receiver, verify

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"  # loopback: allowed in tests, never answered (port 9: discard)
SECRET_RE = re.compile(r'id="new-secret"[^>]*value="([^"]+)"')


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def dev_url(tenant, tail: str = "") -> str:
    return f"/w/{tenant.workspace.slug}/developers/{tail}"


def shown_secret(response) -> str:
    """The secret the page shows once (None when it shows none)."""
    html = response if isinstance(response, str) else response.content.decode()
    found = SECRET_RE.search(html)
    return found.group(1) if found else None


def make_endpoint(tenant, *, test=False) -> WebhookEndpoint:
    endpoint, _ = endpoint_services.endpoint_create(
        workspace_id=tenant.workspace.id, test=test, url=HOOK, events=["*"], actor=Actor.system()
    )
    return endpoint


def failed_delivery(endpoint) -> WebhookDelivery:
    """A delivery of a new event to the endpoint, marked failed as after its last attempt."""
    event = emit(workspace_id=endpoint.workspace_id, test=endpoint.test, type="ping", data={})
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.FAILED)
    return delivery


# --- tokens ---------------------------------------------------------------------------------


def test_agent_creates_own_token_within_role_and_sees_its_secret_once(tenant, people):
    agent = client_for(people[("A", "agent")])
    response = agent.post(
        dev_url(tenant, "tokens/"),
        {"name": "ci bot", "mode": "live", "scopes": ["messages:send", "messages:read"]},
    )
    assert response.status_code == 200
    secret = shown_secret(response)
    assert secret and secret.startswith("tern_live_")
    assert "won't be shown again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="ci bot")
    assert token.workspace_id == tenant.workspace.id
    assert token.created_by.user == people[("A", "agent")]
    assert token.scopes == ["messages:read", "messages:send"]
    assert token.secret_hash == hash_secret(secret) and secret not in token.secret_hash
    audit = AuditEvent.objects.get(action="token.created", target_id=token.id)
    assert audit.actor_type == "user" and audit.actor_id == str(people[("A", "agent")].pk)
    again = agent.get(dev_url(tenant)).content.decode()
    assert "ci bot" in again and secret not in again and shown_secret(again) is None


def test_the_form_offers_only_the_roles_scopes(tenant, people):
    page = client_for(people[("A", "agent")]).get(dev_url(tenant)).content.decode()
    assert 'value="messages:send"' in page
    assert 'value="workspace:manage"' not in page and 'value="contacts:write"' not in page


def test_campaign_manager_cannot_grant_workspace_manage(tenant, people):
    before = ApiToken.objects.count()
    response = client_for(people[("A", "campaign_manager")]).post(
        dev_url(tenant, "tokens/"),
        {"name": "sneaky", "mode": "live", "scopes": ["campaigns:write", "workspace:manage"]},
    )
    assert response.status_code == 403
    assert ApiToken.objects.count() == before
    page = response.content.decode()
    assert "workspace:manage" in page and shown_secret(page) is None
    assert "Use a token whose scopes include" in page  # the catalogue's fix for `forbidden`


def test_invalid_token_form_shows_field_errors_and_makes_nothing(tenant, people):
    before = ApiToken.objects.count()
    response = client_for(people[("A", "viewer")]).post(
        dev_url(tenant, "tokens/"), {"name": "", "mode": "live"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="token-name-errors"' in page and 'id="token-scopes-errors"' in page
    assert "Correct the fields named" in page  # the catalogue's fix for validation_error
    assert ApiToken.objects.count() == before


def test_test_data_shown_defaults_mode_to_test(tenant, people):
    viewer = client_for(people[("A", "viewer")])
    viewer.post(f"/w/{tenant.workspace.slug}/test-data/", {"test": "1"})
    page = viewer.get(dev_url(tenant)).content.decode()
    assert '<option value="test" selected>' in page
    response = viewer.post(
        dev_url(tenant, "tokens/"), {"name": "sandbox", "scopes": ["messages:read"]}
    )
    assert shown_secret(response).startswith("tern_test_")
    assert ApiToken.objects.get(name="sandbox").mode == "test"


def test_others_tokens_are_invisible_without_workspace_manage(tenant, people):
    owners = tenant.tokens[("owner", "live")]
    page = client_for(people[("A", "agent")]).get(dev_url(tenant)).content.decode()
    assert owners.prefix not in page
    assert tenant.tokens[("agent", "live")].prefix in page
    admin_page = client_for(people[("A", "admin")]).get(dev_url(tenant)).content.decode()
    assert owners.prefix in admin_page and tenant.tokens[("agent", "live")].prefix in admin_page


def test_an_expired_token_says_so(tenant, people):
    past = timezone.now() - timedelta(days=1)
    token_for(tenant.workspace, "viewer", scopes=["messages:read"], expires_at=past)
    page = client_for(people[("A", "viewer")]).get(dev_url(tenant)).content.decode()
    assert page.count("(expired)") == 1


def test_revoking_own_token_needs_no_manage_but_others_do(tenant, people):
    agent = client_for(people[("A", "agent")])
    own, others = tenant.tokens[("agent", "live")], tenant.tokens[("viewer", "live")]
    assert agent.post(dev_url(tenant, f"tokens/{others.id}/revoke/")).status_code == 403
    others.refresh_from_db()
    assert others.revoked_at is None
    response = agent.post(dev_url(tenant, f"tokens/{own.id}/revoke/"))
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.revoked_at is not None
    admin = client_for(people[("A", "admin")])
    assert admin.post(dev_url(tenant, f"tokens/{others.id}/revoke/")).status_code == 302
    others.refresh_from_db()
    assert others.revoked_at is not None
    event = AuditEvent.objects.get(action="token.revoked", target_id=others.id)
    assert event.actor_id == str(people[("A", "admin")].pk)


def test_revoked_token_is_refused_by_the_api(tenant, people):
    token, secret = token_for(tenant.workspace, "viewer", scopes=["messages:read"])
    viewer = client_for(people[("A", "viewer")])
    viewer.post(dev_url(tenant, f"tokens/{token.id}/revoke/"))
    response = Client().get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401


def test_other_workspaces_ids_are_404(tenant, other_tenant, people):
    owner = client_for(people[("A", "owner")])
    theirs_token = other_tenant.tokens[("owner", "live")]
    theirs_endpoint = make_endpoint(other_tenant)
    theirs_delivery = failed_delivery(theirs_endpoint)
    for tail in (
        f"tokens/{theirs_token.id}/revoke/",
        f"endpoints/{theirs_endpoint.id}/rotate-secret/",
        f"endpoints/{theirs_endpoint.id}/test/",
        f"endpoints/{theirs_endpoint.id}/replay/",
        f"endpoints/{theirs_endpoint.id}/enabled/",
        f"endpoints/{theirs_endpoint.id}/delete/",
        f"deliveries/{theirs_delivery.id}/replay/",
        f"senders/{other_tenant.sender.id}/remove/",
    ):
        assert owner.post(dev_url(tenant, tail)).status_code == 404, tail
    assert owner.get(dev_url(tenant, f"endpoints/{theirs_endpoint.id}/")).status_code == 404
    theirs_token.refresh_from_db()
    theirs_delivery.refresh_from_db()
    assert theirs_token.revoked_at is None and theirs_delivery.status == "failed"
    page = owner.get(dev_url(tenant)).content.decode()
    assert theirs_token.prefix not in page and other_tenant.sender.number not in page


# --- webhook endpoints ----------------------------------------------------------------------


def test_add_endpoint_shows_its_secret_once_in_the_mode_shown(tenant, people):
    admin = client_for(people[("A", "admin")])
    response = admin.post(
        dev_url(tenant, "endpoints/"),
        {"url": HOOK, "events": ["message.delivered", "message.failed"], "description": "ops"},
    )
    assert response.status_code == 200
    secret = shown_secret(response)
    assert secret and secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(workspace=tenant.workspace)
    assert endpoint.test is False and endpoint.events == ["message.delivered", "message.failed"]
    assert secret not in endpoint.secret_encrypted
    assert endpoint_services.signing_secrets(endpoint, timezone.now()) == [secret]
    assert AuditEvent.objects.filter(action="webhook_endpoint.created").count() == 1
    page = admin.get(dev_url(tenant, f"endpoints/{endpoint.id}/")).content.decode()
    assert secret not in page and HOOK in page


def test_ssrf_refusal_is_shown_with_its_fix_and_nothing_is_made(tenant, people):
    response = client_for(people[("A", "owner")]).post(
        dev_url(tenant, "endpoints/"), {"url": "http://10.1.2.3/hook", "events": ["*"]}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="endpoint-url-errors"' in page and "10.1.2.3" in page
    assert "The request is malformed." in page and "Correct the fields named" in page
    assert not WebhookEndpoint.objects.exists()


def test_unknown_events_are_refused_by_the_apis_serializer(tenant, people):
    response = client_for(people[("A", "owner")]).post(
        dev_url(tenant, "endpoints/"), {"url": HOOK, "events": []}
    )
    assert response.status_code == 400
    assert 'id="endpoint-events-errors"' in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotate_secret_shows_the_new_one_once(tenant, people):
    endpoint = make_endpoint(tenant)
    admin = client_for(people[("A", "admin")])
    response = admin.post(dev_url(tenant, f"endpoints/{endpoint.id}/rotate-secret/"))
    assert response.status_code == 200
    secret = shown_secret(response)
    endpoint.refresh_from_db()
    secrets = endpoint_services.signing_secrets(endpoint, timezone.now())
    assert secrets[0] == secret and len(secrets) == 2
    assert AuditEvent.objects.filter(action="webhook_endpoint.secret_rotated").exists()
    assert secret not in admin.get(dev_url(tenant, f"endpoints/{endpoint.id}/")).content.decode()


def test_send_test_event_makes_a_ping_delivery(tenant, people):
    endpoint = make_endpoint(tenant)
    response = client_for(people[("A", "owner")]).post(
        dev_url(tenant, f"endpoints/{endpoint.id}/test/")
    )
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event.type == "ping"


def test_disable_refuses_replays_until_enabled_again(tenant, people):
    endpoint = make_endpoint(tenant)
    delivery = failed_delivery(endpoint)
    owner = client_for(people[("A", "owner")])
    owner.post(dev_url(tenant, f"endpoints/{endpoint.id}/enabled/"), {"enabled": "false"})
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and endpoint.disabled_reason == "disabled by a user"
    response = owner.post(dev_url(tenant, f"deliveries/{delivery.id}/replay/"), follow=True)
    assert "The endpoint is disabled." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    owner.post(dev_url(tenant, f"endpoints/{endpoint.id}/enabled/"), {"enabled": "true"})
    endpoint.refresh_from_db()
    assert endpoint.enabled is True and endpoint.disabled_at is None
    owner.post(dev_url(tenant, f"deliveries/{delivery.id}/replay/"))
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_delete_endpoint(tenant, people):
    endpoint = make_endpoint(tenant)
    response = client_for(people[("A", "admin")]).post(
        dev_url(tenant, f"endpoints/{endpoint.id}/delete/")
    )
    assert response.status_code == 302 and response["Location"] == dev_url(tenant)
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert AuditEvent.objects.filter(action="webhook_endpoint.deleted").exists()


def test_delivery_log_shows_response_bodies_escaped(tenant, people):
    endpoint = make_endpoint(tenant)
    delivery = failed_delivery(endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        response_code=500, response_body="<script>alert(1)</script> oops"
    )
    delivery.attempts.create(
        workspace_id=delivery.workspace_id, number=1, at=timezone.now(), response_code=500
    )
    page = client_for(people[("A", "owner")]).get(dev_url(tenant, f"endpoints/{endpoint.id}/"))
    html = page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; oops" in html
    assert "<script>alert(1)" not in html
    assert delivery.id in html and "HTTP 500" in html


def test_replay_one_delivery(tenant, people):
    delivery = failed_delivery(make_endpoint(tenant))
    response = client_for(people[("A", "admin")]).post(
        dev_url(tenant, f"deliveries/{delivery.id}/replay/")
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert AuditEvent.objects.get(action="webhook_delivery.replayed").target_id == delivery.id


def test_replay_failed_in_a_range_and_all_failed(tenant, people):
    endpoint = make_endpoint(tenant)
    old, new = failed_delivery(endpoint), failed_delivery(endpoint)
    long_ago = timezone.now() - timedelta(days=3)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=long_ago)
    owner = client_for(people[("A", "owner")])
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    owner.post(dev_url(tenant, f"endpoints/{endpoint.id}/replay/"), {"since": since})
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == ("failed", "pending")
    owner.post(dev_url(tenant, f"endpoints/{endpoint.id}/replay/"), {"since": "", "until": ""})
    old.refresh_from_db()
    assert old.status == "pending"


def test_replay_range_backwards_is_refused(tenant, people):
    endpoint = make_endpoint(tenant)
    response = client_for(people[("A", "owner")]).post(
        dev_url(tenant, f"endpoints/{endpoint.id}/replay/"),
        {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"},
    )
    assert response.status_code == 400
    assert 'id="replay-until-errors"' in response.content.decode()


def test_endpoints_are_hidden_without_webhooks_manage(tenant, people):
    make_endpoint(tenant)
    page = client_for(people[("A", "campaign_manager")]).get(dev_url(tenant)).content.decode()
    assert "Webhook endpoints" not in page and HOOK not in page
    assert "Senders" not in page


def test_endpoints_follow_the_mode_shown(tenant, people):
    live, test = make_endpoint(tenant), make_endpoint(tenant, test=True)
    WebhookEndpoint.objects.filter(pk=test.pk).update(url="http://127.0.0.1:9/test-hook")
    owner = client_for(people[("A", "owner")])
    assert "test-hook" not in owner.get(dev_url(tenant)).content.decode()
    owner.post(f"/w/{tenant.workspace.slug}/test-data/", {"test": "1"})
    page = owner.get(dev_url(tenant)).content.decode()
    assert "test-hook" in page and live.id not in page


# --- senders --------------------------------------------------------------------------------


def test_add_and_remove_a_sender(tenant, people):
    admin = client_for(people[("A", "admin")])
    number = next_number()
    response = admin.post(
        dev_url(tenant, "senders/"), {"number": number, "kind": "long_code", "sms_capable": "1"}
    )
    assert response.status_code == 302
    sender = Sender.objects.get(number=number, removed_at=None)
    assert sender.workspace_id == tenant.workspace.id and sender.country == "US"
    assert number in admin.get(dev_url(tenant)).content.decode()
    admin.post(dev_url(tenant, f"senders/{sender.id}/remove/"))
    sender.refresh_from_db()
    assert sender.removed_at is not None
    assert AuditEvent.objects.filter(action="sender.removed", target_id=sender.id).exists()


def test_another_workspaces_number_is_sender_in_use(tenant, other_tenant, people):
    response = client_for(people[("A", "owner")]).post(
        dev_url(tenant, "senders/"), {"number": other_tenant.sender.number, "kind": "long_code"}
    )
    assert response.status_code == 409
    assert "Use a number that is not registered anywhere else" in response.content.decode()
    assert not Sender.objects.filter(
        workspace=tenant.workspace, number=other_tenant.sender.number
    ).exists()


# --- in a real browser ----------------------------------------------------------------------

browser = pytest.mark.django_db(transaction=True)


@browser
def test_browser_token_made_on_the_page_calls_the_api(page_as, live_server, tenant, people):
    page = page_as(people[("A", "agent")])
    page.goto(dev_url(tenant))
    tokens = page.get_by_role("region", name="API tokens")
    tokens.get_by_label("Name").fill("laptop")
    tokens.get_by_label("Mode").select_option("live")
    tokens.get_by_label("messages:read", exact=True).check()
    assert tokens.get_by_label("workspace:manage").count() == 0
    tokens.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token secret").input_value()
    assert secret.startswith("tern_live_")
    assert_accessible(page)
    answer = requests.get(
        live_server.url + "/api/v1/messages",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert answer.status_code == 200
    page.goto(dev_url(tenant))
    assert page.get_by_label("Token secret").count() == 0
    row = page.get_by_role("row").filter(has_text="laptop")
    row.get_by_role("button", name="Revoke").click()
    row.get_by_role("dialog", name="Revoke").get_by_role("button", name="Confirm").click()
    page.get_by_text("revoked.").wait_for()
    again = requests.get(
        live_server.url + "/api/v1/messages",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert again.status_code == 401


@browser
def test_browser_failed_delivery_replayed_from_the_log(page_as, tenant, people):
    with Receiver([Answer(500, body=b"<b>down</b> for maintenance")]) as receiver:
        page = page_as(people[("A", "owner")])
        page.goto(dev_url(tenant))
        hooks = page.get_by_role("region", name="Webhook endpoints")
        hooks.get_by_label("URL").fill("http://169.254.169.254/latest")
        hooks.get_by_label("All events").check()
        hooks.get_by_role("button", name="Add endpoint").click()
        assert "not a public" in page.get_by_role("region", name="Webhook endpoints").inner_text()
        assert page.get_by_role("alert").inner_text().startswith("The request is malformed.")
        assert_accessible(page)
        hooks = page.get_by_role("region", name="Webhook endpoints")
        hooks.get_by_label("URL").fill(receiver.url)
        hooks.get_by_label("All events").check()
        hooks.get_by_role("button", name="Add endpoint").click()
        secret = page.get_by_role("textbox", name="Signing secret").input_value()
        assert_accessible(page)
        endpoint = WebhookEndpoint.objects.get(workspace=tenant.workspace)
        page.get_by_role("link", name=receiver.url).click()
        page.get_by_role("button", name="Send test event").click()
        page.get_by_text("Test event sent").wait_for()
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        delivery_attempt(delivery_id=delivery.id)  # the worker's attempt, in process: HTTP 500
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_retry_at=None)
        page.reload()
        row = page.get_by_role("row").filter(has_text=delivery.id)
        assert "failed" in row.inner_text() and "HTTP 500" in row.inner_text()
        row.get_by_text("Response body and attempts").click()
        assert "<b>down</b> for maintenance" in row.inner_text()  # shown as text, not markup
        assert_accessible(page)
        row.get_by_role("button", name="Replay").click()
        page.get_by_text(f"Delivery {delivery.id} queued again.").wait_for()
        delivery_attempt(delivery_id=delivery.id)  # the replay's attempt: HTTP 200
        page.reload()
        row = page.get_by_role("row").filter(has_text=delivery.id)
        assert "succeeded" in row.inner_text()
    first, second = receiver.requests
    assert first.webhook_id == second.webhook_id == delivery.event_id
    assert verify(second, secret)["type"] == "ping"


@browser
def test_browser_pages_fit_a_phone(page_as, tenant, people):
    endpoint = make_endpoint(tenant)
    failed_delivery(endpoint)
    page = page_as(people[("A", "owner")], width=390, height=800)
    for url in (dev_url(tenant), dev_url(tenant, f"endpoints/{endpoint.id}/")):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{url} scrolls sideways at phone width ({width}px)"
    assert_accessible(page)
