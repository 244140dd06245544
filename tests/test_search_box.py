"""The navigation's search box (/search/): callers and calls at once, scoped, escaped."""

import pytest

from callers.models import Business, Caller
from callers.services import business_save
from receptionist.models import StaffBusiness
from tests.factories import (
    CallerFactory,
    CallFactory,
    UserFactory,
    manager_user,
    receptionist_user,
)
from tests.querycounts import count_queries


@pytest.fixture
def found(db):
    maya = manager_user(username="maya-s")
    office = Business.objects.default()
    other = business_save(user=maya, name="Other Practice")
    wendy = CallerFactory(name="Wendy Walsh", phone="+12125550199", organisation="Acme <b>Ltd</b>")
    CallFactory(caller=wendy, summary="Asked about the invoice", message="Ring her at noon")
    CallFactory(caller=CallerFactory(name="Norbert Nobody"), summary="Dental cleaning")
    hidden = CallerFactory(name="Wendy Elsewhere", business=other)
    CallFactory(caller=hidden, business=other, summary="Invoice for the other practice")
    rita = receptionist_user(username="rita-s")
    StaffBusiness.objects.create(user=rita, business=office)
    return {"maya": maya, "rita": rita}


def search(client, q):
    response = client.get("/search/", {"q": q})
    assert response.status_code == 200
    return response


def test_a_name_finds_the_caller_and_the_calls_that_mention_it(found, client):
    """Calls are found by their own words: a caller's calls are on the caller's page (the
    first group), the calls group holds those that say the name."""
    norbert = Caller.objects.get(name="Norbert Nobody")
    CallFactory(caller=norbert, summary="Passed on a note for Wendy")
    client.force_login(found["rita"])
    response = search(client, "wendy")
    assert [c.name for c in response.context["callers"]] == ["Wendy Walsh"]
    assert [c.summary for c in response.context["calls"]] == ["Passed on a note for Wendy"]
    html = response.content.decode()
    assert "Acme &lt;b&gt;Ltd&lt;/b&gt;" in html
    assert "Elsewhere" not in html  # another business's caller: not for Rita


def test_a_number_in_any_format_and_a_word_of_the_message(found, client):
    client.force_login(found["rita"])
    assert [c.name for c in search(client, "(212) 555-0199").context["callers"]] == ["Wendy Walsh"]
    calls = search(client, "noon").context["calls"]
    assert [c.summary for c in calls] == ["Asked about the invoice"]


def test_a_manager_of_every_business_finds_both(found, client):
    client.force_login(found["maya"])
    summaries = {c.summary for c in search(client, "invoice").context["calls"]}
    assert summaries == {"Asked about the invoice", "Invoice for the other practice"}


def test_markup_and_an_empty_search(found, client):
    client.force_login(found["rita"])
    response = search(client, "<script>alert(1)</script>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.content.decode()
    assert "<script>alert(1)" not in response.content.decode()
    assert search(client, "").context["callers"] == []
    assert client.get("/search/", {"q": "x" * 201}).status_code == 400


@pytest.mark.parametrize(
    ("who", "status"), [("receptionist", 200), ("manager", 200), ("nobody", 403)]
)
def test_who_may_search(db, client, who, status):
    person = {
        "receptionist": lambda: receptionist_user(username="r-s"),
        "manager": lambda: manager_user(username="m-s"),
        "nobody": lambda: UserFactory(username="n-s"),
    }[who]()
    client.force_login(person)
    assert client.get("/search/", {"q": "x"}).status_code == status
    client.logout()
    assert client.get("/search/", {"q": "x"}).status_code == 302


def test_the_search_queries_do_not_grow_with_the_matches(found, client):
    CallFactory(caller=Caller.objects.get(name="Norbert Nobody"), summary="A note for Wendy")
    client.force_login(found["rita"])
    few = count_queries(client, "/search/?q=wendy")
    for n in range(12):
        caller = CallerFactory(name=f"Wendy Number{n}")
        CallFactory(caller=caller, summary=f"Call {n} for Wendy")
    response = client.get("/search/?q=wendy")
    assert len(response.context["callers"]) == 8 and response.context["more_callers"]
    assert len(response.context["calls"]) == 8 and response.context["more_calls"]
    assert count_queries(client, "/search/?q=wendy") == few


def test_the_navigation_has_the_box_for_the_front_desk(found, client):
    client.force_login(found["rita"])
    assert 'id="nav-search"' in client.get("/calls/").content.decode()
