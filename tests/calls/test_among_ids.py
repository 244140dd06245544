"""The calls of many callers at once: the ids as one array, the same calls as an IN list."""

import pytest
from django.db import connection
from django.db.models import F

from calls.models import Call
from calls.search import AmongIds
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def test_the_calls_of_these_callers_are_those_an_in_list_finds():
    calls = [CallFactory() for _ in range(4)]
    wanted = [calls[0].caller_id, calls[2].caller_id, 2**62]  # and a caller with no calls
    found = Call.objects.filter(AmongIds(F("caller_id"), wanted))
    assert set(found) == set(Call.objects.filter(caller_id__in=wanted)) == {calls[0], calls[2]}


def test_no_callers_means_no_calls_and_no_query(django_assert_num_queries):
    CallFactory()
    with django_assert_num_queries(0):
        assert list(Call.objects.filter(AmongIds(F("caller_id"), []))) == []


def test_on_postgresql_the_ids_are_one_array_in_the_sql_not_a_placeholder_each():
    if connection.vendor != "postgresql":
        pytest.skip("an array of ids is PostgreSQL's")
    sql, params = Call.objects.filter(
        AmongIds(F("caller_id"), list(range(1, 1501)))
    ).query.sql_with_params()
    assert "= ANY('{1,2,3," in sql and "1500}'::bigint[])" in sql
    assert len(params) == 0


def test_the_ids_must_be_whole_numbers():
    with pytest.raises((TypeError, ValueError)):
        Call.objects.filter(AmongIds(F("caller_id"), ["1); DROP TABLE calls_call; --"]))


def test_callers_with_a_number_are_read_through_an_array_of_their_ids():
    """A number's callers: by name, organisation or number, the number's as one array on
    PostgreSQL (a subquery OR-ed with the rest made PostgreSQL read every caller)."""
    from calls.search import Word, _callers_with
    from tests.factories import CallerFactory

    by_number = CallerFactory(name="Pat", phone="+12125550147")
    by_name = CallerFactory(name="Studio 5550147")
    CallerFactory(name="Someone Else", phone="+12125559999")
    found = _callers_with(Word(text="5550147", is_prefix=True))
    assert set(found) == {by_number, by_name}
    sql = str(found.query)
    if connection.vendor == "postgresql":
        assert "= ANY(ARRAY(SELECT" in sql
