"""The audit log: concurrent appends, the database's guards, tamper detection, API, tenancy."""

import itertools
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from rest_framework.test import APIClient

from tests.support.factories import WorkspaceFactory, token_for
from workspaces import audit, clock
from workspaces.audit import Actor, audit_record, verify_chain
from workspaces.models import ApiToken, AuditChainHead, AuditEvent, Workspace
from workspaces.services import token_actor

TABLE = AuditEvent._meta.db_table
EVENT_FIELDS = {
    "id",
    "seq",
    "action",
    "actor",
    "target",
    "reason",
    "before",
    "after",
    "ip",
    "created_at",
    "prev_hash",
    "hash",
}
THREADS, PER_THREAD = 20, 5


def append(workspace, n: int, action: str = "test.event") -> list[AuditEvent]:
    """Append n events to the workspace's chain, each in its own transaction."""
    events = []
    for i in range(n):
        with transaction.atomic():
            events.append(
                audit_record(
                    workspace=workspace, actor=Actor.system(), action=action, reason=f"r{i}"
                )
            )
    return events


def chain(workspace) -> list[AuditEvent]:
    """The workspace's events in chain order."""
    return list(AuditEvent.objects.for_workspace(workspace).order_by("seq"))


def execute(sql: str, params=()) -> None:
    """Run one raw statement."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def unguarded(db):
    """The append-only triggers dropped for one test, so the chain itself must catch tampering."""
    audit.remove_guards()
    try:
        yield
    finally:
        audit.install_guards()


@pytest.fixture
def workspace(db):
    """A workspace whose chain holds its creation event and five more."""
    ws = WorkspaceFactory()
    append(ws, 5)
    return ws


# --- Concurrency ---------------------------------------------------------------------------------


def _append_from_thread(workspace_id, barrier, errors) -> None:
    try:
        barrier.wait(timeout=30)
        for i in range(PER_THREAD):
            with transaction.atomic():
                audit_record(
                    workspace=workspace_id, actor=Actor.system(), action="t", reason=f"{i}"
                )
    except Exception as exc:
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_append_one_unbroken_chain():
    """20 threads appending to one workspace leave seq 1..N unbroken, verified, head == N."""
    ws = WorkspaceFactory()
    barrier, errors = threading.Barrier(THREADS), []
    threads = [
        threading.Thread(target=_append_from_thread, args=(ws.pk, barrier, errors))
        for _ in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    total = 1 + THREADS * PER_THREAD  # + workspace.created
    assert [e.seq for e in chain(ws)] == list(range(1, total + 1))
    report = verify_chain(ws.pk)
    assert (report.ok, report.count) == (True, total)
    head = AuditChainHead.objects.get(workspace=ws)
    assert (head.count, head.head_hash) == (total, chain(ws)[-1].hash)


def test_append_links_to_previous_hash(workspace):
    """Each event's prev_hash is the previous event's hash; the first links to genesis."""
    events = chain(workspace)
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


def test_append_rolls_back_with_its_transaction(workspace):
    """An event written in a transaction that rolls back leaves neither event nor head."""
    before = AuditChainHead.objects.get(workspace=workspace).count
    with pytest.raises(RuntimeError, match="roll back"), transaction.atomic():
        audit_record(workspace=workspace, actor=Actor.system(), action="lost")
        raise RuntimeError("roll back")
    assert not AuditEvent.objects.for_workspace(workspace).filter(action="lost").exists()
    assert AuditChainHead.objects.get(workspace=workspace).count == before
    assert verify_chain(workspace.pk).ok


def test_non_text_values_still_verify(workspace):
    """A reason or target id given as a number is hashed as the text the database keeps."""
    with transaction.atomic():
        audit_record(workspace=workspace, actor=Actor.system(), action="n", reason=7, target_id=42)
    stored = chain(workspace)[-1]
    assert (stored.reason, stored.target_id) == ("7", "42")
    assert verify_chain(workspace.pk).ok


# --- The database's guards -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET reason = 'forged' WHERE workspace_id = %s",
        f"DELETE FROM {TABLE} WHERE workspace_id = %s",
    ],
    ids=["update", "delete"],
)
def test_database_refuses_update_and_delete(workspace, sql):
    """Raw UPDATE and DELETE on the audit table are refused by the database itself."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute(sql, [workspace.pk])
    assert [e.reason for e in chain(workspace)][1:] == [f"r{i}" for i in range(5)]


