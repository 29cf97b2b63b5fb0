"""One catalogue, one envelope: every error of the API, DRF's and Django's included."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from workspaces.errors import CATALOGUE, catalogue_markdown

from ..support.envelope import RETRY_HINTS, assert_envelope

pytestmark = pytest.mark.django_db

CONTRACT_CODES = {
    "unauthorized",
    "forbidden",
    "invalid_signature",
    "not_found",
    "method_not_allowed",
    "unsupported_media_type",
    "payload_too_large",
    "validation_error",
    "invalid_number",
    "same_to_from",
    "sender_not_sms_capable",
    "toll_free_not_verified",
    "unsupported_region",
    "recipient_not_verified",
    "workspace_suppressed",
    "campaign_suppressed",
    "consent_required",
    "content_blocked",
    "message_too_long",
    "duplicate_message",
    "idempotency_conflict",
    "invalid_state",
    "sender_in_use",
    "spend_limit_exceeded",
    "rate_limited",
    "internal_error",
    "provider_unavailable",
    "unreachable_handset",
    "unknown_delivery_error",
    "unknown_number",
    "landline_or_unreachable_carrier",
    "carrier_opted_out",
    "carrier_filtered",
    "unknown_outcome",
    "provider_rejected",
}


def test_catalogue_holds_every_contract_code_with_a_fix():
    """Each code of CONTRACT §3 is in the catalogue with a message, fix and retry hint."""
    assert set(CATALOGUE) >= CONTRACT_CODES
    for entry in CATALOGUE.values():
        assert entry.message and entry.fix and entry.retry in RETRY_HINTS


def test_delivery_classes_match_the_contract():
    """suppress / review / retry as CONTRACT §3's delivery table fixes them."""
    classes = {code: CATALOGUE[code].delivery_class for code in CATALOGUE}
    assert {c for c, k in classes.items() if k == "suppress"} == {
        "unknown_number",
        "landline_or_unreachable_carrier",
        "carrier_opted_out",
    }
    assert {c for c, k in classes.items() if k == "review"} == {
        "carrier_filtered",
        "toll_free_not_verified",
        "unknown_outcome",
        "provider_rejected",
    }


def test_readme_error_page_is_generated_from_the_catalogue():
    """The README's table is exactly what `error_catalogue` prints (regenerate with --readme)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = re.search(r"<!-- errors:start -->\n(.*)<!-- errors:end -->", readme, re.S)
    assert section and section.group(1) == catalogue_markdown()


def test_unknown_api_route_is_404_envelope(anon):
    """Unknown routes under /api/ answer the envelope, not an HTML page."""
    assert_envelope(anon.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_envelope(tenant):
    """PUT where only GET and PATCH exist."""
    assert_envelope(
        tenant.client().put("/api/v1/workspace", {}, format="json"), 405, "method_not_allowed"
    )


def test_wrong_media_type_is_415_envelope(tenant):
    """A text/plain body on a JSON route."""
    response = tenant.client().patch("/api/v1/workspace", "x", content_type="text/plain")
    assert_envelope(response, 415, "unsupported_media_type")


def test_malformed_json_is_400_envelope(tenant):
    """A body that is not JSON at all."""
    response = tenant.client().patch("/api/v1/workspace", "{nope", content_type="application/json")
    assert_envelope(response, 400, "validation_error")


def test_oversized_body_is_413_envelope(tenant, settings):
    """Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE are refused before they are read."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = tenant.client().patch("/api/v1/workspace", {"help_text": "x" * 200}, format="json")
    assert_envelope(response, 413, "payload_too_large")


@pytest.mark.urls("tests.support.boom_urls")
def test_unexpected_error_is_500_envelope_without_leaking(tenant, caplog):
    """An exception becomes internal_error with the request id; the message is logged only."""
    response = tenant.client("viewer").get("/api/v1/boom", HTTP_X_REQUEST_ID="trace-123")
    error = assert_envelope(response, 500, "internal_error")
    assert error["details"] == {"request_id": "trace-123"}
    assert "kaboom" not in response.content.decode()
    assert any("trace-123" in r.getMessage() for r in caplog.records)


def test_request_id_is_echoed_or_minted(anon):
    """A sane client id is echoed; otherwise one is minted; health answers carry it too."""
    assert anon.get("/healthz", HTTP_X_REQUEST_ID="abc-1")["X-Request-Id"] == "abc-1"
    minted = anon.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-Id"]
    assert minted.startswith("req_")


def test_error_catalogue_command_prints_the_table(capsys):
    """The command is the one source of the README page."""
    call_command("error_catalogue")
    assert capsys.readouterr().out == catalogue_markdown()
