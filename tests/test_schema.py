"""The OpenAPI schema is a contract a client generator can trust: generated without a warning,
valid, typed, secured by the bearer scheme, and documenting every status a route answers."""

import json

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

ERROR_STATUSES_EVERYWHERE = {"401", "403", "404", "429", "500"}


@pytest.fixture(scope="module")
def schema() -> dict:
    """The schema as /api/v1/schema/ serves it."""
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _nodes(node, where="#"):
    """Every schema object under `node`, with where it is."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nodes(value, f"{where}/{i}")


def test_schema_generates_without_warnings_and_validates(tmp_path):
    """`manage.py spectacular --fail-on-warn --validate`: any warning or error fails."""
    out = tmp_path / "schema.json"
    call_command(
        "spectacular", "--fail-on-warn", "--validate", "--format", "openapi-json", "--file", out
    )
    assert json.loads(out.read_text())["paths"]


def test_every_operation_uses_the_bearer_scheme(schema):
    """`Authorization: Bearer tern_live_…` is the one scheme; "Try it out" sends it."""
    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tern_live_… or tern_test_…",
            "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
        }
    }
    for path, method, operation in _operations(schema):
        assert operation["security"] == [{"bearerAuth": []}], (method, path)


def test_hooks_and_health_are_not_in_the_schema(schema):
    """Provider hooks and /healthz are not part of the client API."""
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_every_operation_documents_its_error_statuses(schema):
    """401/403/404/429/500 everywhere; 400 wherever a body or a query parameter is read."""
    for path, method, operation in _operations(schema):
        statuses = set(operation["responses"])
        assert statuses >= ERROR_STATUSES_EVERYWHERE, (method, path)
        assert "204" not in statuses, (method, path)
        reads_input = "requestBody" in operation or any(
            p["in"] in ("query", "header") for p in operation.get("parameters", ())
        )
        if reads_input:
            assert "400" in statuses, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= statuses, (method, path)


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/api/v1/messages", {"202", "402", "409", "422"}),
        ("post", "/api/v1/campaigns/{id}/launch", {"200", "402", "409", "422"}),
        ("post", "/api/v1/campaigns/{id}/pause", {"200", "409"}),
        ("patch", "/api/v1/campaigns/{id}", {"200", "409"}),
        ("post", "/api/v1/campaigns", {"201"}),
        ("post", "/api/v1/contact-imports", {"202"}),
        ("post", "/api/v1/templates/{id}/preview", {"200", "400", "422"}),
        ("post", "/api/v1/suppressions", {"200", "201"}),
        ("delete", "/api/v1/contacts/{id}", {"200"}),
        ("post", "/api/v1/senders", {"201", "409"}),
        ("get", "/api/v1/exports/{id}/download", {"200", "409"}),
    ],
)
def test_routes_document_what_their_code_answers(schema, method, path, statuses):
    """The statuses each view really answers with (read from its code) are documented."""
    assert statuses <= set(schema["paths"][path][method]["responses"])


def test_list_parameters_are_typed(schema):
    """`limit` is 1–200, `from` is named as clients send it, enum filters list their values."""
    messages = {p["name"]: p for p in schema["paths"]["/api/v1/messages"]["get"]["parameters"]}
    assert messages["limit"]["schema"]["minimum"] == 1
    assert messages["limit"]["schema"]["maximum"] == 200
    assert "from" in messages and "from_" not in messages
    assert "enum" in messages["status"]["schema"]


TYPED_RESPONSES = [
    "/api/v1/campaigns",
    "/api/v1/campaigns/{id}",
    "/api/v1/contacts",
    "/api/v1/contacts/{id}",
    "/api/v1/templates",
    "/api/v1/templates/{id}",
    "/api/v1/contact-imports",
    "/api/v1/contact-imports/{id}",
    "/api/v1/messages",
    "/api/v1/messages/{id}",
]


def _component(schema, node) -> dict:
    """The component a `$ref` names; a page's is the one of its results."""
    component = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    results = component["properties"].get("results")
    if set(component["properties"]) == {"next", "previous", "results"}:
        return _component(schema, results["items"])
    return component


@pytest.mark.parametrize("path", TYPED_RESPONSES)
def test_resources_are_typed_not_free_form(schema, path):
    """Each 2xx body of these routes is a component whose fields all have a type."""
    for method, operation in schema["paths"][path].items():
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                body = response["content"]["application/json"]["schema"]
                properties = _component(schema, body)["properties"]
                for field, spec in properties.items():
                    typed = spec.get("type") or "$ref" in spec or "allOf" in spec
                    assert typed, (method, path, field)


def test_no_free_form_object_where_the_contract_has_a_shape(schema):
    """Objects without properties are only the user's own data or per-type details."""
    free_form_allowed = {
        "metadata",  # the client's own JSON, echoed
        "attributes",  # the contact's own fields
        "details",  # the error envelope's: per error code
        "detail",  # a timeline step's: per event
        "data",  # an event's payload: per event type
        "manifest",  # an export's: per kind
        "skipped",  # code → count
        "headers",  # a provider exchange's: header name → value (CONTRACT §13)
    }
    for where, node in _nodes(schema["components"]["schemas"]):
        if node.get("type") == "object" and "properties" not in node:
            assert where.rsplit("/", 1)[1] in free_form_allowed, where


def test_rate_limit_and_auth_errors_document_their_headers(schema):
    """429 says how long to wait (Retry-After); 401 names the scheme (WWW-Authenticate)."""
    for path, method, operation in _operations(schema):
        assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], (method, path)