def test_database_refuses_orm_update_and_delete(workspace):
    """The ORM's bulk update and delete hit the same triggers."""
    events = AuditEvent.objects.for_workspace(workspace)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        events.update(reason="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        events.delete()
    assert events.count() == 6 and not events.filter(reason="forged").exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_database_refuses_truncate(workspace):
    """TRUNCATE is refused on PostgreSQL (SQLite has none; its DELETE FROM is refused above)."""
    # Committed rows: inside the test's own transaction PostgreSQL would refuse TRUNCATE anyway
    # (pending deferred FK checks), which would prove nothing about the trigger.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute(f"TRUNCATE {TABLE} CASCADE")
    assert AuditEvent.objects.for_workspace(workspace).count() == 6


# --- Tampering, with the guards down -------------------------------------------------------------


def test_intact_chain_verifies(workspace):
    """An untouched chain is ok and counts every event."""
    report = verify_chain(workspace.pk)
    assert (report.ok, report.count, report.broken_event_id) == (True, 6, None)


def test_edited_field_names_the_first_edited_event(workspace, unguarded):
    """Editing reason of events 3 and 5 names event 3, the first one broken."""
    events = chain(workspace)
    for k in (2, 4):
        execute(f"UPDATE {TABLE} SET reason = 'forged' WHERE id = %s", [events[k].id])
    report = verify_chain(workspace.pk)
    assert (report.ok, report.broken_event_id, report.count) == (False, events[2].id, 2)
    assert "hash" in report.problem


def test_edited_json_field_is_caught(workspace, unguarded):
    """Changing `after` on an event breaks its hash."""
    events = chain(workspace)
    execute(f"UPDATE {TABLE} SET after = %s WHERE id = %s", ['{"x": 1}', events[0].id])
    assert verify_chain(workspace.pk).broken_event_id == events[0].id


def test_deleted_middle_event_names_its_successor(workspace, unguarded):
    """Deleting event 3 names event 4, whose sequence no longer follows."""
    events = chain(workspace)
    execute(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].id])
    report = verify_chain(workspace.pk)
    assert (report.ok, report.broken_event_id) == (False, events[3].id)
    assert "sequence" in report.problem


def test_reordered_events_name_the_first_out_of_place(workspace, unguarded):
    """Swapping the seq of events 3 and 4 names event 4, which now sits third."""
    events = chain(workspace)
    a, b = events[2], events[3]
    set_seq = f"UPDATE {TABLE} SET seq = %s WHERE id = %s"
    execute(set_seq, [10**9, a.id])  # a temporary seq: (workspace, seq) is unique
    execute(set_seq, [a.seq, b.id])
    execute(set_seq, [b.seq, a.id])
    report = verify_chain(workspace.pk)
    assert (report.ok, report.broken_event_id) == (False, b.id)


def test_truncated_tail_names_the_missing_head(workspace, unguarded):
    """Deleting the last two events fails, naming the head's event and the missing seqs."""
    events = chain(workspace)
    execute(f"DELETE FROM {TABLE} WHERE id IN (%s, %s)", [events[-1].id, events[-2].id])
    report = verify_chain(workspace.pk)
    assert (report.ok, report.count, report.broken_event_id) == (False, 4, events[-1].id)
    assert "5-6" in report.problem


def test_truncated_last_event_is_named(workspace, unguarded):
    """Deleting only the last event names exactly that event."""
    last = chain(workspace)[-1]
    execute(f"DELETE FROM {TABLE} WHERE id = %s", [last.id])
    assert verify_chain(workspace.pk).broken_event_id == last.id


def test_forged_event_beyond_the_head_is_caught(workspace):
    """An event inserted past the head, not through audit_record, breaks the chain."""
    last = chain(workspace)[-1]
    forged = AuditEvent(workspace=workspace, seq=last.seq + 1, actor_type="system", action="forged")
    forged.created_at, forged.prev_hash = clock.now(), last.hash
    forged.hash = audit.event_hash(forged)
    forged.save(force_insert=True)
    report = verify_chain(workspace.pk)
    assert (report.ok, report.broken_event_id) == (False, forged.id)


