"""No 5xx from any input at the request edge: OPTIONS, JSON bodies, NUL, CSRF, unknown routes."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from messaging.models import Message
from tests.support.object_routes import api_routes, concrete_path
from workspaces.api.parsers import MAX_JSON_DEPTH

from ..support.envelope import assert_envelope

pytestmark = pytest.mark.django_db

HOOKS = ("/hooks/simulator/inbound", "/hooks/twilio/status", "/hooks/twilio/inbound")
A_PK = "msg_" + "0" * 26
METHODS = ("get", "post", "put", "patch", "delete")


def lenient(client):
    """A client that returns the 500 instead of raising it, as a real server would."""
    client.raise_request_exception = False
    return client


def call(client, method: str, path: str):
    """One request; writes carry an empty JSON object."""
    if method in ("get", "head", "options"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, "{}", content_type="application/json")


def all_paths():
    """Every API route of the URLconf (ids filled in) and every provider hook."""
    return sorted({concrete_path(route, A_PK) for route in api_routes()} | set(HOOKS))


# --- OPTIONS ------------------------------------------------------------------------------------


def test_options_on_every_route_is_200_or_405_with_or_without_a_token(tenant, other_tenant):
    """CONTRACT §3: never 401 or 5xx, with a good token, a bad one or none."""
    bad = lenient(APIClient())
    bad.credentials(HTTP_AUTHORIZATION="Bearer tern_live_nope")
    clients = {
        "token": lenient(tenant.client()),
        "none": lenient(APIClient()),
        "bad": bad,
        "other": lenient(other_tenant.client("viewer")),
    }
    paths = all_paths()
    assert len(paths) > 30
    for path in paths:
        for name, client in clients.items():
            response = client.options(path)
            assert response.status_code in (200, 405), (path, name, response.content)
            if response.status_code == 405:
                assert_envelope(response, 405, "method_not_allowed")


def test_options_lists_the_routes_methods(tenant):
    """The answer names the methods the route takes; it describes, it does not act."""
    body = APIClient().options("/api/v1/messages").json()
    assert {"GET", "POST", "OPTIONS"} <= set(body["methods"])
    assert Message.objects.count() == 0


# --- JSON bodies --------------------------------------------------------------------------------

BAD_BODIES = {
    "lone_high_surrogate": '{"name": "a\\ud800b"}',
    "lone_low_surrogate": '{"name": "\\udc00"}',
    "surrogate_in_key": '{"help_text": "x", "metadata": {"\\ud83d": 1}}',
    "reversed_pair": '{"name": "\\ude00\\ud83d"}',
    "nul_in_string": '{"name": "a\\u0000b"}',
    "nul_in_key": '{"a\\u0000": 1}',
    "nul_deep": '{"x": [[{"y": ["\\u0000"]}]]}',
    "nan": '{"name": NaN}',
    "infinity": '{"spend_limit": Infinity}',
    "minus_infinity": '{"spend_limit": -Infinity}',
    "overflowing_float": '{"spend_limit": 1e999}',
    "huge_int": '{"rate_limit_per_second": ' + "9" * 30 + "}",
    "very_deep": "[" * 5000 + "]" * 5000,
    "just_too_deep": "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
    "deep_object": '{"a":' * 3000 + "1" + "}" * 3000,
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
@pytest.mark.parametrize(
    "method,path",
    [
        ("patch", "/api/v1/workspace"),
        ("post", "/api/v1/messages"),
        ("post", "/api/v1/messages/batch"),
        ("post", "/api/v1/contacts"),
        ("post", "/hooks/simulator/inbound"),
    ],
)
def test_bad_json_is_400_with_words(tenant, other_tenant, name, method, path):
    """Lone surrogates, NUL, non-finite numbers, deep nesting: 400, nothing written."""
    client = lenient(tenant.client())
    response = getattr(client, method)(path, BAD_BODIES[name], content_type="application/json")
    error = assert_envelope(response, 400, "validation_error")
    assert error["message"].startswith("The JSON body was refused:")
    assert error["details"]["body"]
    assert Message.objects.count() == 0


def test_the_depth_limit_is_named_and_exactly_enforced(tenant):
    """MAX_JSON_DEPTH levels pass the parser; one more is refused, naming the limit."""
    client = tenant.client()
    ok = {
        "help_text": "x",
        "x": json.loads("[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)),
    }
    assert client.patch("/api/v1/workspace", ok, format="json").status_code == 200
    too_deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    error = client.patch("/api/v1/workspace", too_deep, content_type="application/json").json()
    assert str(MAX_JSON_DEPTH) in error["error"]["message"]


def test_valid_unicode_still_passes(tenant, other_tenant):
    """A real surrogate pair (an emoji) and non-ASCII text are fine, in keys and values."""
    client = tenant.client()
    body = json.dumps(
        {
            "to": "+14155550100",
            "from": tenant.sender.number,
            "body": "hi 😀 é",
            "metadata": {"ключ": "✓"},
        }
    )
    assert "\\ud83d\\ude00" in body  # json.dumps sends the pair as two escapes
    response = client.post("/api/v1/messages", body, content_type="application/json")
    assert response.status_code == 202, response.content
    assert response.json()["body"] == "hi 😀 é"
    assert response.json()["metadata"] == {"ключ": "✓"}


def test_invalid_utf8_body_is_400(tenant):
    """Bytes that are not UTF-8 are refused with words, not parsed as something else."""
    response = lenient(tenant.client()).patch(
        "/api/v1/workspace", b'{"name": "\xff\xfe"}', content_type="application/json"
    )
    error = assert_envelope(response, 400, "validation_error")
    assert "UTF-8" in error["message"]


@pytest.mark.parametrize(
    "body", ["[]", '[{"from": "+1", "to": "+2", "body": "x"}]', '"x"', "7", "null", "true"]
)
def test_simulator_hook_refuses_a_body_that_is_not_an_object(anon, body):
    """An array, string, number… to /hooks/simulator/inbound is 400, not 500."""
    response = lenient(anon).post("/hooks/simulator/inbound", body, content_type="application/json")
    assert_envelope(response, 400, "validation_error")


@pytest.mark.parametrize("body", ["[]", '"x"', "7", "null"])
def test_api_writes_refuse_a_body_that_is_not_an_object(tenant, body):
    """The same for the API's writes."""
    client = lenient(tenant.client())
    for path in ("/api/v1/messages", "/api/v1/contacts", "/api/v1/messages/batch"):
        response = client.post(path, body, content_type="application/json")
        assert_envelope(response, 400, "validation_error")


