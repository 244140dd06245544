from datetime import timedelta

import pytest
from django.utils import timezone

from callers.models import Caller, CallerPhone
from tests.factories import CallerFactory, CallFactory, earlier_today
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return CallerFactory(name="Ann Lee", phone="+12125550147", organisation="Riverside Dental")


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/callers/", (302, 403, 200, 200)),
        ("/callers/{pk}/", (302, 403, 200, 200)),
        ("/callers/{pk}/edit/", (302, 403, 200, 200)),
        ("/callers/{pk}/merge/", (302, 403, 403, 200)),
        ("/callers/lookup/?phone=212", (302, 403, 200, 200)),
    ],
)
def test_permission_table(
    url, expected, ann, client, outsider_client, reception_client, manager_client
):
    """Expected status for anonymous, a user with no role, a receptionist and a manager."""
    url = url.format(pk=ann.pk)
    clients = (client, outsider_client, reception_client, manager_client)
    assert tuple(c.get(url).status_code for c in clients) == expected


# --- list and search ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["ann", "Riverside", "(212) 555-0147", "212.555", "+1 212 555 0147"]
)
def test_caller_list_search(reception_client, ann, query):
    CallerFactory(name="Bob Stone", phone="+13125550100")
    response = reception_client.get("/callers/", {"q": query})
    assert b"Ann Lee" in response.content
    assert b"Bob Stone" not in response.content


