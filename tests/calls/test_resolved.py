"""The managers' "Resolved" escalations: filters by caller, manager and date; keyset pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Escalation
from calls.services import escalation_raise, escalation_resolve
from tests.factories import CallerFactory, CallFactory, manager_user
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db


def resolved(caller=None, by=None, debrief="", days_ago=0):
    call = CallFactory(caller=caller or CallerFactory())
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    escalation_resolve(
        escalation_id=escalation.pk, user=by or manager_user(), resolution="Done", debrief=debrief
    )
    Escalation.objects.filter(pk=escalation.pk).update(
        resolved_at=timezone.now() - timedelta(days=days_ago)
    )
    return escalation


def test_only_managers_see_past_escalations(client, reception_client, manager_client):
    assert client.get("/escalations/resolved/").status_code == 302
    assert reception_client.get("/escalations/resolved/").status_code == 403
    assert manager_client.get("/escalations/resolved/").status_code == 200


def test_filters_by_caller_manager_and_date(manager_client):
    omar = manager_user(username="omar", first_name="Omar", last_name="Haddad")
    ann = CallerFactory(name="Ann Lee")
    mine = resolved(caller=ann, by=omar, debrief="Well handled", days_ago=1)
    other = resolved(days_ago=10)
    still_open = escalation_raise(call=CallFactory(caller=ann), user=omar, playbook_steps=[])

    every = manager_client.get("/escalations/resolved/")
    assert row_ids(every, "data-escalation-row") == [mine.pk, other.pk]
    assert still_open.pk not in row_ids(every, "data-escalation-row")
    assert "Well handled" in every.content.decode()
    by_caller = manager_client.get("/escalations/resolved/", {"caller": "ann l"})
    assert row_ids(by_caller, "data-escalation-row") == [mine.pk]
    by_manager = manager_client.get("/escalations/resolved/", {"resolved_by": omar.pk})
    assert row_ids(by_manager, "data-escalation-row") == [mine.pk]
    since = (timezone.localdate() - timedelta(days=3)).isoformat()
    recent = manager_client.get("/escalations/resolved/", {"date_from": since})
    assert row_ids(recent, "data-escalation-row") == [mine.pk]


@pytest.mark.parametrize(
    "params", [{"date_to": "9999-12-31"}, {"resolved_by": "²"}, {"caller": "x" * 201}]
)
def test_bad_filters_are_a_message(manager_client, params):
    resolved()
    response = manager_client.get("/escalations/resolved/", params)
    assert response.status_code == 200
    assert "data-filter-errors" in response.content.decode()
    assert row_ids(response, "data-escalation-row") == []


def test_pages_and_query_counts_do_not_grow(manager_client, settings):
    settings.CALLS_PAGE_SIZE = 3
    for days in range(4):
        resolved(days_ago=days)
    first = manager_client.get("/escalations/resolved/")
    cursor = next_cursor(first)
    more = manager_client.get(f"/escalations/resolved/?cursor={cursor}", HTTP_HX_REQUEST="true")
    assert len(row_ids(first, "data-escalation-row")) == 3
    assert len(row_ids(more, "data-escalation-row")) == 1
    few = count_queries(manager_client, "/escalations/resolved/")
    for days in range(10):
        resolved(days_ago=days)
    assert count_queries(manager_client, "/escalations/resolved/") == few
    assert few <= 10
