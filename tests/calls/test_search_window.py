"""A newest-first search walks the newest calls first, then looks among the older ones
(calls.search.newest_ids): the pages must hold exactly the calls, in exactly the order, of
the plain query, whichever part found them. The window is made small here so that every
test crosses it. Every test runs on both databases."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from calls import search
from calls.models import Call, Nature, Urgency
from tests.factories import CallerFactory, CallFactory
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def log():
    """Twenty calls an hour apart, newest first: every other one about an invoice, one
    about chocolate (the oldest but one), two at the same minute."""
    caller = CallerFactory(name="Nora Quill")
    now = timezone.now().replace(microsecond=0)
    made = []
    for i in range(20):
        summary = "Invoice question" if i % 2 == 0 else "Parking"
        if i == 18:
            summary = "Chocolate delivery"
        started = now - timedelta(hours=i if i != 5 else 4)  # 4 and 5 start together
        nature = Nature.APPOINTMENT if i % 4 == 0 else Nature.SALES
        made.append(CallFactory(caller=caller, summary=summary, started_at=started, nature=nature))
    return made


def plain(queryset) -> list[int]:
    return list(queryset.order_by("-started_at", "-pk").values_list("pk", flat=True))


@pytest.mark.parametrize("window", [1, 3, 7, 100])
@pytest.mark.parametrize(
    "text", ["invoice", "invo", "chocolate", "parking invoice", "nowhere", "quill"]
)
def test_newest_ids_are_the_plain_querys_across_the_window(monkeypatch, log, window, text):
    monkeypatch.setattr(search, "RECENT_WINDOW", window)
    everything = Call.objects.all()
    searched = everything.search(text)
    expected = plain(searched)
    # Page by page, 3 at a time, after each page's last call as the cursor does.
    seen, after = [], Q()
    while True:
        ids = search.newest_ids(
            searched.filter(after).order_by("-started_at", "-pk"), after, 4, among=everything
        )
        seen += ids[:3]
        if len(ids) <= 3:
            break
        last = Call.objects.get(pk=ids[2])
        after = Q(started_at__lt=last.started_at) | Q(started_at=last.started_at, pk__lt=last.pk)
    assert seen == expected


def test_newest_ids_look_among_the_filtered_calls(monkeypatch, log):
    monkeypatch.setattr(search, "RECENT_WINDOW", 2)
    among = Call.objects.filter(nature=Nature.APPOINTMENT)
    searched = among.search("invoice")
    ids = search.newest_ids(searched.order_by("-started_at", "-pk"), Q(), 50, among=among)
    assert ids == plain(searched)
    assert ids == [c.pk for i, c in enumerate(log) if i % 4 == 0]


@pytest.mark.parametrize("params", [{}, {"nature": "appointment"}])
def test_search_pages_cross_the_window_without_a_skip_or_repeat(
    reception_client, settings, monkeypatch, log, params
):
    monkeypatch.setattr(search, "RECENT_WINDOW", 3)
    settings.CALLS_PAGE_SIZE = 2
    query = {"q": "invoice", **params}
    expected = plain(Call.objects.filter(**params).search("invoice"))
    seen = []
    for _ in range(20):
        response = reception_client.get("/calls/", query)
        assert response.status_code == 200
        seen += row_ids(response, "data-call-row")
        cursor = next_cursor(response)
        if not cursor:
            break
        query["cursor"] = cursor
    assert seen == expected
    assert len(seen) == len(set(seen)) > 2


def test_a_search_pages_queries_are_the_same_for_any_word(reception_client, log):
    # A common word (filled from the newest calls), a rare one (found among the older
    # calls), a prefix being typed, with filters: one query count. A word that is nowhere
    # has no rows to read: one fewer, but on PostgreSQL, where the page's ids and rows are
    # one statement. Best match first sorts the newest matches by relevance before their
    # rows are read: on PostgreSQL, one more.
    urls = [
        "/calls/?q=invoice",
        "/calls/?q=chocolate",
        "/calls/?q=invo",
        "/calls/?q=invoice&nature=appointment",
    ]
    counts = {url: count_queries(reception_client, url) for url in urls}
    assert len(set(counts.values())) == 1, counts
    postgresql = connection.vendor == "postgresql"
    nowhere = count_queries(reception_client, "/calls/?q=zzqx")
    assert nowhere == counts[urls[0]] - (0 if postgresql else 1)
    best = count_queries(reception_client, "/calls/?q=invoice&sort=best")
    assert best == counts[urls[0]] + (1 if postgresql else 0)


def test_best_match_ranks_the_newest_matches_only(monkeypatch, log):
    monkeypatch.setattr(search, "RANKED_MATCHES", 3)
    monkeypatch.setattr(search, "RECENT_WINDOW", 2)
    ranked = set(Call.objects.ranked_search("invoice").values_list("pk", flat=True))
    newest = plain(Call.objects.search("invoice"))
    if connection.vendor == "postgresql":
        assert ranked == set(newest[:3])
    else:
        assert ranked == set(newest)


def test_a_filtered_search_may_walk_the_whole_log(monkeypatch, log):
    # The call log walks the calls of its date range, not of its other filters
    # (CallFilter.walked): the answer is the same.
    monkeypatch.setattr(search, "RECENT_WINDOW", 3)
    searched = Call.objects.filter(nature=Nature.APPOINTMENT).search("invoice")
    ids = search.newest_ids(
        searched.order_by("-started_at", "-pk"), Q(), 50, among=Call.objects.all()
    )
    assert ids == plain(searched) == [c.pk for i, c in enumerate(log) if i % 4 == 0]


@pytest.mark.parametrize("text", ["invoice", "chocolate", "quill", "nowhere"])
def test_any_window_edge_or_none_gives_the_plain_querys_calls(log, text):
    # The edge a process keeps (search.recent_edge) may be a minute old, and a search that
    # matches few calls skips the window: neither may change the answer.
    everything = Call.objects.all()
    searched = everything.search(text)
    expected = plain(searched)
    ordered = searched.order_by("-started_at", "-pk")
    starts = [call.started_at for call in log]
    edges = [*starts, starts[0] + timedelta(days=1), starts[-1] - timedelta(days=1)]
    for edge in edges:
        found = search._newest(ordered, Q(), 50, among=everything, edge=edge)
        assert list(found) == expected, edge
    assert list(search._newest(ordered, Q(), 50, among=everything, window=False)) == expected
    assert list(search._newest(ordered, Q(), 3, among=everything, window=False)) == expected[:3]


def test_the_window_edge_is_kept_a_while(monkeypatch, log):
    monkeypatch.setattr(search, "RECENT_WINDOW", 3)
    monkeypatch.setattr(search, "_edges_kept", {})
    edge = search.recent_edge(Call.objects)
    assert edge == log[3].started_at  # the fourth newest: just older than the window
    CallFactory(caller=log[0].caller, started_at=log[0].started_at + timedelta(minutes=1))
    assert search.recent_edge(Call.objects) == edge  # kept
    monkeypatch.setattr(search, "EDGE_KEPT", 0.0)
    assert search.recent_edge(Call.objects) == log[2].started_at
    Call.objects.all().delete()
    assert search.recent_edge(Call.objects) == search._DAWN


def test_a_window_walked_along_a_filter_has_its_own_edge(monkeypatch, log):
    # The fourth newest call with that value, kept apart from the whole log's edge.
    monkeypatch.setattr(search, "RECENT_WINDOW", 3)
    monkeypatch.setattr(search, "_edges_kept", {})
    nature = log[0].nature
    same = [call for call in log if call.nature == nature]
    assert len(same) > 3
    whole = search.recent_edge(Call.objects)
    along = search.recent_edge(Call.objects, ("nature", nature))
    assert along == same[3].started_at
    assert search.recent_edge(Call.objects) == whole == log[3].started_at
    assert search.recent_edge(Call.objects, ("nature", "no such nature")) == search._DAWN


def test_postgresqls_statistics_tell_a_rare_search_from_a_common_one(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the window and the statistics are PostgreSQL's")
    caller = CallerFactory(name="Nora Quill")
    for i in range(60):
        CallFactory(caller=caller, summary="Invoice question" if i else "Chocolate delivery")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calls_call")
        cursor.execute("ANALYZE callers_caller")
    monkeypatch.setattr(search._Lexemes, "_current", None)
    monkeypatch.setattr(search, "FEW_MATCHES", 10)

    def few(text, callers=0, number=0):
        words = search.words_of(text)
        return search.few_matches(words, [callers] * len(words), number)

    assert not few("invoice") and not few("invo") and not few("question invoice")
    assert few("chocolate") and few("zzqx") and few("chocolate invoice")
    # Callers found count their calls (60 calls, one caller: 60 each).
    assert not few("zzqx", callers=1)
    assert not few("zzqx", number=1)
    # The frequencies come from ANALYZE: read again after REREAD seconds.
    lexemes = search._Lexemes.current()
    assert lexemes.shares["invoic"] > 0.9 and lexemes.calls == 60
    assert search._Lexemes.current() is lexemes
    monkeypatch.setattr(search._Lexemes, "REREAD", -1)
    assert search._Lexemes.current() is not lexemes


@pytest.mark.parametrize(
    "text", ["quill", "nora", "2125", "+1 212", "(212) 555-01", "qu_ll", "50%", "zzqx"]
)
def test_the_compiled_callers_of_a_word_are_the_querysets(text):
    # calls.search.CALLERS (PostgreSQL) finds the callers _callers_with and
    # _callers_numbered find, LIKE characters and numbers in any format included.
    if connection.vendor != "postgresql":
        pytest.skip("the compiled search is PostgreSQL's")
    CallerFactory(name="Nora Quill", phone="+12125550147")
    CallerFactory(name="Quill & Co 50%", phone="+12125559999")
    CallerFactory(name="Other", organisation="qu_ll Ltd", phone="+442079460018")
    for word in search.words_of(text):
        expected = search._ids_of(search._callers_with(word))
        found = search._ids_found(word.text, word.text if word.is_number else None)
        assert sorted(found) == sorted(expected), word
    if search.is_number(text):
        expected = search._ids_of(search._callers_numbered(text))
        assert sorted(search._ids_found("", text)) == sorted(expected)
    assert search._ids_found("", None) == []


def test_a_search_walks_along_the_filter_the_fewest_calls_have(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the statistics are PostgreSQL's")
    caller = CallerFactory(name="Nora Quill")
    for i in range(60):
        CallFactory(
            caller=caller,
            nature=Nature.URGENT if i % 20 == 0 else Nature.APPOINTMENT,
            urgency=Urgency.HIGH if i % 2 else Urgency.NORMAL,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calls_call")
    monkeypatch.setattr(search._Lexemes, "_current", None)
    urgent, high = ("nature", Nature.URGENT), ("urgency", Urgency.HIGH)
    assert search.walk_along({"nature": urgent, "urgency": high}) == "nature"
    appointment = ("nature", Nature.APPOINTMENT)
    assert search.walk_along({"nature": appointment, "urgency": high}) == "urgency"
    assert search.walk_along({}) is None
