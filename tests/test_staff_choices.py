"""The staff a filter bar offers: read once per process, forgotten when staff change."""

import pytest
from django.test.utils import CaptureQueriesContext

from receptionist.roles import MANAGERS, ensure_groups, forget_staff_choices, staff_choices
from tests.factories import receptionist_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings):
    settings.STAFF_CHOICES_SECONDS = 60
    forget_staff_choices()


def names():
    return [name for _, name in staff_choices()]


def ids():
    return [pk for pk, _ in staff_choices()]


def test_read_once_then_kept(kept, receptionist, django_assert_num_queries):
    from django.db import connection

    with CaptureQueriesContext(connection) as first:
        assert ids() == [receptionist.pk]
    assert len(first) == 1
    with django_assert_num_queries(0):
        assert ids() == [receptionist.pk]


def test_a_new_colleague_a_new_name_and_a_role_change_are_seen_at_once(kept, receptionist):
    assert ids() == [receptionist.pk]
    sam = receptionist_user(username="sam")
    assert ids() == [receptionist.pk, sam.pk]
    sam.first_name, sam.last_name = "Sam", "Stone"
    sam.save()
    assert names()[1] == "Sam Stone"
    sam.groups.clear()
    assert ids() == [receptionist.pk]
    sam.groups.add(ensure_groups()[MANAGERS])
    assert ids() == [receptionist.pk, sam.pk]
    sam.delete()
    assert ids() == [receptionist.pk]


def test_the_call_log_offers_them_and_still_checks_a_person_sent(kept, reception_client, manager):
    page = reception_client.get("/calls/").content.decode()
    assert f'<option value="{manager.pk}">' in page
    assert reception_client.get("/calls/?taken_by=999999").context["filter"].form.errors


def test_each_role_is_kept_apart_and_all_are_forgotten_together(kept, receptionist, manager):
    assert [pk for pk, _ in staff_choices(MANAGERS)] == [manager.pk]
    assert set(ids()) == {receptionist.pk, manager.pk}
    manager.groups.clear()
    assert staff_choices(MANAGERS) == []
    assert ids() == [receptionist.pk]


def test_filtering_by_a_person_offered_costs_no_query_and_anyone_else_is_checked(
    kept, reception_client, receptionist, manager
):
    from tests.querycounts import count_queries

    reception_client.get("/calls/")  # the staff are read once, here
    every = count_queries(reception_client, "/calls/")
    assert count_queries(reception_client, f"/calls/?taken_by={manager.pk}") == every
    assert count_queries(reception_client, f"/calls/?taken_by={receptionist.pk}") == every
    outsider = receptionist_user(username="gone")
    outsider.groups.clear()  # no longer front desk staff: forgotten, and refused
    response = reception_client.get(f"/calls/?taken_by={outsider.pk}")
    assert response.context["filter"].form.errors["taken_by"]


@pytest.mark.django_db
def test_fetch_people_reads_the_people_named_in_one_query(django_assert_num_queries):
    """Each foreign key named gets its person (or None), as select_related would give,
    in one query whatever their number; nobody named: no query."""
    from followups.models import Callback
    from receptionist.roles import fetch_people
    from tests.factories import CallbackFactory, UserFactory

    people = [UserFactory() for _ in range(10)]
    callbacks = [
        CallbackFactory(assigned_to=people[n], claimed_by=people[n + 1] if n % 2 else None)
        for n in range(9)
    ]
    for count in (1, 3, 9):  # up to the statement's 8 people, and beyond
        fresh = list(Callback.objects.filter(pk__in=[c.pk for c in callbacks[:count]]))
        named = [(c, "assigned_to") for c in fresh] + [(c, "claimed_by") for c in fresh]
        with django_assert_num_queries(1):
            fetch_people(named)
        with django_assert_num_queries(0):
            for callback in fresh:
                original = next(c for c in callbacks if c.pk == callback.pk)
                assert callback.assigned_to == original.assigned_to
                assert callback.claimed_by == original.claimed_by
    with django_assert_num_queries(0):
        fetch_people([(fresh[1], "closed_by")])
    assert fresh[1].closed_by is None