def test_append_during_verification_is_not_a_break(workspace, monkeypatch):
    """An event committed between reading the head and walking the chain is not a forgery."""
    manager, original, appended = AuditEvent.objects, AuditEvent.objects.for_workspace, []

    def append_then_query(ws):
        if not appended:  # once, right after the head was read
            appended.extend(append(workspace, 1))
        return original(ws)

    monkeypatch.setattr(manager, "for_workspace", append_then_query, raising=False)
    report = verify_chain(workspace.pk)
    monkeypatch.undo()
    assert (report.ok, report.count) == (True, 6)
    assert verify_chain(workspace.pk).count == 7


# --- Tenancy -------------------------------------------------------------------------------------


def test_other_workspace_events_never_count(workspace):
    """B's events neither count in A's chain nor break it, even when B's chain is tampered."""
    other = WorkspaceFactory()
    append(other, 9)
    assert verify_chain(workspace.pk).count == 6
    assert verify_chain(other.pk).count == 10
    audit.remove_guards()
    try:
        execute(f"UPDATE {TABLE} SET reason = 'x' WHERE workspace_id = %s", [other.pk])
    finally:
        audit.install_guards()
    assert not verify_chain(other.pk).ok
    assert verify_chain(workspace.pk).ok


def test_each_workspace_chain_starts_at_one(workspace):
    """Appends to B do not advance A's sequence."""
    other = WorkspaceFactory()
    append(other, 3)
    (event,) = append(workspace, 1)
    assert event.seq == 7
    assert event.prev_hash == chain(workspace)[-2].hash


# --- The management command -----------------------------------------------------------------------


def test_command_reports_intact_chain(workspace):
    """`verify_audit_chain --workspace SLUG` says ok, with the count, and exits 0."""
    out = StringIO()
    call_command("verify_audit_chain", workspace=workspace.slug, stdout=out)
    assert out.getvalue().strip() == f"ok {workspace.slug}: 6 events"


def test_command_fails_naming_broken_event(workspace, unguarded):
    """A tampered chain makes the command exit non-zero and name the first broken event."""
    broken = chain(workspace)[3]
    execute(f"UPDATE {TABLE} SET reason = 'forged' WHERE id = %s", [broken.id])
    out = StringIO()
    with pytest.raises(CommandError, match=f"audit chain broken at {broken.id}") as failure:
        call_command("verify_audit_chain", "--workspace", workspace.slug, stdout=out)
    assert failure.value.returncode == 1
    assert broken.id in str(failure.value)
    assert f"BROKEN {workspace.slug}: first broken event {broken.id}" in out.getvalue()


def test_command_checks_only_the_named_workspace(workspace, unguarded):
    """A broken chain elsewhere does not fail the command for an intact workspace."""
    other = WorkspaceFactory()
    execute(f"UPDATE {TABLE} SET reason = 'x' WHERE workspace_id = %s", [other.pk])
    out = StringIO()
    call_command("verify_audit_chain", workspace=workspace.slug, stdout=out)
    assert out.getvalue().startswith(f"ok {workspace.slug}")
    first_broken = verify_chain(other.pk).broken_event_id
    assert first_broken and verify_chain(workspace.pk).ok
    everything = StringIO()
    with pytest.raises(CommandError, match=f"audit chain broken at {first_broken}$"):
        call_command("verify_audit_chain", stdout=everything)  # every workspace: other's fails
    assert f"ok {workspace.slug}: 6 events" in everything.getvalue()
    assert f"BROKEN {other.slug}: first broken event {first_broken}" in everything.getvalue()


def test_command_rejects_unknown_slug(db):
    """An unknown slug is an error, not a silent ok."""
    with pytest.raises(CommandError, match="no workspace"):
        call_command("verify_audit_chain", workspace="no-such-workspace", stdout=StringIO())


# --- The API -------------------------------------------------------------------------------------

URL = "/api/v1/audit-events"


def test_list_shows_only_this_workspace_newest_first(tenant, other_tenant):
    """The list holds exactly A's events, newest first, with every contract field."""
    append(other_tenant.workspace, 2)
    results = tenant.client("viewer").get(URL).json()["results"]
    ours = AuditEvent.objects.for_workspace(tenant.workspace)
    assert {r["id"] for r in results} == set(ours.values_list("id", flat=True))
    assert [r["seq"] for r in results] == sorted((r["seq"] for r in results), reverse=True)
    assert all(set(r) == EVENT_FIELDS for r in results)


