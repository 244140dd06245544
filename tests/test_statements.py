"""receptionist.statements.Statement: a query compiled once gives what the QuerySet gives."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callers.models import Caller
from calls.models import Call
from receptionist.statements import RowsStatement, Statement
from tests.factories import CallerFactory, CallFactory, UserFactory

pytestmark = pytest.mark.django_db


def calls_of(caller, since):
    return (
        Call.objects.filter(caller_id=caller, started_at__gte=since)
        .select_related("caller", "taken_by")
        .annotate(n_callbacks=Count("callbacks"))
        .order_by("-started_at", "-pk")
    )


CALLS_OF = Statement(calls_of, caller=int, since=datetime)


def test_the_same_instances_as_the_queryset_for_each_value():
    now = timezone.now()
    ann, bob = CallerFactory(), CallerFactory()
    for hours in (1, 5, 50):
        CallFactory(caller=ann, started_at=now - timedelta(hours=hours))
    CallFactory(caller=bob, started_at=now - timedelta(hours=2))
    for caller, since in (
        (ann, now - timedelta(hours=10)),
        (bob, now - timedelta(days=9)),
        (ann, now - timedelta(days=9)),
        (bob, now),
    ):
        expected = list(calls_of(caller.pk, since))
        got = CALLS_OF.all(caller=caller.pk, since=since)
        assert [c.pk for c in got] == [c.pk for c in expected]
        for one, other in zip(got, expected, strict=True):
            assert one.started_at == other.started_at
            # select_related and annotations are filled in as the QuerySet fills them.
            assert one.caller.name == other.caller.name
            assert one.taken_by.username == other.taken_by.username
            assert one.n_callbacks == other.n_callbacks
            assert one._state.adding is False and one._state.db == "default"
    assert CALLS_OF.first(caller=bob.pk, since=now) is None


def test_compiled_once_then_one_query_a_run():
    caller = CallerFactory()
    CallFactory(caller=caller)
    statement = Statement(lambda pk: Caller.objects.filter(pk=pk), pk=int)
    built = []
    statement.build = lambda pk, build=statement.build: built.append(pk) or build(pk=pk)
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert statement.first(pk=caller.pk) == caller
        assert len(queries) == 1
    assert len(built) == 1  # with a stand-in, never a real id


def test_prefetch_related_runs_after_the_rows():
    caller = CallerFactory()
    caller.phones.create(number="+12125550101")
    caller.phones.create(number="+12125550102")
    numbers = [str(p.number) for p in caller.phones.order_by("pk")]
    statement = Statement(lambda pk: Caller.objects.with_phones().filter(pk=pk), pk=int)
    with CaptureQueriesContext(connection) as queries:
        found = statement.first(pk=caller.pk)
    assert len(queries) == 2
    with CaptureQueriesContext(connection) as queries:
        assert [str(p.number) for p in found.phones.all()] == numbers
    assert len(queries) == 0


def test_shape_values_are_compiled_apart():
    caller = CallerFactory()
    for _ in range(4):
        CallFactory(caller=caller)
    statement = Statement(
        lambda caller, size: Call.objects.filter(caller_id=caller).order_by("pk")[:size],
        shape=("size",),
        caller=int,
    )
    assert len(statement.all(caller=caller.pk, size=2)) == 2
    assert len(statement.all(caller=caller.pk, size=3)) == 3
    assert len(statement.all(caller=caller.pk, size=2)) == 2


def test_a_value_written_into_the_sql_is_refused():
    # Compiled into the text, the first value would be every run's value.
    statement = Statement(lambda pk: Call.objects.extra(where=[f"calls_call.id = {pk}"]), pk=int)
    with pytest.raises(ValueError, match="written into the SQL"):
        statement.all(pk=3)


def test_a_value_the_query_does_not_use_is_refused():
    statement = Statement(lambda pk: Caller.objects.filter(pk=1), pk=int)
    with pytest.raises(ValueError, match="does not use pk"):
        statement.all(pk=1)


def test_values_of_another_type_are_refused():
    with pytest.raises(TypeError):
        Statement(lambda pk: Caller.objects.filter(pk=pk), pk=float).all(pk=1.0)


def test_only_model_instances():
    statement = Statement(lambda pk: Caller.objects.filter(pk=pk).values("name"), pk=int)
    with pytest.raises(TypeError):
        statement.all(pk=1)


def test_the_user_of_an_involving_statement_is_a_value():
    """Escalations involving a person: the person's id is sent apart, not compiled in."""
    from calls.views.callers import OPEN_ESCALATIONS_INVOLVING

    someone, other = UserFactory(), UserFactory()
    call = CallFactory(taken_by=someone)
    call.escalations.create(raised_by=someone, reason="Shouting", ack_deadline=timezone.now())
    assert len(OPEN_ESCALATIONS_INVOLVING.all(caller=call.caller_id, person=someone.pk)) == 1
    assert OPEN_ESCALATIONS_INVOLVING.all(caller=call.caller_id, person=other.pk) == []


