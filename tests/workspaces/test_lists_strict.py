"""Every list refuses a bad `limit`, a cursor Tern did not make and an invalid filter value (§0)."""

from base64 import b64encode, urlsafe_b64encode
from datetime import timedelta

import pytest
from django.utils.http import urlencode

from tests.support.factories import message_for
from tests.support.object_routes import api_routes, concrete_path
from workspaces import clock
from workspaces.api.filtering import StrictFilterSet

from ..support.envelope import assert_envelope

pytestmark = pytest.mark.django_db

BAD_LIMITS = ["-5", "0", "201", "abc", "", "1.5", "1e2", " 5", "99999999999999999999"]
CRAFTED = [
    b"p=2026-13-99",
    b"p=x",
    b"o=-5",
    b"o=abc",
    b"r=2",
    b"o=1&r=1&p=2026-01-01+00%3A00%3A00%2B00%3A00",
    b"",
    b"o=99999999",
    b"p=" + b"9" * 5000,
]


def b64(raw: bytes) -> str:
    return b64encode(raw).decode()


def crafted_cursors() -> list[str]:
    """Base64 of DRF-shaped cursors, bare strings, non-base64: none of them made by Tern."""
    cursors = [b64(raw) for raw in CRAFTED]
    cursors += [urlsafe_b64encode(raw).decode() for raw in CRAFTED]
    cursors += ["!!!", "%%%", "not-base64", "cD0yMDI2LTEzLTk5", "a.b", "x" * 300, "\u00e9"]
    return cursors


def list_paths() -> list[str]:
    """Every list route of the URLconf."""
    paths = {concrete_path(r, "x") for r in api_routes() if r.actions.get("get") == "list"}
    assert len(paths) >= 12
    return sorted(paths)


def lenient(client):
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("path", list_paths())
def test_every_list_refuses_a_bad_limit(tenant, other_tenant, path):
    """400 `validation_error` naming `limit`, never 500, never silently clamped."""
    client = lenient(tenant.client())
    for limit in BAD_LIMITS:
        response = client.get(f"{path}?{urlencode({'limit': limit})}")
        error = assert_envelope(response, 400, "validation_error")
        assert list(error["details"]) == ["limit"], (path, limit)


def test_every_list_takes_limits_from_1_to_200(tenant, other_tenant):
    client = tenant.client()
    for path in list_paths():
        for limit in ("1", "200"):
            assert client.get(path, {"limit": limit}).status_code == 200, (path, limit)


@pytest.mark.parametrize("path", list_paths())
def test_every_list_refuses_a_crafted_cursor(tenant, other_tenant, path):
    """A cursor Tern did not make is 400 naming `cursor` (was 500, or 404 when not base64)."""
    client = lenient(tenant.client())
    for cursor in crafted_cursors():
        response = client.get(f"{path}?{urlencode({'cursor': cursor})}")
        error = assert_envelope(response, 400, "validation_error")
        assert list(error["details"]) == ["cursor"], (path, cursor)