def test_caller_list_htmx_returns_the_fragment_only(reception_client, ann):
    response = reception_client.get("/callers/", {"q": "ann"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content
    assert b'id="caller-results"' in response.content
    assert b"Ann Lee" in response.content


def test_caller_list_keyset_pages(reception_client, settings):
    settings.CALLERS_PAGE_SIZE = 2
    for name in ["Amy", "Ben", "Cat", "Dan", "Eve"]:
        CallerFactory(name=name)
    first = reception_client.get("/callers/")
    assert [c.name for c in first.context["page"].items] == ["Amy", "Ben"]
    cursor = first.context["page"].next_cursor
    assert next_cursor(first) == cursor
    second = reception_client.get("/callers/", {"cursor": cursor}, HTTP_HX_REQUEST="true")
    names = dict(Caller.objects.values_list("pk", "name"))
    assert [names[pk] for pk in row_ids(second, "data-caller-row")] == ["Cat", "Dan"]
    assert b"<table" not in second.content


def test_bad_cursor_is_a_400_with_a_reason(reception_client):
    response = reception_client.get("/callers/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert b"not valid" in response.content


def test_caller_list_query_count_does_not_grow(reception_client):
    for _ in range(3):
        CallerFactory(phone="+12125550100")
    few = count_queries(reception_client, "/callers/")
    for _ in range(30):
        CallerFactory(phone="+12125550101")
    assert count_queries(reception_client, "/callers/") == few
    assert few <= 9


def test_caller_names_are_escaped(reception_client):
    CallerFactory(name="<script>alert(1)</script>")
    response = reception_client.get("/callers/")
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;" in response.content


# --- caller page --------------------------------------------------------------------------


def test_caller_page_shows_history_newest_first(reception_client, ann):
    old = CallFactory(
        caller=ann, summary="Old call", started_at=timezone.now() - timedelta(days=30)
    )
    new = CallFactory(
        caller=ann, summary="New call", started_at=timezone.now() - timedelta(hours=1)
    )
    response = reception_client.get(f"/callers/{ann.pk}/")
    assert [c.pk for c in response.context["page"].items] == [new.pk, old.pk]
    assert response.context["caller"].calls_week == 1


def test_caller_page_history_pages_with_htmx(reception_client, ann, settings):
    settings.CALLS_PAGE_SIZE = 2
    now = timezone.now()
    calls = [CallFactory(caller=ann, started_at=now - timedelta(hours=i)) for i in range(1, 6)]
    first = reception_client.get(f"/callers/{ann.pk}/")
    assert [c.pk for c in first.context["page"].items] == [calls[0].pk, calls[1].pk]
    second = reception_client.get(
        f"/callers/{ann.pk}/", {"cursor": next_cursor(first)}, HTTP_HX_REQUEST="true"
    )
    assert row_ids(second, "data-call-row") == [calls[2].pk, calls[3].pk]
    assert b"<h1" not in second.content


def test_caller_page_shows_each_number_with_its_label_in_order(reception_client, ann):
    """The numbers are read with the caller (NumbersOf, its labels alike), oldest first;
    "Log a call" dials the first."""
    CallerPhone.objects.create(caller=ann, number="+442079460958", label="work")
    response = reception_client.get(f"/callers/{ann.pk}/")
    assert [tuple(p) for p in response.context["phones"]] == [
        ("+12125550147", "Mobile"),
        ("+442079460958", "Work"),
    ]
    html = response.content.decode()
    assert html.index("(212) 555-0147") < html.index("Mobile") < html.index("Work")
    assert "/calls/new/?phone=%2B12125550147" in html


def test_caller_page_query_count_does_not_grow(reception_client, ann):
    CallFactory.create_batch(2, caller=ann)
    few = count_queries(reception_client, f"/callers/{ann.pk}/")
    CallFactory.create_batch(30, caller=ann)
    assert count_queries(reception_client, f"/callers/{ann.pk}/") == few
    assert few <= 14  # two of them for what is still open: callbacks and escalations


def test_the_caller_page_shows_what_is_still_open_first(reception_client, receptionist, ann):
    from calls.services import escalation_raise
    from tests.factories import CallbackFactory

    callback = CallbackFactory(call__caller=ann)
    mine = CallFactory(caller=ann, taken_by=receptionist)
    escalation = escalation_raise(call=mine, user=receptionist, playbook_steps=[])
    other = CallFactory(caller=ann)
    hidden = escalation_raise(call=other, user=other.taken_by, playbook_steps=[])
    content = reception_client.get(f"/callers/{ann.pk}/").content.decode()
    top = content[: content.index("Call history")]
    assert f'data-open-callback="{callback.pk}"' in top
    assert f'data-open-escalation="{escalation.pk}"' in top
    assert f'data-open-escalation="{hidden.pk}"' not in content  # not theirs to read


def test_the_escalations_are_asked_for_only_while_one_of_the_callers_is_open(
    manager_client, manager, ann
):
    """Whether an escalation of this caller waits is read with the caller: none open (or
    only another caller's, or only resolved ones) costs no query for the list."""
    from calls.services import escalation_raise, escalation_resolve

    other = CallFactory()
    escalation_raise(call=other, user=other.taken_by, playbook_steps=[])  # someone else's
    mine = CallFactory(caller=ann)
    none_open = count_queries(manager_client, f"/callers/{ann.pk}/")
    escalation = escalation_raise(call=mine, user=mine.taken_by, playbook_steps=[])
    response = manager_client.get(f"/callers/{ann.pk}/")
    assert f'data-open-escalation="{escalation.pk}"' in response.content.decode()
    assert count_queries(manager_client, f"/callers/{ann.pk}/") == none_open + 1
    escalation_resolve(escalation_id=escalation.pk, user=manager, resolution="Called back.")
    assert count_queries(manager_client, f"/callers/{ann.pk}/") == none_open
    page = manager_client.get(f"/callers/{ann.pk}/").content.decode()
    assert "data-open-escalation" not in page


# --- edit ---------------------------------------------------------------------------------


def phone_formset(caller, number="+12125550147", extra_number=""):
    phone = caller.phones.first()
    return {
        "phones-TOTAL_FORMS": "2",
        "phones-INITIAL_FORMS": "1",
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
        "version": str(caller.version),
        "phones-0-id": str(phone.pk),
        "phones-0-caller": str(caller.pk),
        "phones-0-number": number,
        "phones-0-label": "mobile",
        "phones-1-id": "",
        "phones-1-caller": str(caller.pk),
        "phones-1-number": extra_number,
        "phones-1-label": "work" if extra_number else "mobile",
    }


def test_receptionist_edits_a_caller_and_adds_a_number(reception_client, ann):
    data = {"name": "Ann Lee", "things_to_remember": "Call her Annie", "is_vip": "on"}
    response = reception_client.post(
        f"/callers/{ann.pk}/edit/", {**data, **phone_formset(ann, extra_number="(312) 555-0100")}
    )
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.things_to_remember == "Call her Annie"
    assert ann.is_vip
    assert {p.number.as_e164 for p in ann.phones.all()} == {"+12125550147", "+13125550100"}
    assert ann.history.first().history_type == "~"


def test_receptionist_cannot_set_the_caution_flag(reception_client, ann):
    data = {"name": "Ann Lee", "caution": "on", "caution_note": "Shouts"}
    reception_client.post(f"/callers/{ann.pk}/edit/", {**data, **phone_formset(ann)})
    ann.refresh_from_db()
    assert not ann.caution
    assert ann.caution_note == ""


def test_manager_sets_the_caution_flag(manager_client, ann):
    data = {"name": "Ann Lee", "caution": "on", "caution_note": "Shouts; hand over early"}
    manager_client.post(f"/callers/{ann.pk}/edit/", {**data, **phone_formset(ann)})
    ann.refresh_from_db()
    assert ann.caution
    assert ann.caution_note == "Shouts; hand over early"


def test_invalid_number_on_edit_keeps_what_was_typed(reception_client, ann):
    data = {"name": "Ann Changed", "things_to_remember": "Something new"}
    response = reception_client.post(
        f"/callers/{ann.pk}/edit/", {**data, **phone_formset(ann, extra_number="12")}
    )
    assert response.status_code == 200
    assert b"valid phone number" in response.content
    assert b"Ann Changed" in response.content
    assert b"Something new" in response.content
    ann.refresh_from_db()
    assert ann.name == "Ann Lee"


def test_name_over_the_limit_is_a_field_error(reception_client, ann):
    response = reception_client.post(
        f"/callers/{ann.pk}/edit/", {"name": "x" * 201, **phone_formset(ann)}
    )
    assert response.status_code == 200
    assert "name" in response.context["form"].errors


# --- lookup -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["(212) 555-0147", "212.555.0147", "+1 212 555 0147", "(212) 555"]
)
def test_lookup_finds_by_number_in_any_format(reception_client, ann, typed):
    response = reception_client.get("/callers/lookup/", {"phone": typed})
    assert response.status_code == 200
    assert [c.pk for c in response.context["callers"]] == [ann.pk]


def test_lookup_by_name(reception_client, ann):
    response = reception_client.get("/callers/lookup/", {"caller_name": "ann l"})
    assert [c.pk for c in response.context["callers"]] == [ann.pk]


def test_lookup_shows_repeat_calls_remember_and_recent_calls(reception_client, ann):
    ann.things_to_remember = "Dog is called Rex"
    ann.is_vip = True
    ann.save()
    now = timezone.now()
    second, first = earlier_today(2, now)
    CallFactory(caller=ann, summary="Asked about invoice", started_at=first)
    CallFactory(caller=ann, summary="Second question", started_at=second)
    for days in (3, 10, 20):
        CallFactory(caller=ann, summary=f"Old {days}", started_at=now - timedelta(days=days))
    response = reception_client.get("/callers/lookup/", {"phone": "212 555 0147"})
    content = response.content.decode()
    assert "3rd call today" in content
    assert "Dog is called Rex" in content
    assert "VIP" in content
    assert "Second question" in content
    assert "Old 20" not in content  # only the last 3 calls
    assert response.context["chosen"] == ann  # one caller has this number: it is them
    assert f'id="id_caller" value="{ann.pk}" hx-swap-oob="true"' in content


def test_lookup_shows_caution_first(reception_client):
    CallerFactory(name="Calm Carl", phone="+12125550100")
    difficult = CallerFactory(
        name="Difficult Dan",
        phone="+12125550101",
        caution=True,
        caution_note="Hand over to a manager",
    )
    response = reception_client.get("/callers/lookup/", {"phone": "(212) 555-01"})
    assert response.context["callers"][0].pk == difficult.pk
    content = response.content.decode()
    assert content.index("Hand over to a manager") < content.index("Calm Carl")


def test_lookup_with_nothing_found_offers_a_new_caller(reception_client):
    response = reception_client.get("/callers/lookup/", {"phone": "(646) 555-0199"})
    assert response.context["callers"] == []
    assert b"New caller" in response.content


def test_lookup_of_a_name_too_common_asks_for_more_of_it(reception_client, monkeypatch):
    from calls.views.callers import NAMED_IDS

    monkeypatch.setattr("callers.models.LOOKUP_NAMED_MOST", 2)
    monkeypatch.setattr("calls.views.callers.LOOKUP_NAMED_MOST", 2)
    monkeypatch.setattr(NAMED_IDS, "_compiled", {})  # its LIMIT is compiled in
    for n in range(3):
        CallerFactory(name=f"Olivia <i>{n}</i>")
    response = reception_client.get("/callers/lookup/", {"caller_name": "Olivia <i>"})
    content = response.content.decode()
    assert response.context["callers"] == []
    assert "More than 2 callers match “Olivia &lt;i&gt;”: type more of the name" in content
    assert "New caller" not in content
    # Typed on, the name is found, with its number and its calls counted: a fixed number
    # of queries (the session, the ids named, the callers, whoever has exactly that name,
    # their last calls).
    response = reception_client.get("/callers/lookup/", {"caller_name": "Olivia <i>1"})
    assert [c.name for c in response.context["callers"]] == ["Olivia <i>1</i>"]
    assert count_queries(reception_client, "/callers/lookup/?caller_name=Olivia+<i>1") == 5


def test_lookup_query_count_is_fixed(reception_client):
    for i in range(3):
        caller = CallerFactory(phone=f"+1212555010{i}")
        CallFactory.create_batch(2, caller=caller)
    few = count_queries(reception_client, "/callers/lookup/?phone=212555")
    for i in range(10):
        caller = CallerFactory(phone=f"+121255502{i:02d}")
        CallFactory.create_batch(4, caller=caller)
    assert count_queries(reception_client, "/callers/lookup/?phone=212555") == few
    # The session and person, the callers with their numbers and counts, their last calls.
    assert few == 3


# --- merge --------------------------------------------------------------------------------


def test_manager_merges_two_callers(manager_client, ann):
    dup = CallerFactory(name="Anne Lee", phone="+12125550199")
    CallFactory(caller=dup)
    search = manager_client.get(f"/callers/{dup.pk}/merge/", {"q": "Ann Lee"})
    assert [c.pk for c in search.context["candidates"]] == [ann.pk]
    confirm = manager_client.get(f"/callers/{dup.pk}/merge/", {"into": ann.pk})
    assert confirm.context["target"].pk == ann.pk
    response = manager_client.post(f"/callers/{dup.pk}/merge/", {"into": ann.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/callers/{ann.pk}/"
    assert not Caller.objects.filter(pk=dup.pk).exists()
    assert ann.calls.count() == 1


def test_merge_into_itself_or_nothing_is_a_400(manager_client, ann):
    assert manager_client.post(f"/callers/{ann.pk}/merge/", {"into": ann.pk}).status_code == 400
    assert manager_client.post(f"/callers/{ann.pk}/merge/", {}).status_code == 400
    assert manager_client.post(f"/callers/{ann.pk}/merge/", {"into": "abc"}).status_code == 400
    assert Caller.objects.filter(pk=ann.pk).exists()


def test_receptionist_cannot_merge(reception_client, ann):
    dup = CallerFactory()
    assert reception_client.post(f"/callers/{dup.pk}/merge/", {"into": ann.pk}).status_code == 403
    assert Caller.objects.filter(pk=dup.pk).exists()
