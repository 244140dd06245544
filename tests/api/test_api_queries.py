"""The API's queries: a fixed number per request, whatever the number of rows (each list
reads its page as values() rows with their joins: no query per row), pinned here."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.services import escalation_raise
from tests.api.test_calls_api import token_client
from tests.factories import CallbackFactory, CallerFactory, CallFactory

NUMBER = "+12125550147"


def _rows(how_many: int, receptionist):
    """`how_many` more callers with that number, each with a call (taken by the
    receptionist, some with an escalation) and an open callback."""
    for n in range(how_many):
        caller = CallerFactory(name=f"Smith {n}", phone=NUMBER)
        call = CallFactory(caller=caller, taken_by=receptionist, summary=f"invoice {n}")
        CallbackFactory(call=call)
        if n % 2:
            escalation_raise(call=call, user=receptionist, playbook_steps=[])


def _queries(client, url: str, auth: dict) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **auth)
    assert response.status_code == 200, response.content
    assert response.json()  # the answer was read (not a 304 or an empty page)
    return len(context.captured_queries)


# (address, most queries on PostgreSQL, most on SQLite): the token's query is one of them.
PINNED = [
    # The active businesses (3 queries here, where tests keep them for no time: kept in
    # production), who is on call for the business (2), then the number's callers with
    # their numbers, counts, last calls, callbacks and escalations: in one statement on
    # PostgreSQL, each list in its own on SQLite.
    (f"/api/v1/lookup/?phone={NUMBER[1:]}", 7, 10),
    ("/api/v1/calls/", 2, 2),
    ("/api/v1/calls/?q=invoice", 4, 4),
    ("/api/v1/calls/?q=invoice&sort=best", 4, 4),
    ("/api/v1/callers/", 2, 2),
    ("/api/v1/callers/?q=smith", 2, 2),
    ("/api/v1/callbacks/", 2, 2),
    ("/api/v1/escalations/", 2, 2),
]


@pytest.mark.parametrize("url,postgresql,sqlite", PINNED)
@pytest.mark.parametrize("role", ["receptionist", "manager"])
def test_an_api_list_reads_a_fixed_number_of_queries(db, request, url, postgresql, sqlite, role):
    receptionist = request.getfixturevalue("receptionist")
    person = request.getfixturevalue(role)
    client, auth = token_client(person)
    client.get("/api/v1/businesses/", **auth)  # the token's first use is written down
    _rows(2, receptionist)
    few = _queries(client, url, auth)
    _rows(8, receptionist)
    assert _queries(client, url, auth) == few
    assert few <= (postgresql if connection.vendor == "postgresql" else sqlite)
