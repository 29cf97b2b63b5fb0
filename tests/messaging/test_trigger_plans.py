"""The statement triggers that join a statement's old and new rows never plan a nested loop.

PL/pgSQL caches a query's plan from the function's first call, when the transition tables held
a row or two; a nested loop kept from then made one 8,000-row UPDATE take 37 s instead of 2.7 s
(measured with bench.million's data; see migration messaging 0014). The setting is checked where
PostgreSQL keeps it, for every trigger function that joins old and new rows.
"""

import importlib

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only("PL/pgSQL statement triggers exist on PostgreSQL only"),
]

MIGRATION = importlib.import_module(
    "messaging.migrations.0014_transition_joins_without_nested_loops"
)


def function_settings() -> dict[str, list[str]]:
    """Each trigger function on messaging_message with the settings it runs under."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, coalesce(p.proconfig, '{}') FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = 'messaging_message'::regclass AND NOT t.tgisinternal"
        )
        return dict(cursor.fetchall())


def test_every_function_joining_old_and_new_rows_plans_without_nested_loops():
    settings = function_settings()
    joining = {
        name
        for name in settings
        if "old_rows" in _source(name) and "JOIN new_rows" in _source(name)
    }
    assert joining == set(MIGRATION.JOINING)  # a new joining trigger must be added there
    for name in joining:
        assert "enable_nestloop=off" in settings[name], name


def _source(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [name])
        return cursor.fetchone()[0]