# --- NUL outside JSON ---------------------------------------------------------------------------


def test_nul_in_query_string_is_400_naming_the_parameter(tenant, other_tenant):
    """`?to=%00` (any list, any parameter, known or not) → 400 before the database sees it."""
    client = lenient(tenant.client())
    urls = [
        "/api/v1/messages?to=%2B1%00",
        "/api/v1/contacts?phone=%00",
        "/api/v1/suppressions?unknown=a%00b",
        "/api/v1/audit-events?action=%00",
    ]
    for url in urls:
        error = assert_envelope(client.get(url), 400, "validation_error")
        assert error["details"]


def test_nul_in_path_and_headers_is_400(tenant):
    """A NUL in the path (e.g. a number lookup) or an Idempotency-Key header."""
    client = lenient(tenant.client())
    assert_envelope(client.get("/api/v1/numbers/%2B1415%00"), 400, "validation_error")
    response = client.post(
        "/api/v1/messages",
        {"to": "+14155550100", "body": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k\x00",
    )
    assert_envelope(response, 400, "validation_error")
    assert Message.objects.count() == 0


def test_nul_in_form_fields_is_400(anon, settings):
    """Twilio's hooks take form fields: a NUL in one is refused before the signature check."""
    settings.TWILIO_AUTH_TOKEN = "secret"
    for path in ("/hooks/twilio/status", "/hooks/twilio/inbound"):
        response = lenient(anon).post(path, {"MessageSid": "SM1\x00", "From": "+1", "To": "+2"})
        error = assert_envelope(response, 400, "validation_error")
        assert "MessageSid" in error["details"]


def test_nul_in_a_multipart_field_is_400(tenant):
    """A contact import's `tags` field with a NUL: 400, no import made."""
    from io import BytesIO

    upload = BytesIO(b"phone\n+14155550100\n")
    upload.name = "c.csv"
    response = lenient(tenant.client()).post(
        "/api/v1/contact-imports", {"file": upload, "tags": "a\x00b"}, format="multipart"
    )
    assert_envelope(response, 400, "validation_error")


# --- unknown routes, CSRF, wrong methods ---------------------------------------------------------


@pytest.mark.parametrize("method", (*METHODS, "options", "head"))
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing",
        "/api/v1/messages/",
        "/api/v1/",
        "/api/nothing",
        "/hooks/nothing",
        "/hooks/simulator/inbound/",
        "/api/v1/messages/msg_x/cancel/",
    ],
)
def test_unknown_routes_answer_404_envelope_for_every_method(tenant, method, path):
    """With CSRF enforced as a browser would meet it, and with or without a token."""
    for client in (Client(enforce_csrf_checks=True), tenant.client()):
        client.raise_request_exception = False
        response = call(client, method, path)
        assert response.status_code == 404, (method, path, response.content)
        if method != "head":
            assert_envelope(response, 404, "not_found")


