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
