"""Privacy: opening a caller's page is recorded (who, which caller, when), and managers read
that record per caller and per person."""

import pytest
from django.test import Client

from callers.models import Business, CallerView
from callers.services import business_save, caller_merge, caller_viewed
from receptionist.models import StaffBusiness
from tests.factories import CallerFactory, CallFactory, manager_user, receptionist_user
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people():
    return {"rita": receptionist_user(username="rita"), "maya": manager_user(username="maya")}


def test_the_service_records_who_opened_whose_record_and_when(people):
    ann = CallerFactory(name="Ann Lee")
    opening = caller_viewed(caller_id=ann.pk, user=people["rita"])
    assert (opening.caller, opening.viewed_by) == (ann, people["rita"])
    assert opening.viewed_at is not None


def test_the_opening_is_one_insert_with_no_transaction_around_it(people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ann = CallerFactory(name="Ann Lee")
    rita = logged_in(people["rita"])
    rita.get(f"/callers/{ann.pk}/")
    with CaptureQueriesContext(connection) as context:
        assert rita.get(f"/callers/{ann.pk}/").status_code == 200
    sql = [q["sql"] for q in context.captured_queries]
    assert sum("INSERT" in q and "callers_callerview" in q for q in sql) == 1
    # Inside the test's own transaction an atomic block is a savepoint: none.
    assert not [q for q in sql if q.startswith(("SAVEPOINT", "BEGIN", "RELEASE"))]
    assert count_queries(rita, f"/callers/{ann.pk}/") == len(sql) == 9


def test_opening_the_page_or_the_api_caller_is_recorded_each_time(people):
    ann = CallerFactory(name="Ann Lee")
    CallFactory.create_batch(60, caller=ann)
    rita = logged_in(people["rita"])
    response = rita.get(f"/callers/{ann.pk}/")
    assert response.status_code == 200
    # The next calls of the history, as htmx asks for them: read too.
    more = rita.get(f"/callers/{ann.pk}/?cursor={next_cursor(response)}", HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    assert rita.get(f"/api/v1/callers/{ann.pk}/").status_code == 200
    assert CallerView.objects.filter(caller=ann, viewed_by=people["rita"]).count() == 3
    # A caller the person may not read: nothing is recorded.
    assert rita.get("/callers/999999/").status_code == 404
    assert CallerView.objects.count() == 3


def test_managers_read_the_openings_per_caller_and_per_person(people):
    ann, bob = CallerFactory(name="Ann Lee"), CallerFactory(name="Bob <b>Ray</b>")
    caller_viewed(caller_id=ann.pk, user=people["rita"])
    caller_viewed(caller_id=bob.pk, user=people["rita"])
    caller_viewed(caller_id=ann.pk, user=people["maya"])
    maya = logged_in(people["maya"])

    everyone = maya.get("/callers/opened/")
    assert everyone.status_code == 200
    assert len(row_ids(everyone, "data-opening")) == 3
    assert "Bob &lt;b&gt;Ray&lt;/b&gt;" in everyone.content.decode()

    of_ann = maya.get(f"/callers/opened/?caller={ann.pk}")
    assert {o.viewed_by.username for o in of_ann.context["page"].items} == {"rita", "maya"}
    by_rita = maya.get(f"/callers/opened/?person={people['rita'].pk}")
    assert {o.caller.name for o in by_rita.context["page"].items} == {"Ann Lee", "Bob <b>Ray</b>"}

    # Linked from the caller's page and from the people list.
    assert f'href="/callers/opened/?caller={ann.pk}"' in maya.get(f"/callers/{ann.pk}/").text
    assert (
        f'href="/callers/opened/?person={people["rita"].pk}"'
        in maya.get("/businesses/people/").text
    )


def test_the_front_desk_cannot_read_the_openings(people):
    rita = logged_in(people["rita"])
    assert rita.get("/callers/opened/").status_code == 403
    ann = CallerFactory(name="Ann Lee")
    assert "/callers/opened/" not in rita.get(f"/callers/{ann.pk}/").text


def test_a_manager_limited_to_a_business_reads_its_callers_openings_only(people):
    harbor = business_save(user=people["maya"], name="Harbor Vet")
    theirs = CallerFactory(name="Ann Lee", business=harbor)
    ours = CallerFactory(name="Bob Ray", business=Business.objects.default())
    limited = manager_user(username="lee")
    StaffBusiness.objects.create(user=limited, business=harbor)
    caller_viewed(caller_id=theirs.pk, user=people["rita"])
    caller_viewed(caller_id=ours.pk, user=people["rita"])
    lee = logged_in(limited)
    page = lee.get(f"/callers/opened/?person={people['rita'].pk}")
    assert [o.caller.name for o in page.context["page"].items] == ["Ann Lee"]
    assert lee.get(f"/callers/opened/?caller={ours.pk}").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["caller=abc", "person=-1", "caller=1%00", "person=99999999999999999999", "cursor=forged"],
)
def test_bad_parameters_are_a_400_with_the_reason(people, query):
    response = logged_in(people["maya"]).get(f"/callers/opened/?{query}")
    assert response.status_code == 400


def test_the_openings_page_reads_a_fixed_number_of_queries(people):
    maya = logged_in(people["maya"])
    ann = CallerFactory(name="Ann Lee")
    caller_viewed(caller_id=ann.pk, user=people["rita"])
    few = count_queries(maya, "/callers/opened/")
    for _ in range(30):
        caller_viewed(caller_id=CallerFactory().pk, user=people["rita"])
    assert count_queries(maya, "/callers/opened/") == few
    assert count_queries(maya, f"/callers/opened/?caller={ann.pk}") == few + 1


def test_a_merge_moves_the_openings_to_the_caller_kept(people):
    ann, copy = CallerFactory(name="Ann Lee"), CallerFactory(name="Ann Lee")
    caller_viewed(caller_id=copy.pk, user=people["rita"])
    caller_merge(source=copy, target=ann, user=people["maya"])
    assert list(CallerView.objects.values_list("caller_id", flat=True)) == [ann.pk]


def test_the_edit_form_and_each_page_of_calls_are_recorded_too(people):
    ann = CallerFactory(name="Ann Lee")
    CallFactory.create_batch(60, caller=ann)
    rita = logged_in(people["rita"])
    assert rita.get(f"/callers/{ann.pk}/edit/").status_code == 200
    first = rita.get(f"/callers/{ann.pk}/")
    rita.get(f"/callers/{ann.pk}/?cursor={next_cursor(first)}", HTTP_HX_REQUEST="true")
    assert CallerView.objects.filter(caller=ann).count() == 3


def test_a_limited_manager_names_only_the_people_of_their_businesses(people):
    harbor = business_save(user=people["maya"], name="Harbor Vet")
    limited = manager_user(username="lee")
    StaffBusiness.objects.create(user=limited, business=harbor)
    elsewhere = receptionist_user(username="zed")
    StaffBusiness.objects.create(
        user=elsewhere, business=business_save(user=people["maya"], name="Other Vet")
    )
    lee = logged_in(limited)
    assert lee.get(f"/callers/opened/?person={elsewhere.pk}").status_code == 404
    harbor_desk = receptionist_user(username="hal")
    StaffBusiness.objects.create(user=harbor_desk, business=harbor)
    assert lee.get(f"/callers/opened/?person={harbor_desk.pk}").status_code == 200