def test_rows_of_ids_in_their_order_compiled_once_per_number_of_ids():
    """RowsStatement.of: the rows of the ids given, in that order (not the QuerySet's), an id
    given twice read once, an id with no row (or outside the QuerySet) left out; one query a
    run; more ids than it was made for are refused."""
    rows = RowsStatement(lambda: Call.objects.select_related("caller").order_by("pk"), most=4)
    calls = [CallFactory() for _ in range(4)]
    first, second, third, fourth = (call.pk for call in calls)
    assert [call.pk for call in rows.of([third, first, second])] == [third, first, second]
    assert [call.pk for call in rows.of([fourth, fourth, 10**9, first])] == [fourth, first]
    found = rows.of([second])
    assert found[0].caller.name == calls[1].caller.name  # read with the row: no query
    with CaptureQueriesContext(connection) as queries:
        assert [call.caller.name for call in rows.of([first, third])] == [
            calls[0].caller.name,
            calls[2].caller.name,
        ]
    assert len(queries.captured_queries) == 1
    assert rows.of([]) == []
    with pytest.raises(ValueError):
        rows.of([first, second, third, fourth, 10**9])
    narrowed = RowsStatement(
        lambda caller: Call.objects.filter(caller_id=caller), most=4, caller=int
    )
    assert [call.pk for call in narrowed.of([second, first], caller=calls[0].caller_id)] == [first]


def test_a_text_compared_with_like_is_sent_as_the_pattern_django_makes():
    """contains / icontains / startswith / endswith: the value's %, _ and backslash are
    matched as typed, as the QuerySet matches them."""
    names = ["50% off", "500 off", "a_b", "axb", "c\\d", "cd", "Off the hook"]
    for name in names:
        CallerFactory(name=name)
    for lookup in ("contains", "icontains", "startswith", "istartswith", "endswith"):
        statement = Statement(
            lambda text, lookup=lookup: Caller.objects.filter(**{f"name__{lookup}": text}).order_by(
                "pk"
            ),
            text=str,
        )
        for text in ("0%", "a_", "_b", "c\\", "\\d", "off", "OFF", "50", "%", "_"):
            expected = list(
                Caller.objects.filter(**{f"name__{lookup}": text})
                .order_by("pk")
                .values_list("name", flat=True)
            )
            assert [caller.name for caller in statement.all(text=text)] == expected, (lookup, text)
    contains = Statement(lambda text: Caller.objects.filter(name__contains=text), text=str)
    assert [caller.name for caller in contains.all(text="0%")] == ["50% off"]


def test_a_text_changed_on_its_way_to_the_sql_is_refused():
    """A value turned into something else than a LIKE pattern (a regular expression) cannot
    be put back from the real value: the Statement refuses to build."""
    statement = Statement(lambda text: Caller.objects.filter(name__iregex=text + "+"), text=str)
    with pytest.raises(ValueError):
        statement.all(text="x")


def test_a_list_of_ids_is_written_in_as_an_array_each_run():
    """Kind list: ids that calls.search.AmongIds writes into the SQL as one array literal
    (PostgreSQL), replaced by each run's ids (ints only); none matches nothing."""
    from django.db.models import F

    from calls.search import AmongIds

    if connection.vendor != "postgresql":
        pytest.skip("the array literal is PostgreSQL's")
    statement = Statement(
        lambda callers: Call.objects.filter(AmongIds(F("caller_id"), callers)).order_by("pk"),
        callers=list,
    )
    calls = [CallFactory() for _ in range(4)]
    for chosen in ([calls[0]], [calls[1], calls[3]], calls, []):
        wanted = [call.caller_id for call in chosen]
        assert [call.pk for call in statement.all(callers=wanted)] == [call.pk for call in chosen]
    assert len(statement._compiled) == 1
    with pytest.raises((TypeError, ValueError)):
        statement.all(callers=["1}'); DROP TABLE calls_call; --"])
    plain = Statement(lambda callers: Call.objects.filter(caller_id__in=callers), callers=list)
    with pytest.raises(ValueError):
        plain.all(callers=[1, 2])  # not an array literal: one placeholder each


def counts_by_nature(caller, since):
    return (
        Call.objects.filter(caller_id=caller, started_at__gte=since)
        .order_by()
        .values("nature")
        .annotate(n=Count("pk"))
        .order_by("nature")
    )


COUNTS_BY_NATURE = Statement(counts_by_nature, caller=int, since=datetime)


def test_a_values_queryset_is_read_as_rows_and_only_so():
    now = timezone.now()
    ann, bob = CallerFactory(), CallerFactory()
    for nature, hours in (("sales", 1), ("sales", 2), ("urgent", 3), ("urgent", 90)):
        CallFactory(caller=ann, nature=nature, started_at=now - timedelta(hours=hours))
    CallFactory(caller=bob, nature="other")
    for caller, since in ((ann, now - timedelta(hours=10)), (bob, now - timedelta(days=1))):
        expected = [(row["nature"], row["n"]) for row in counts_by_nature(caller.pk, since)]
        assert COUNTS_BY_NATURE.rows(caller=caller.pk, since=since) == expected
    assert COUNTS_BY_NATURE.rows(caller=ann.pk, since=now - timedelta(hours=10)) == [
        ("sales", 2),
        ("urgent", 1),
    ]
    with pytest.raises(TypeError, match="rows"):
        COUNTS_BY_NATURE.all(caller=ann.pk, since=now)


def test_a_values_queryset_is_read_as_dicts_as_the_queryset_gives_them():
    now = timezone.now()
    ann = CallerFactory()
    for nature, hours in (("sales", 1), ("sales", 2), ("urgent", 3)):
        CallFactory(caller=ann, nature=nature, started_at=now - timedelta(hours=hours))
    since = now - timedelta(hours=10)
    expected = list(counts_by_nature(ann.pk, since))
    assert expected == [{"nature": "sales", "n": 2}, {"nature": "urgent", "n": 1}]
    assert COUNTS_BY_NATURE.dicts(caller=ann.pk, since=since) == expected
    with pytest.raises(TypeError, match="values"):
        CALLS_OF.dicts(caller=ann.pk, since=since)
