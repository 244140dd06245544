"""The lists read through statements compiled once (receptionist.statements.KeysetStatement
and Statement) read what their QuerySets read, filter by filter and page after page; the
filter bars drawn once per set of values (receptionist.formfields.filter_bar) are the bars
drawn anew."""

import random
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import QueryDict
from django.template import engines
from django.template.backends.jinja2 import Jinja2
from django.utils import timezone

from callers.models import Business, Caller
from calls.forms import CallFilter, ResolvedEscalationFilter
from calls.models import Call, Escalation, EscalationStatus
from calls.views.calls import LOG_PAGE
from calls.views.escalations import QUEUE, RESOLVED_PAGE
from followups.models import Callback, CallbackStatus
from followups.views import QUEUE_PAGE, VIEWS
from receptionist import formfields
from receptionist.roles import forget_staff_choices
from receptionist.statements import Statement
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    UserFactory,
    manager_user,
    receptionist_user,
)

pytestmark = pytest.mark.django_db


def ids(rows):
    return [row.pk for row in rows]


def keyed(read_rows, key):
    """(read_rows, the name of the key it pages by), for walk."""
    return read_rows, key


def walk(reader, size=4):
    """Every row a reader (keyed) gives, `size` at a time, following the cursors as a page
    does."""
    read_rows, key = reader
    seen, after = [], None
    while True:
        rows = read_rows(size + 1) if after is None else read_rows(size + 1, after=after)
        seen += rows[:size]
        if len(rows) <= size:
            return seen
        after = (getattr(rows[size - 1], key), rows[size - 1].pk)


@pytest.fixture
def log():
    """Calls of every nature, urgency and mood, some withheld, by two people, two callers,
    over three weeks; some start at the very same time (the cursor's tie-break)."""
    rng = random.Random(7)
    people = [receptionist_user(), receptionist_user()]
    callers = [CallerFactory(), CallerFactory()]
    now = timezone.now().replace(microsecond=0)
    for n in range(40):
        CallFactory(
            caller=callers[n % 2],
            taken_by=people[n % 3 % 2],
            started_at=now - timedelta(hours=rng.randrange(0, 24 * 21)) if n % 7 else now,
            nature=rng.choice(["sales", "appointment", "urgent", "other"]),
            urgency=rng.choice(["low", "normal", "high"]),
            mood=rng.choice(["calm", "angry", "abusive"]),
            phone="" if n % 5 == 0 else "+12125550147",
        )
    return people, callers, now


def log_queries(people, callers, now):
    week_ago = timezone.localdate(now - timedelta(days=7))
    return [
        "",
        "nature=urgent",
        "urgency=high",
        "mood=abusive",
        "withheld=on",
        f"taken_by={people[0].pk}",
        f"caller={callers[1].pk}",
        f"date_from={week_ago}",
        f"date_to={week_ago}",
        f"date_from={week_ago}&date_to={timezone.localdate(now)}&nature=sales",
        f"mood=angry&withheld=on&taken_by={people[1].pk}&caller={callers[0].pk}",
        "nature=other&urgency=low&mood=calm&direction=inbound",
    ]


def test_the_call_log_statement_reads_what_its_queryset_reads(log):
    for query in log_queries(*log):
        calls = CallFilter(QueryDict(query), queryset=Call.objects.for_list())
        assert calls.is_valid(), (query, calls.form.errors)
        assert not calls.searches()
        expected = list(calls.qs.order_by("-started_at", "-pk"))
        read = LOG_PAGE.reader(withheld=calls.only_withheld(), **calls.narrowing())

        assert ids(walk(keyed(read, "started_at"))) == ids(expected), query
    assert len(LOG_PAGE._compiled) > 5  # one per combination of filters (and cursor)