def test_list_renders_chain_fields(tenant):
    """prev_hash, hash, actor and target read back as stored."""
    newest = chain(tenant.workspace)[-1]
    first = tenant.client("viewer").get(URL).json()["results"][0]
    assert (first["id"], first["hash"], first["prev_hash"]) == (
        newest.id,
        newest.hash,
        newest.prev_hash,
    )
    assert first["actor"] == {"type": "user", "id": newest.actor_id, "label": newest.actor_label}
    assert first["target"] == {"type": "sender", "id": tenant.sender.id}


def test_list_filters_by_action(tenant):
    """`?action=` keeps only that action."""
    results = tenant.client().get(URL, {"action": "token.created"}).json()["results"]
    expected = ApiToken.objects.for_workspace(tenant.workspace).count()
    assert len(results) == expected > 0
    assert {r["action"] for r in results} == {"token.created"}


def test_list_created_after_is_inclusive(tenant):
    """`?created_after=` an event's own time includes it and excludes earlier ones."""
    events = chain(tenant.workspace)
    pivot = events[3]
    stamp = clock.isoformat(pivot.created_at)
    results = tenant.client().get(URL, {"created_after": stamp}).json()["results"]
    assert sorted(r["seq"] for r in results) == [e.seq for e in events[3:]]


def test_retrieve_own_event(tenant):
    """An event of this workspace reads back by id."""
    event = chain(tenant.workspace)[0]
    response = tenant.client("viewer").get(f"{URL}/{event.id}")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["action"]) == (event.id, "workspace.created")


