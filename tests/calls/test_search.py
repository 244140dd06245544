"""The call log's search: by what was said and by who called, the same calls on PostgreSQL
(full-text search) and on SQLite (word starts). Every test here runs on both databases."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callers.models import Caller
from calls import search
from calls.models import Call
from tests.factories import CallerFactory, CallFactory
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db


def found(text: str) -> set[int]:
    return set(Call.objects.search(text).values_list("pk", flat=True))


@pytest.fixture
def evelyn():
    return CallerFactory(name="Evelyn Green", organisation="Harbor Dental", phone="+16178408318")


@pytest.fixture
def other_caller():
    return CallerFactory(name="Marcus Lee", organisation="", phone="+12125550147")


@pytest.fixture
def calls(evelyn, other_caller):
    return {
        "evelyn": CallFactory(caller=evelyn, summary="Asked about the appointment"),
        "evelyn_refund": CallFactory(caller=evelyn, summary="Wants a refund for the visit"),
        "box": CallFactory(caller=other_caller, summary="Oversized parcel at the door"),
        "wants": CallFactory(caller=other_caller, summary="Question", wants="A copy of invoices"),
        "promised": CallFactory(
            caller=other_caller, summary="Question", promised="Send the brochure tomorrow"
        ),
        "notes": CallFactory(caller=other_caller, summary="Question", notes="Mentioned Harborview"),
        "message": CallFactory(
            caller=other_caller, summary="Question", message="Please ring the kennel"
        ),
    }


def test_finds_calls_by_the_callers_name(calls):
    assert found("Evelyn Green") == {calls["evelyn"].pk, calls["evelyn_refund"].pk}
    assert found("green") == {calls["evelyn"].pk, calls["evelyn_refund"].pk}


def test_finds_calls_by_the_callers_organisation(calls):
    assert found("Harbor Dental") == {calls["evelyn"].pk, calls["evelyn_refund"].pk}


@pytest.mark.parametrize(
    "typed",
    ["617 840 8318", "(617) 840-8318", "+1 617 840 8318", "1-617-840-8318", "6178408318"],
)
def test_finds_calls_by_the_callers_number_in_any_format(calls, typed):
    assert found(typed) == {calls["evelyn"].pk, calls["evelyn_refund"].pk}


@pytest.mark.parametrize("typed", ["8318", "840-8318", "408 31"])
def test_finds_calls_by_part_of_a_number_from_four_digits(calls, typed):
    assert found(typed) == {calls["evelyn"].pk, calls["evelyn_refund"].pk}


@pytest.mark.parametrize(("typed", "callers_read"), [("6178408318", 1), ("617 840 8318", 4)])
def test_a_number_typed_as_one_word_reads_its_callers_once(
    reception_client, calls, typed, callers_read
):
    # One word: the callers whose name holds it or who have the number, read once. Several
    # words: each word's callers, then those with the whole number (read from the numbers
    # alone on PostgreSQL).
    with CaptureQueriesContext(connection) as context:
        response = reception_client.get("/calls/", {"q": typed})
    read = [
        q
        for q in context.captured_queries
        if 'FROM "callers_caller"' in q["sql"] or 'FROM "callers_callerphone"' in q["sql"]
    ]
    assert len(read) == callers_read
    assert set(row_ids(response, "data-call-row")) == {
        calls["evelyn"].pk,
        calls["evelyn_refund"].pk,
    }


def test_three_digits_are_not_a_number_search(calls):
    assert found("318") == set()


def test_finds_what_the_caller_wants_what_was_promised_and_the_notes(calls):
    assert found("invoices") == {calls["wants"].pk}
    assert found("brochure") == {calls["promised"].pk}
    assert found("harborview") == {calls["notes"].pk}
    assert found("kennel") == {calls["message"].pk}  # the message for the business


def test_the_last_word_matches_the_start_of_a_word(calls):
    # PostgreSQL's full-text search alone would find nothing for "overs".
    assert found("overs") == {calls["box"].pk}
    assert found("parcel overs") == {calls["box"].pk}


def test_a_word_finds_its_other_forms(calls):
    assert found("invoice") == {calls["wants"].pk}
    assert found("refunds") == {calls["evelyn_refund"].pk}
    assert found("parcels at the door") == {calls["box"].pk}


def test_every_word_must_match_the_call_or_its_caller(calls):
    assert found("Evelyn refund") == {calls["evelyn_refund"].pk}
    assert found("Evelyn brochure") == set()


def test_common_words_are_ignored(calls):
    assert found("the refund") == {calls["evelyn_refund"].pk}
    assert found("refund for the") == {calls["evelyn_refund"].pk}


def test_nothing_found_is_nothing(calls):
    assert found("zebra") == set()
    assert found("<script>alert(1)</script>") == set()


def test_punctuation_alone_searches_nothing(calls):
    assert found("!!! ...") == set(Call.objects.values_list("pk", flat=True))


def test_more_words_than_a_search_takes_are_refused():
    with pytest.raises(Exception, match="at most 8 words"):
        search.validate("one two three four five six seven eight nine")
    search.validate("one two three four five six seven eight")


def test_best_match_puts_the_summary_before_the_notes():
    in_notes = CallFactory(summary="Question", notes="Talked about the gutter")
    in_summary = CallFactory(summary="Gutter repair quote")
    ranked = list(
        Call.objects.ranked_search("gutter")
        .order_by("-relevance", "-pk")
        .values_list("pk", flat=True)
    )
    assert ranked == [in_summary.pk, in_notes.pk]


def test_the_call_log_page_finds_the_caller_and_keeps_the_words(reception_client, calls):
    response = reception_client.get("/calls/", {"q": "617 840 8318"})
    assert response.status_code == 200
    assert set(row_ids(response, "data-call-row")) == {
        calls["evelyn"].pk,
        calls["evelyn_refund"].pk,
    }
    assert 'value="617 840 8318"' in response.content.decode()


def test_too_many_words_say_so_on_the_page(reception_client, calls):
    response = reception_client.get("/calls/", {"q": "a b c d e f g h i"})
    assert response.status_code == 200
    assert "at most 8 words" in response.content.decode()
    assert row_ids(response, "data-call-row") == []


@pytest.mark.parametrize("sort", ["", "best"])
def test_search_pages_follow_each_other_without_repeats(reception_client, settings, sort):
    settings.CALLS_PAGE_SIZE = 3
    caller = CallerFactory(name="Nora Quill")
    now = timezone.now()
    made = [
        CallFactory(caller=caller, summary=f"Leak number {i}", started_at=now - timedelta(hours=i))
        for i in range(7)
    ]
    seen, params = [], {"q": "leak", "sort": sort}
    for _ in range(5):
        response = reception_client.get("/calls/", params)
        assert response.status_code == 200
        seen += row_ids(response, "data-call-row")
        cursor = next_cursor(response)
        if not cursor:
            break
        params["cursor"] = cursor
    assert sorted(seen) == sorted(c.pk for c in made)
    if not sort:
        assert seen == [c.pk for c in made]


def test_a_forged_relevance_cursor_is_a_400(reception_client):
    import base64

    for raw in (b'["NaN", 1]', b"[1e999, 1]", b'["x", 1]'):
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response = reception_client.get("/calls/", {"q": "leak", "sort": "best", "cursor": cursor})
        assert response.status_code == 400, raw


def test_search_queries_do_not_grow_with_the_words(reception_client, calls):
    one = count_queries(reception_client, "/calls/?q=refund")
    three = count_queries(reception_client, "/calls/?q=evelyn+green+refund")
    # One query per word reads the callers it names; nothing per row.
    assert three - one == 2
    CallFactory.create_batch(5, caller=calls["evelyn"].caller, summary="Another refund")
    assert count_queries(reception_client, "/calls/?q=refund") == one


def test_the_caller_box_narrows_the_log_and_offers_the_callers_it_finds(
    reception_client, calls, evelyn
):
    CallerFactory(name="Evelyn Greenwood")
    response = reception_client.get("/calls/", {"who": "evelyn gr"})
    content = response.content.decode()
    assert set(row_ids(response, "data-call-row")) == {
        calls["evelyn"].pk,
        calls["evelyn_refund"].pk,
    }
    choices = row_ids(response, "data-caller-choice")
    assert evelyn.pk in choices and len(choices) == 2
    assert "(617) 840-8318" in content


def test_the_caller_box_takes_a_number(reception_client, calls, evelyn):
    response = reception_client.get("/calls/", {"who": "840-8318"})
    assert row_ids(response, "data-caller-choice") == [evelyn.pk]


def test_a_picked_caller_is_named_above_their_calls(reception_client, calls, evelyn):
    response = reception_client.get("/calls/", {"caller": evelyn.pk, "who": "Evelyn"})
    assert f'data-chosen-caller="{evelyn.pk}"' in response.content.decode()
    assert set(row_ids(response, "data-call-row")) == {
        calls["evelyn"].pk,
        calls["evelyn_refund"].pk,
    }


def test_the_caller_box_says_when_nobody_matches(reception_client, calls):
    response = reception_client.get("/calls/", {"who": "<b>Nobody</b>"})
    content = response.content.decode()
    assert "No caller matches “&lt;b&gt;Nobody&lt;/b&gt;”." in content
    assert row_ids(response, "data-call-row") == []


def test_the_caller_box_costs_a_fixed_number_of_queries(reception_client, calls, settings):
    settings.STAFF_CHOICES_SECONDS = 60  # the staff "Taken by" offers: read once, here
    count_queries(reception_client, "/calls/")
    few = count_queries(reception_client, "/calls/?who=evelyn")
    for i in range(5):
        CallerFactory(name=f"Evelyn Number{i}", phone=f"+1212555{i:04d}")
    assert count_queries(reception_client, "/calls/?who=evelyn") == few
    # The session and person, the callers found with their numbers, their calls' ids
    # (found through the caller index, not by walking the log) and rows: on PostgreSQL
    # read in one statement (SEARCH_PAGE), elsewhere apart; and the businesses' names
    # (kept by a serving process for BUSINESSES_SECONDS, read every time in tests).
    assert few == (4 if connection.vendor == "postgresql" else 5)


def test_best_match_puts_the_summary_before_the_callers_organisation():
    metro = CallerFactory(name="Ann Fox", organisation="Metro Couriers")
    by_organisation = CallFactory(caller=metro, summary="Water leak in the hall")
    in_summary = CallFactory(summary="Courier asking for the delivery entrance")
    in_wants = CallFactory(summary="Question", wants="Which courier we use")
    ranked = list(
        Call.objects.ranked_search("courier")
        .order_by("-relevance", "-pk")
        .values_list("pk", flat=True)
    )
    assert ranked == [in_summary.pk, by_organisation.pk, in_wants.pk]


@pytest.mark.parametrize("typed", ["appoi", "appointm", "appointme", "appointmen", "appointment"])
def test_a_word_is_found_at_every_step_of_typing_it(typed):
    hit = CallFactory(summary="Cancel tomorrow's appointment")
    CallFactory(summary="Question about parking")
    assert found(typed) == {hit.pk}


def test_accented_names_are_found_in_any_case():
    elodie = CallerFactory(name="Élodie Ångström", organisation="Société Générale")
    call = CallFactory(caller=elodie, summary="Question")
    for typed in ("élodie", "ÉLODIE", "ångström", "SOCIÉTÉ"):
        assert found(typed) == {call.pk}, typed


def test_a_short_last_word_is_a_valid_search():
    hit = CallFactory(summary="Box of ink")
    assert hit.pk in found("in")  # a stop word: ignored, everything is found
    assert hit.pk in found("ink b")


def test_best_match_reads_each_words_callers_once(reception_client, calls):
    def callers_read(url):
        with CaptureQueriesContext(connection) as context:
            assert reception_client.get(url).status_code == 200
        return [q["sql"] for q in context.captured_queries if 'FROM "callers_caller"' in q["sql"]]

    newest = callers_read("/calls/?q=evelyn+refund")
    assert len(newest) == 2  # a query for each word's callers
    assert len(callers_read("/calls/?q=evelyn+refund&sort=best")) == len(newest)


def test_a_word_being_typed_is_asked_as_its_widest_start():
    # invoice, invoic, invoi and invo are stemmed to invoic, invoic, invoi and invo: the
    # index is scanned once, for "invo".
    assert search.Word("invoice", is_prefix=True).tsquery() == "('invo':*)"
    # "dying" is stored as "die", which no shorter start covers: both stay.
    assert search.Word("dying", is_prefix=True).tsquery() == "('dying':* | 'dyin':*)"
    assert search.Word("invoice", is_prefix=False).tsquery() == "'invoice'"


@pytest.mark.parametrize("typed", ["dying", "cries", "happily", "relational", "invoices"])
def test_a_word_whose_stem_is_not_its_start_is_found(typed):
    hit = CallFactory(summary=f"Note: {typed} today")
    CallFactory(summary="Question about parking")
    assert found(typed) == {hit.pk}  # the last word, a prefix
    assert found(f"{typed} today") == {hit.pk}  # a whole word


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's stemmer")
@pytest.mark.parametrize(
    "word", ["invoice", "invoic", "dying", "dyin", "cries", "crie", "happy", "skies", "generously"]
)
def test_the_stemmer_is_postgresqls(word):
    # calls.search drops the starts of a word whose stems another's covers: its stemmer
    # must stem as PostgreSQL's English configuration does.
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_tsvector('english', %s)::text", [word])
        (stored,) = cursor.fetchone()
    assert stored.split(":")[0].strip("'") == search._stem(word)


def test_the_rows_of_a_best_match_page_are_read_by_their_ids_alone(reception_client, calls):
    with CaptureQueriesContext(connection) as queries:
        response = reception_client.get("/calls/", {"q": "evelyn refund", "sort": "best"})
    assert response.status_code == 200
    assert row_ids(response, "data-call-row") == [calls["evelyn_refund"].pk]
    rows = queries.captured_queries[-1]["sql"].lower()
    assert "evelyn" not in rows and "refund" not in rows  # not the search again


def test_the_caller_box_offers_the_first_callers_by_name_and_says_there_are_more(
    reception_client,
):
    from calls.views.calls import CALLER_CHOICES

    names = [f"Quinn {letter}" for letter in "HGFEDCBA"]  # made out of order
    made = {name: CallerFactory(name=name) for name in names}
    for caller in made.values():
        CallFactory(caller=caller, summary="Question")
    response = reception_client.get("/calls/", {"who": "quinn"})
    expected = [made[name].pk for name in sorted(names)[:CALLER_CHOICES]]
    assert row_ids(response, "data-caller-choice") == expected
    assert len(set(row_ids(response, "data-call-row"))) == len(names)  # every caller's call
    assert "and more: type more of the name" in response.content.decode()


def test_the_caller_box_asks_for_more_of_a_name_too_many_callers_have(
    reception_client, settings, monkeypatch
):
    from calls.forms import CallFilter

    monkeypatch.setattr(CallFilter, "CALLERS_NARROWED", 3)
    for letter in "ABCD":
        CallFactory(caller=CallerFactory(name=f"Quinn {letter}"), summary="Question")
    response = reception_client.get("/calls/", {"who": "quinn"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "More than 3 callers match “quinn”: type more of the name, or their number." in content
    assert row_ids(response, "data-call-row") == [] and "No calls match" not in content
    assert row_ids(response, "data-caller-choice") == []
    # Three of them: the log of their calls, and each offered.
    Caller.objects.filter(name="Quinn D").update(name="Someone Else")
    response = reception_client.get("/calls/", {"who": "quinn"})
    assert len(row_ids(response, "data-call-row")) == 3
    assert len(row_ids(response, "data-caller-choice")) == 3
    assert "More than" not in response.content.decode()


def test_the_caller_box_searches_the_callers_once(reception_client, calls):
    with CaptureQueriesContext(connection) as queries:
        reception_client.get("/calls/", {"who": "evelyn"})
    searched = [q for q in queries.captured_queries if "evelyn" in q["sql"].lower()]
    assert len(searched) == 1


def test_a_picked_caller_with_calls_shown_costs_no_query_of_their_own(reception_client, calls):
    evelyn = calls["evelyn"].caller
    with_calls = count_queries(reception_client, f"/calls/?caller={evelyn.pk}")
    assert with_calls == count_queries(reception_client, "/calls/")
    response = reception_client.get(f"/calls/?caller={evelyn.pk}")
    assert f'data-chosen-caller="{evelyn.pk}"' in response.content.decode()
    assert "Harbor Dental" in response.content.decode()  # the organisation, from the rows


def test_an_underscore_parts_words_and_each_part_is_required():
    """ "book_cancel" is the words book and cancel, both required, on every database
    (as one word PostgreSQL's parser kept only "book" and found every booking)."""
    both = CallFactory(summary="Book then cancel the visit")
    book_only = CallFactory(summary="Book a check-up next week")
    cancel_only = CallFactory(summary="Cancel tomorrow")
    assert [w.text for w in search.words_of("book_cancel")] == ["book", "cancel"]
    assert found("book_cancel") == {both.pk}
    assert found("cancel_book") == {both.pk}
    assert book_only.pk in found("book") and cancel_only.pk in found("cancel")