def test_the_call_log_page_is_the_same_for_a_manager_and_through_the_queryset(client, log):
    """A manager's page comes from the statement; the same page through the QuerySet
    (what a person limited to some businesses gets) lists the same calls."""
    client.force_login(manager_user())
    response = client.get("/calls/", {"mood": "angry"})
    assert response.status_code == 200
    expected = Call.objects.filter(mood="angry").order_by("-started_at", "-pk")[:25]
    body = response.content.decode()
    positions = [body.index(f'data-call-row="{call.pk}"') for call in expected]
    assert positions == sorted(positions)
    assert body.count("data-call-row=") == len(expected)


def escalation(n, **fields):
    call = CallFactory()
    return Escalation.objects.create(
        call=call, raised_by=call.taken_by, reason=f"reason {n}", **fields
    )


def test_the_resolved_view_statement_reads_what_its_queryset_reads():
    managers = [manager_user(), manager_user()]
    now = timezone.now().replace(microsecond=0)
    for n in range(12):
        escalation(
            n,
            ack_deadline=now,
            status=EscalationStatus.RESOLVED,
            resolved_by=managers[n % 2],
            resolved_at=now - timedelta(days=n // 3) if n % 4 else now,
            resolution="called them back",
            debrief="talked it through",
        )
    Escalation.objects.create(
        call=CallFactory(), raised_by=managers[0], reason="open", ack_deadline=now
    )
    day = timezone.localdate(now - timedelta(days=2))
    for query in ["", f"resolved_by={managers[1].pk}", f"date_from={day}", f"date_to={day}"]:
        found = ResolvedEscalationFilter(QueryDict(query), queryset=Escalation.objects.resolved())
        assert found.is_valid(), found.form.errors
        read = RESOLVED_PAGE.reader(**found.narrowing())

        assert ids(walk(keyed(read, "resolved_at"), size=3)) == ids(found.qs), query


def test_each_callback_queue_view_statement_reads_what_its_queryset_reads():
    me, other = UserFactory(), UserFactory()
    now = timezone.now().replace(microsecond=0)
    for n in range(16):
        CallbackFactory(
            due_at=now + timedelta(minutes=(n - 6) * 9) if n % 5 else now,
            assigned_to=me if n % 3 == 0 else (other if n % 3 == 1 else None),
            status=CallbackStatus.CLAIMED if n % 4 == 0 else CallbackStatus.OPEN,
            claimed_by=(me if n % 8 == 0 else other) if n % 4 == 0 else None,
            claimed_at=now if n % 4 == 0 else None,
        )
    CallbackFactory(status=CallbackStatus.DONE, outcome="Called back.", closed_at=now)
    for view, (_, shown, values_of) in VIEWS.items():
        values = values_of(me, now)
        expected = shown(Callback.objects.all(), **values).order_by("due_at", "pk")
        read = QUEUE_PAGE.reader(view=view, **values)

        assert expected.exists(), view
        assert ids(walk(keyed(read, "due_at"), size=3)) == ids(expected), view


def test_the_escalation_queue_statement_reads_what_its_queryset_reads():
    now = timezone.now()
    for n in range(6):
        escalation(
            n,
            severity=n % 3 + 1,
            status=[EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED][n % 2],
            ack_deadline=now + timedelta(minutes=n),
        )
    assert ids(QUEUE.all(size=200)) == ids(Escalation.objects.for_queue()[:200])
    assert ids(QUEUE.all(size=2)) == ids(Escalation.objects.for_queue()[:2])


def test_a_statement_refuses_a_value_it_does_not_name():
    statement = Statement(lambda pk=None: Call.objects.filter(pk=pk), pk=int)
    with pytest.raises(TypeError, match="no value color"):
        statement.all(color="red")


def jinja():
    return next(engine for engine in engines.all() if isinstance(engine, Jinja2)).env


def bar(form):
    """The bar as the call log draws it: through filter_bar."""
    return str(
        jinja().from_string('{{ filter_bar("calls/call-filters.html", form) }}').render(form=form)
    )


def fresh(form):
    """The bar drawn anew from its template."""
    return jinja().get_template("calls/call-filters.html").render(form=form)


def test_a_filter_bar_drawn_once_is_the_bar_drawn_anew():
    person = receptionist_user(first_name="Zed", last_name="Ortiz")
    forget_staff_choices()
    query = QueryDict(f"nature=urgent&q=<b>x</b>&taken_by={person.pk}")
    first = CallFilter(query).form
    assert first.is_valid()
    drawn = bar(first)
    assert drawn == fresh(first)
    assert "&lt;b&gt;x&lt;/b&gt;" in drawn and "Zed Ortiz" in drawn
    # Other values: another bar.
    other = CallFilter(QueryDict("nature=sales")).form
    assert other.is_valid()
    assert bar(other) == fresh(other) != drawn
    # A new colleague's name is in the picker as soon as this process hears of it.
    get_user_model().objects.filter(pk=person.pk).update(first_name="Ada")
    forget_staff_choices()
    again = CallFilter(query).form
    again.is_valid()
    assert "Ada Ortiz" in bar(again)


def test_a_filter_bar_with_errors_is_drawn_each_time():
    formfields._bars.clear()
    form = CallFilter(QueryDict("date_from=not-a-date")).form
    assert not form.is_valid()
    assert "is-invalid" in bar(form)
    assert not formfields._bars


def test_the_lookup_panels_last_calls_statement_reads_each_callers_newest_calls():
    """RECENT_CALLS (one shape per number of callers shown) gives each caller the same last
    calls, newest first, as the QuerySet does (CallQuerySet.latest_query and by_caller) and
    as each caller's own newest calls are, for one to LOOKUP_LIMIT callers."""
    from calls.views.callers import LOOKUP_LIMIT, RECENT_CALLS, RECENT_COLUMNS, RECENT_SHOWN

    now = timezone.now()
    callers = [CallerFactory() for _ in range(LOOKUP_LIMIT + 1)]
    for place, caller in enumerate(callers):
        for minutes in range(place):  # the first has no calls, the last LOOKUP_LIMIT
            CallFactory(caller=caller, started_at=now - timedelta(minutes=minutes * 7 + place))
    for shown in range(1, LOOKUP_LIMIT + 1):
        chosen = [caller.pk for caller in callers[-shown:]]
        read = Call.objects.by_caller(
            chosen, RECENT_CALLS.all(**{f"caller_{i}": pk for i, pk in enumerate(chosen)})
        )
        expected = Call.objects.by_caller(
            chosen, Call.objects.only(*RECENT_COLUMNS).latest_query(chosen, RECENT_SHOWN)
        )
        newest = {
            pk: Call.objects.filter(caller_id=pk).order_by("-started_at", "-pk")[:RECENT_SHOWN]
            for pk in chosen
        }
        assert {pk: ids(calls) for pk, calls in read.items()} == {
            pk: ids(calls) for pk, calls in expected.items()
        }
        assert {pk: ids(calls) for pk, calls in read.items()} == {
            pk: ids(calls) for pk, calls in newest.items()
        }
        assert any(len(calls) == RECENT_SHOWN for calls in read.values())


def test_the_lookup_panels_callers_statements_read_what_for_lookup_reads():
    """The lookup panel's callers read by statements compiled once (CANDIDATES_NAMED and
    CANDIDATES_NUMBERED, on PostgreSQL) are for_lookup's, in its order, with the same
    numbers and counts: for names (LIKE's own characters %, _ and backslash matched as
    typed, never as wildcards), organisations, numbers whole or partial in any format."""
    from calls.views.callers import LOOKUP_LIMIT, _candidates, _candidates_of

    now = timezone.now()
    callers = [
        CallerFactory(name="Olivia Stone", phone="+12125550100"),
        CallerFactory(name="olivia Park", phone="+12125550101", caution=True, caution_note="x"),
        CallerFactory(name="Liv 100% Sure", phone="+442079460018"),
        CallerFactory(name="Liv 1000 Sure", is_vip=True),
        CallerFactory(name="under_score", organisation="Olive Oil Ltd"),
        CallerFactory(name="underXscore"),
        CallerFactory(name="back\\slash"),
        CallerFactory(name="backXslash"),
        *[CallerFactory(name=f"Olivia {n}") for n in range(LOOKUP_LIMIT + 1)],
    ]
    CallFactory(caller=callers[0], started_at=now - timedelta(hours=1))
    CallFactory(caller=callers[1], started_at=now - timedelta(days=3))
    person = manager_user()
    today, week = Call.objects.count_boundaries()
    for typed in (
        "olivia",
        "OLIV",
        "100% S",
        "under_",
        "back\\",
        "olive oil",
        "212555",
        "(212) 555-0100",
        "+1 212 555 01",
        "020 7946 0018",
        "555 0101",
        "zz",
    ):
        expected = list(_candidates(Caller.objects.search(typed), today, week))
        read, too_common = _candidates_of(person, typed)
        assert not too_common
        assert ids(read) == ids(expected), typed
        assert [(c.numbers, c.calls_today, c.calls_week) for c in read] == [
            (c.numbers, c.calls_today, c.calls_week) for c in expected
        ], typed

    def found(typed):
        return ids(_candidates_of(person, typed)[0])

    assert len(found("olivia")) == LOOKUP_LIMIT + 1
    assert found("100% S") == [callers[2].pk]
    assert found("under_") == [callers[4].pk]
    assert found("back\\") == [callers[6].pk]
    assert found("olive oil") == [callers[4].pk]
    assert found("(212) 555-0100") == [callers[0].pk]
    assert _candidates_of(person, "") == ([], False)


@pytest.mark.parametrize("limited", [False, True])
def test_a_name_too_common_to_look_through_finds_no_one_in_the_lookup_panel(monkeypatch, limited):
    """More than LOOKUP_NAMED_MOST people with the name typed: no callers (the panel asks
    for more of it), whether read by the statements (PostgreSQL, every business) or the
    QuerySet; a caution flag among them does not change that. As many as the limit: all
    of them are looked through, best first."""
    from callers import models as callers_models
    from calls.views import callers as views

    monkeypatch.setattr(callers_models, "LOOKUP_NAMED_MOST", 4)
    monkeypatch.setattr(views, "LOOKUP_NAMED_MOST", 4)
    monkeypatch.setattr(views.NAMED_IDS, "_compiled", {})  # its LIMIT is compiled in
    if limited:
        monkeypatch.setattr(
            Business.objects, "ids_for", lambda user: [Business.objects.default().pk]
        )
    named = [CallerFactory(name=f"Olivia {n}") for n in range(4)]
    person = manager_user()
    read, too_common = views._candidates_of(person, "olivia")
    assert not too_common
    assert ids(read) == [c.pk for c in named]
    assert ids(Caller.objects.for_lookup(name="olivia")) == [c.pk for c in named]
    flagged = CallerFactory(name="Olivia Zed", caution=True, caution_note="Shouts")
    read, too_common = views._candidates_of(person, "olivia")
    assert too_common and read == []
    assert not Caller.objects.for_lookup(name="olivia").exists()
    read, too_common = views._candidates_of(person, "olivia zed")
    assert ids(read) == [flagged.pk] and not too_common


def test_my_escalations_statements_read_what_newest_involving_reads():
    """My escalations through MINE_IDS and MINE_ROWS (PostgreSQL): the escalations the
    person raised or whose call they took, newest first, each once, page after page (equal
    times ordered by id), none of anyone else's."""
    from calls.views.escalations import _read_mine

    person, other = receptionist_user(), receptionist_user()
    now = timezone.now().replace(microsecond=0)
    for n in range(14):
        call = CallFactory(taken_by=person if n % 3 == 0 else other)
        Escalation.objects.create(
            call=call,
            raised_by=person if n % 2 == 0 else other,
            reason=f"reason {n}",
            ack_deadline=now,
            raised_at=now - timedelta(minutes=n // 3),
        )
    expected = Escalation.objects.involving(person).order_by("-raised_at", "-pk")
    assert 0 < expected.count() < Escalation.objects.count()
    # The QuerySet path (SQLite's) answers the same.
    assert Escalation.objects.newest_involving(person, 100) == ids(expected)
    if not connection.features.supports_slicing_ordering_in_compound:
        return  # the statements are PostgreSQL's: each list's limit inside one UNION
    for size in (1, 3, 25):
        read = walk(keyed(_read_mine(person.pk), "raised_at"), size=size)
        assert ids(read) == ids(expected), size
        assert [e.call.caller.name for e in read] == [e.call.caller.name for e in expected]


SEARCHES = [
    "invoice",
    "invoice parcel",
    "smith",
    "smith invoice",
    "parc",
    "nothing-at-all",
    "2125550147",
]


@pytest.mark.parametrize(
    ("window", "few"),
    [(None, "never"), (3, "never"), (None, "always"), (3, None)],
)
def test_a_searched_log_statement_reads_what_the_search_queryset_reads(
    log, monkeypatch, window, few
):
    """A newest-first search through SEARCH_PAGE (PostgreSQL; the words' callers written in
    as arrays of ids) gives the calls the QuerySet search gives, in its order, page after
    page, with every filter; also when most matches lie beyond the window of recent calls
    (`window`: a window of 3 calls makes the older part answer), when every search walks
    the window (`few` never), and when every search is read through the indexes alone
    (`few` always). The window's edge is the one a process keeps (search.recent_edge) for
    first pages with no date range: a stale one is set, since any edge must answer the
    same."""
    from calls import search
    from calls.views.calls import SEARCH_VALUES, _read_search, _search_rows

    if connection.vendor != "postgresql":
        pytest.skip("the compiled search is PostgreSQL's")
    if few == "never":
        monkeypatch.setattr(search, "FEW_MATCHES", -1)
    elif few == "always":
        monkeypatch.setattr(search, "FEW_MATCHES", 10**9)
    if window is not None:
        monkeypatch.setattr(search, "RECENT_WINDOW", window)
    statement = Statement(  # SEARCH_PAGE compiled afresh (with the small window)
        _search_rows,
        shape=("size", "withheld", "window", "along"),
        after_key=datetime,
        after_pk=int,
        edge=datetime,
        **{name: kind for name, (_, kind) in CallFilter.NARROWING.items()},
        **SEARCH_VALUES,
    )
    monkeypatch.setattr("calls.views.calls.SEARCH_PAGE", statement)
    # The edge kept: the middle call's start (crossed by the pages), kept an hour.
    middle = Call.objects.order_by("started_at")[Call.objects.count() // 2]
    monkeypatch.setattr(search, "recent_edge", lambda calls, along=None: middle.started_at)
    people, callers, now = log
    Caller.objects.filter(pk=callers[0].pk).update(name="Ann Smith")
    for n, call in enumerate(Call.objects.order_by("pk")):
        words = ["invoice" if n % 2 else "parcel", "parcel" if n % 3 == 0 else "note"]
        Call.objects.filter(pk=call.pk).update(summary=" ".join(words))
    found_any = 0
    for text in SEARCHES:
        for query in log_queries(people, callers, now):
            data = QueryDict(query, mutable=True)
            data["q"] = text
            calls = CallFilter(data, queryset=Call.objects.for_list())
            assert calls.is_valid(), (query, calls.form.errors)
            matched = search.compiled_values(text)
            assert matched is not None, text
            expected = list(calls.qs.order_by("-started_at", "-pk"))
            found_any += bool(expected)
            read = walk(keyed(_read_search(calls, matched), "started_at"), size=3)
            assert ids(read) == ids(expected), (text, query)
            assert [call.caller.name for call in read] == [call.caller.name for call in expected]
    assert found_any > 20
    assert len(statement._compiled) > 5
    if few is not None:
        # (alias, names given, size, withheld, window, along)
        shapes = statement._compiled.keys()
        assert {key[-2] for key in shapes} == {few == "never"}
        # Walked along the filter the fewest calls have, when there is one.
        assert {key[-1] for key in shapes} >= ({None} if few == "always" else {None, "caller"})
        assert any("edge" in key[1] for key in shapes) is (few == "never")


def test_the_caller_box_through_the_statement_reads_what_the_queryset_reads(log):
    """The "Caller" box's callers (CallFilter.who_found, read by WHO_CALLERS on
    PostgreSQL) are those Caller.search finds, by name, each with its numbers; their calls
    through SEARCH_PAGE (alone, and with words searched) are those the QuerySet gives, in
    its order, page after page, with every filter."""
    from calls.views.calls import _compiled_search, _read_search

    if connection.vendor != "postgresql":
        pytest.skip("the compiled search is PostgreSQL's")
    people, callers, now = log
    Caller.objects.filter(pk=callers[0].pk).update(name="Ann Smith")
    Caller.objects.filter(pk=callers[1].pk).update(name="bob smith")
    for n, call in enumerate(Call.objects.order_by("pk")):
        Call.objects.filter(pk=call.pk).update(summary="invoice" if n % 3 else "parcel")
    found_any = 0
    for who, text in (("smith", ""), ("ann smith", ""), ("SMITH", "invoice"), ("zed", "")):
        for query in log_queries(people, callers, now):
            data = QueryDict(query, mutable=True)
            data.update({"who": who, "q": text})
            calls = CallFilter(data, queryset=Call.objects.for_list())
            assert calls.is_valid(), (query, calls.form.errors)
            searched = Caller.objects.search(who).order_by("name", "pk")
            assert [(c.pk, c.numbers) for c in calls.who_found] == [
                (c.pk, [str(p.number) for p in c.phones.order_by("pk")]) for c in searched
            ]
            assert [c.name for c in calls.who_found] == sorted(
                (c.name for c in calls.who_found), key=str.casefold
            )
            expected = list(calls.qs.order_by("-started_at", "-pk"))
            matched = _compiled_search(calls, every_business=True)
            if not calls.who_found:
                assert matched is None and expected == []
                continue
            assert matched["who_callers"] == [c.pk for c in calls.who_found]
            found_any += bool(expected)
            read = walk(keyed(_read_search(calls, matched), "started_at"), size=3)
            assert ids(read) == ids(expected), (who, text, query)
    assert found_any > 20


@pytest.mark.parametrize("ranked", [3, 100])
def test_a_best_match_statement_reads_what_the_ranked_queryset_reads(log, monkeypatch, ranked):
    """ "Best match first" through RANKED (PostgreSQL) gives the calls search.ranked's
    QuerySet gives, in its order (relevance, then newest), page after page, with every
    filter; `ranked`: how many of the newest matches are ranked (3: fewer than match)."""
    from calls import search
    from calls.views.calls import _read_ranked

    if connection.vendor != "postgresql":
        pytest.skip("the compiled search is PostgreSQL's")
    monkeypatch.setattr(search, "RANKED_MATCHES", ranked)
    monkeypatch.setattr(search, "RECENT_WINDOW", 4)
    people, callers, now = log
    Caller.objects.filter(pk=callers[0].pk).update(name="Ann Invoice")
    for n, call in enumerate(Call.objects.order_by("pk")):
        summary = ["invoice", "invoice invoice parcel", "parcel note", "invoiced"][n % 4]
        Call.objects.filter(pk=call.pk).update(summary=summary)
    found_any = 0
    for text in ("invoice", "invoice parcel", "parc", "2125550147", "nothing-at-all"):
        for query in log_queries(people, callers, now):
            data = QueryDict(query, mutable=True)
            data.update({"q": text, "sort": "best"})
            calls = CallFilter(data, queryset=Call.objects.for_list())
            assert calls.is_valid(), (query, calls.form.errors)
            matched = search.compiled_values(text)
            expected = list(calls.qs.order_by("-relevance", "-pk"))
            found_any += len(expected) >= 2
            read = walk(keyed(_read_ranked(calls, matched), "relevance"), size=3)
            assert ids(read) == ids(expected), (text, query)
            assert [call.relevance for call in read] == [call.relevance for call in expected]
            assert len(read) <= ranked
    assert found_any > 5