def test_other_workspace_event_is_not_found(tenant, other_tenant):
    """Another workspace's event id answers 404 not_found, never its data."""
    foreign = chain(other_tenant.workspace)[0]
    response = tenant.client().get(f"{URL}/{foreign.id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert foreign.hash not in response.content.decode()


def test_token_without_audit_read_is_forbidden(tenant):
    """A token lacking audit:read gets 403 forbidden naming the scope."""
    _, secret = token_for(tenant.workspace, "owner", scopes=["messages:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get(URL)
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["details"]["required_scope"]) == ("forbidden", "audit:read")


def _by_actor(tenant, other_tenant, actor: Actor) -> tuple[AuditEvent, AuditEvent]:
    """One event by `actor` in each workspace, with events by others around them."""
    for workspace in (tenant.workspace, other_tenant.workspace):
        audit_record(
            workspace=workspace, actor=Actor("user", "99", "bob@example.com"), action="x.y"
        )
    ours = audit_record(workspace=tenant.workspace, actor=actor, action="x.mine")
    theirs = audit_record(workspace=other_tenant.workspace, actor=actor, action="x.theirs")
    return ours, theirs


def _ids(tenant, **params) -> set[str]:
    response = tenant.client("viewer").get(URL, params)
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["results"]}


def test_list_filters_by_a_members_email(tenant, other_tenant):
    """`?actor=` words of an email (any case) keep that member's events, never B's."""
    ours, theirs = _by_actor(tenant, other_tenant, Actor("user", "7", "ann@example.com"))
    assert _ids(tenant, actor="ANN@example") == {ours.id}
    assert theirs.id not in _ids(tenant, actor="ann@example.com")


def test_list_filters_by_a_token_id(tenant, other_tenant):
    """`?actor=tok_…` keeps exactly that token's events."""
    token = tenant.tokens[("owner", "live")]
    ours, theirs = _by_actor(tenant, other_tenant, token_actor(token))
    found = _ids(tenant, actor=token.id)
    assert ours.id in found and theirs.id not in found
    assert {e.actor_id for e in AuditEvent.objects.filter(pk__in=found)} == {token.id}


def test_list_filters_by_system(tenant, other_tenant):
    """`?actor=system` keeps the system's events (with `action` and dates alongside)."""
    ours, theirs = _by_actor(tenant, other_tenant, Actor.system())
    found = _ids(tenant, actor="system", created_after=clock.isoformat(ours.created_at))
    assert found == {ours.id}
    assert _ids(tenant, actor="system", action="x.y") == set()
    everything = _ids(tenant, actor="system")
    assert ours.id in everything and theirs.id not in everything
    assert set(
        AuditEvent.objects.filter(pk__in=everything).values_list("actor_type", flat=True)
    ) == {"system"}


def test_schema_documents_the_actor_filter():
    """The OpenAPI schema lists `actor` with the other audit filters, as a described string."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = {p["name"]: p for p in schema["paths"][URL]["get"]["parameters"]}
    assert {"action", "actor", "created_after", "created_before"} <= set(parameters)
    assert parameters["actor"]["in"] == "query"
    assert parameters["actor"]["schema"]["type"] == "string"
    assert "email" in parameters["actor"]["description"]


# --- Changes audited in their own transaction ----------------------------------------------------


def test_workspace_patch_is_audited_with_before_and_after(tenant):
    """PATCH spend_limit writes one workspace.updated event with before/after, by the token."""
    response = tenant.client().patch("/api/v1/workspace", {"spend_limit": "10.00"}, format="json")
    assert response.status_code == 200
    event = chain(tenant.workspace)[-1]
    assert event.action == "workspace.updated"
    assert event.before == {"spend_limit": None}
    assert Decimal(event.after["spend_limit"]) == Decimal("10")
    assert (event.actor_type, event.actor_id) == ("token", tenant.tokens[("owner", "live")].id)
    assert (event.target_type, event.target_id) == ("workspace", tenant.workspace.id)
    assert verify_chain(tenant.workspace.pk).ok


def test_failed_patch_writes_no_event(tenant):
    """A PATCH refused by validation changes nothing and audits nothing."""
    before = AuditEvent.objects.for_workspace(tenant.workspace).count()
    response = tenant.client().patch(
        "/api/v1/workspace", {"spend_limit": "10.00", "rate_limit_per_second": 0}, format="json"
    )
    assert response.status_code == 400
    assert AuditEvent.objects.for_workspace(tenant.workspace).count() == before
    assert Workspace.objects.get(pk=tenant.workspace.pk).spend_limit is None


def test_unchanged_patch_writes_no_event(tenant):
    """A PATCH that changes nothing records nothing."""
    before = AuditEvent.objects.for_workspace(tenant.workspace).count()
    response = tenant.client().patch("/api/v1/workspace", {"spend_limit": None}, format="json")
    assert response.status_code == 200
    assert AuditEvent.objects.for_workspace(tenant.workspace).count() == before


def test_change_rolls_back_when_its_audit_fails(tenant, monkeypatch):
    """The change and its event share a transaction: a failed audit write undoes the change."""

    def fail(**kwargs):
        raise DatabaseError("audit write failed")

    monkeypatch.setattr("workspaces.services.audit_record", fail)
    response = tenant.client().patch("/api/v1/workspace", {"spend_limit": "10.00"}, format="json")
    assert response.status_code == 500
    assert Workspace.objects.get(pk=tenant.workspace.pk).spend_limit is None


def test_token_create_and_revoke_are_audited(tenant):
    """Minting and revoking a token each append one event naming the token."""
    client = tenant.client()
    made = client.post("/api/v1/tokens", {"name": "ci", "scopes": ["audit:read"]}, format="json")
    assert made.status_code == 201
    token_id = made.json()["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 200
    tail = chain(tenant.workspace)[-2:]
    assert [(e.action, e.target_id) for e in tail] == [
        ("token.created", token_id),
        ("token.revoked", token_id),
    ]
    assert tail[0].after["scopes"] == ["audit:read"] and tail[1].after["revoked_at"]


def test_sender_add_and_remove_are_audited(tenant):
    """Adding and removing a sender each append one event naming the sender."""
    client = tenant.client()
    body = {"number": "+14155559876", "kind": "long_code"}
    made = client.post("/api/v1/senders", body, format="json")
    assert made.status_code == 201
    sender_id = made.json()["id"]
    assert client.delete(f"/api/v1/senders/{sender_id}").status_code == 200
    tail = chain(tenant.workspace)[-2:]
    assert [(e.action, e.target_id) for e in tail] == [
        ("sender.added", sender_id),
        ("sender.removed", sender_id),
    ]
    assert tail[0].after["number"] == "+14155559876"
