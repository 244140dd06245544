"""receptionist.plans: on PostgreSQL, statements whose best plan depends on their values
(a search, a LIKE, one caller's rows) are never prepared, so PostgreSQL plans them for
their values every time; the others are prepared after two runs and may keep a generic
plan."""

import pytest
from django.db import connection

from callers.models import Caller
from calls.models import Call
from receptionist.plans import choose_plans, planned_each_time

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("sql", "each_time"),
    [
        ('SELECT 1 FROM "calls_call" WHERE "search_vector" @@ to_tsquery(%s)', True),
        ('SELECT ts_rank("search_vector", %s) FROM "calls_call"', True),
        ('SELECT 1 FROM "callers_caller" WHERE UPPER("name"::text) LIKE UPPER(%s)', True),
        ('SELECT 1 FROM "calls_call" WHERE "calls_call"."caller_id" = %s', True),
        ('SELECT 1 FROM "calls_call" WHERE "caller_id" = ANY(\'{1,2}\'::bigint[])', True),
        ('SELECT 1 FROM "calls_call" WHERE "calls_call"."nature" = %s', False),
        ('SELECT 1 FROM "calls_escalation" WHERE "status" <> %s', False),
    ],
)
def test_which_statements_are_planned_each_time(sql, each_time):
    assert planned_each_time(sql) is each_time


def prepared() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_a_search_is_never_prepared_and_a_list_is(settings):
    if connection.connection.prepare_threshold is None:
        pytest.skip("DATABASE_PREPARED_STATEMENTS=0")
    assert choose_plans in connection.execute_wrappers
    for _ in range(4):
        list(Call.objects.filter(nature="urgent").values_list("pk")[:5])
        list(Caller.objects.filter(name__icontains="smith").values_list("pk")[:5])
        list(Call.objects.filter(caller_id=1).values_list("pk")[:5])
    statements = prepared()
    assert any('"nature" = $1' in sql for sql in statements), statements
    assert not any("LIKE" in sql for sql in statements)
    assert not any('"caller_id" = $1' in sql for sql in statements)
    # The connection prepares as before once the search is sent.
    assert connection.connection.prepare_threshold == 2