def test_next_and_previous_cursors_walk_the_list(tenant, other_tenant):
    """Tern's own cursors work both ways; edited by one character, or moved to another list, 400."""
    for _ in range(5):
        message_for(tenant.workspace, tenant.sender)
    message_for(other_tenant.workspace, other_tenant.sender)
    client = lenient(tenant.client())
    first = client.get("/api/v1/messages", {"limit": 2}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    ids = [m["id"] for page in (first, second, third) for m in page["results"]]
    assert len(ids) == len(set(ids)) == 5 and third["next"] is None
    back = client.get(third["previous"]).json()
    assert [m["id"] for m in back["results"]] == [m["id"] for m in second["results"]]
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    assert_envelope(client.get("/api/v1/messages", {"cursor": tampered}), 400, "validation_error")
    moved = client.get(f"/api/v1/events?cursor={cursor}")
    assert_envelope(moved, 400, "validation_error")


def test_unknown_query_parameters_are_ignored(tenant, other_tenant):
    client = tenant.client()
    for path in list_paths():
        assert client.get(path, {"frobnicate": "x", "page": "2"}).status_code == 200, path


BAD_FILTERS = {
    "/api/v1/messages": [
        "direction=sideways",
        "status=bogus",
        "category=spam",
        "test=maybe",
        "created_after=2026-13-99",
        "created_before=yesterday",
        "created_after=99999-01-01T00:00:00Z",
    ],
    "/api/v1/suppressions": ["active=perhaps", "scope=planet", "source=rumour"],
    "/api/v1/consents": ["action=shrug", "created_after=x"],
    "/api/v1/exports": ["status=bogus", "kind=nope"],
    "/api/v1/audit-events": ["created_after=not-a-date", "created_before=2026-02-30"],
    "/api/v1/webhook-deliveries": ["status=bogus", "created_after=x"],
    "/api/v1/events": ["type=message.exploded", "created_before=x"],
    "/api/v1/contacts": ["created_after=2026-00-01"],
    "/api/v1/contact-imports": ["status=bogus"],
}


def test_invalid_filter_values_are_400_naming_the_parameter(tenant, other_tenant):
    client = lenient(tenant.client())
    for path, queries in BAD_FILTERS.items():
        for query in queries:
            name = query.split("=")[0]
            response = client.get(f"{path}?{query}")
            if name == "created_after" and path == "/api/v1/consents":
                continue  # consents take no date filter: an unknown parameter, ignored
            error = assert_envelope(response, 400, "validation_error")
            assert name in error["details"], (path, query, error)
            assert name in error["message"]


def test_valid_filter_values_still_filter(tenant, other_tenant):
    """The strict filters still do their job; the second workspace stays out."""
    message_for(tenant.workspace, tenant.sender)
    message_for(other_tenant.workspace, other_tenant.sender)
    client = tenant.client()
    since = clock.isoformat(clock.now() - timedelta(hours=1))
    listed = client.get(
        "/api/v1/messages", {"direction": "outbound", "test": "false", "created_after": since}
    ).json()
    assert len(listed["results"]) == 1
    assert client.get("/api/v1/messages", {"direction": "inbound"}).json()["results"] == []
    assert client.get("/api/v1/messages", {"test": "true"}).json()["results"] == []
    assert (
        client.get("/api/v1/suppressions", {"active": "true", "scope": "workspace"}).status_code
        == 200
    )


def test_the_message_filter_error_names_from_not_from_(tenant):
    error = lenient(tenant.client()).get("/api/v1/messages?from=%2B1&status=nope").json()["error"]
    assert set(error["details"]) == {"status"}


def test_every_list_filterset_is_strict():
    """A list view's FilterSet derives from StrictFilterSet (the backend refuses any other)."""
    for route in api_routes():
        filterset_class = getattr(route.view_class, "filterset_class", None)
        if filterset_class is not None:
            assert issubclass(filterset_class, StrictFilterSet), route.view_class


DATED_LISTS = [
    "/api/v1/messages",
    "/api/v1/contacts",
    "/api/v1/events",
    "/api/v1/audit-events",
    "/api/v1/webhook-deliveries",
]


@pytest.mark.parametrize("path", DATED_LISTS)
def test_dates_with_any_offset_are_compared_in_utc(tenant, other_tenant, path):
    """Offsets PostgreSQL cannot store (past ±15:59) are read in UTC, not a 500."""
    client = lenient(tenant.client())
    for moment in ["0110-05-18T05:46:57.08+21:57", "2026-01-01T00:00:00-23:59"]:
        for name in ("created_after", "created_before"):
            if name == "created_before" and path == "/api/v1/contacts":
                continue  # contacts filter on created_after only
            assert client.get(path, {name: moment}).status_code == 200, (path, name, moment)


def test_dates_whose_utc_form_leaves_the_calendar_are_400(tenant):
    error = assert_envelope(
        lenient(tenant.client()).get("/api/v1/messages?created_after=0001-01-01T00:00:00%2B05:00"),
        400,
        "validation_error",
    )
    assert "created_after" in error["details"]


def test_consents_do_not_take_suppression_filters(tenant, other_tenant):
    """`?source=` is a suppression filter; on consents it is an unknown parameter (ignored)."""
    assert tenant.client().get("/api/v1/consents", {"source": "api"}).status_code == 200
    assert tenant.client().get("/api/v1/consents", {"campaign": "cmp_x"}).status_code == 200