def test_api_writes_need_no_csrf_token(tenant, other_tenant):
    """Bearer-token writes through a CSRF-enforcing client work as before."""
    client = Client(
        enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {tenant.secrets[('owner', 'live')]}"
    )
    body = {"to": "+14155550100", "from": tenant.sender.number, "body": "hi"}
    response = client.post("/api/v1/messages", body, content_type="application/json")
    assert response.status_code == 202, response.content


def test_admin_forms_keep_csrf_protection(admin_user):
    """The admin (cookie sessions) still refuses a POST without a CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/admin/logout/")
    assert response.status_code == 403
    assert "text/html" in response["Content-Type"]


def test_wrong_method_on_hooks_is_405_envelope(anon):
    """GET /hooks/simulator/inbound was a bare 405 from a decorator."""
    for path in HOOKS:
        response = lenient(anon).get(path)
        error = assert_envelope(response, 405, "method_not_allowed")
        assert error and "POST" in response["Allow"]


@pytest.mark.parametrize("method", METHODS)
def test_every_known_route_answers_json_for_every_method(tenant, method):
    """Whatever the method, a route answers JSON: its result, 404 for a missing id, or 405."""
    client = lenient(tenant.client())
    for path in all_paths():
        response = call(client, method, path)
        assert response.status_code < 500, (method, path, response.content)
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json"), (method, path)


# --- send_at ------------------------------------------------------------------------------------


def test_send_at_more_than_35_days_ahead_is_400(tenant, other_tenant):
    """CONTRACT §4: at most 35 days ahead, for one message and for each batch item."""
    client = tenant.client()
    far = (datetime.now(UTC) + timedelta(days=35, minutes=5)).isoformat()
    response = client.post(
        "/api/v1/messages", {"to": "+14155550100", "body": "x", "send_at": far}, format="json"
    )
    error = assert_envelope(response, 400, "validation_error")
    assert "35 days" in error["details"]["send_at"][0]
    batch = client.post(
        "/api/v1/messages/batch",
        {
            "messages": [
                {"to": "+14155550100", "body": "x", "send_at": far},
                {"to": "+14155550101", "body": "y", "send_at": "9999-12-31T23:59:59Z"},
            ]
        },
        format="json",
    )
    assert batch.status_code == 200
    assert [r["error"]["code"] for r in batch.json()["results"]] == ["validation_error"] * 2
    assert Message.objects.count() == 0


def test_campaign_send_at_more_than_35_days_ahead_is_400(tenant, other_tenant):
    """The same bound for a campaign's `send_at`."""
    far = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    response = tenant.client().post(
        "/api/v1/campaigns",
        {
            "name": "c",
            "body": "hi",
            "audience": {"all": True},
            "from": tenant.sender.number,
            "send_at": far,
        },
        format="json",
    )
    error = assert_envelope(response, 400, "validation_error")
    assert "send_at" in error["details"]
