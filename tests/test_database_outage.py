"""The database going away while the app runs (a PostgreSQL restart, a failover): every
page answers a clear 503 (and /healthz a 503 for the balancer), a call typed meanwhile is
kept on the page and saved once when sent again, and the app recovers by itself.

The outage is real: the connection is pointed at a port nobody listens on (PostgreSQL) or
a file that cannot be opened (SQLite), and closed, so the next query fails to connect as it
would during a restart."""

import html
import re
import socket
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from calls.models import Call
from tests.calls.test_views import form_data
from tests.factories import receptionist_user

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def database_down():
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    else:
        connection.settings_dict["NAME"] = "/nonexistent/directory/calls.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def kept_fields(page: str) -> list[tuple[str, str]]:
    """The hidden fields of the 503 page's retry form, as a browser would send them."""
    return [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    ]


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


@pytest.fixture
def rita_at_the_desk():
    receptionist_user(username="rita")
    # What the browser gets: the page the handler makes of the error, not the error; and
    # the CSRF check a browser's forms pass (the retry form must pass it too).
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/",
        {
            "username": "rita",
            "password": "correct-horse-battery",
            "csrfmiddlewaretoken": csrf_token(client.get("/accounts/login/")),
        },
    )
    assert response.status_code == 302
    return client


def test_pages_answer_503_and_healthz_too_while_the_database_is_down(rita_at_the_desk):
    with database_down():
        response = rita_at_the_desk.get("/calls/")
        assert response.status_code == 503
        assert response["Retry-After"] == "10"
        assert b"Not available for a moment" in response.content
        assert Client().get("/healthz").status_code == 503
        response = rita_at_the_desk.get("/api/v1/calls/")
        assert response.status_code == 503
        assert response.json()["detail"].startswith("The database is not answering")
    # Back by itself: nothing restarted, the next request reconnects.
    assert rita_at_the_desk.get("/calls/").status_code == 200
    assert Client().get("/healthz").status_code == 200


def test_a_call_sent_during_the_outage_is_kept_and_saved_once_afterwards(rita_at_the_desk):
    form = rita_at_the_desk.get("/calls/new/")
    key = re.search(r'name="submission_key" value="([^"]+)"', form.content.decode())[1]
    typed = form_data(
        csrfmiddlewaretoken=csrf_token(form),
        submission_key=key,
        summary='Wants to move <b>Thursday</b>\'s "appointment"',
        notes="Line one\nLine two",
    )
    with database_down():
        response = rita_at_the_desk.post("/calls/new/", typed)
    assert response.status_code == 503
    page = response.content.decode()
    assert "nothing you typed is lost" in page
    # What was typed is listed (escaped) and kept in the retry form, every field of it.
    assert "Wants to move &lt;b&gt;Thursday&lt;/b&gt;&#x27;s &quot;appointment&quot;" in page
    assert "Line one<br>Line two" in page
    resent = kept_fields(page)
    assert dict(resent) == typed
    assert Call.objects.count() == 0

    # The database is back: "Try saving again" logs the call, and a second click does not
    # log it twice.
    for _ in range(2):
        response = rita_at_the_desk.post("/calls/new/", dict(resent))
        assert response.status_code == 302
    call = Call.objects.get()
    assert (call.summary, call.notes) == (typed["summary"], typed["notes"])


def test_the_outage_page_sends_forms_to_this_site_only_and_never_echoes_secrets(
    rita_at_the_desk,
):
    with database_down():
        response = rita_at_the_desk.post(
            "//evil.example/",
            {"summary": "kept", "secret": "whsec-123", "new_password1": "pw", "api_token": "t"},
        )
        healthz = Client().get("/healthz")
    assert response.status_code == 503
    page = response.content.decode()
    assert 'action="/"' in page and "evil.example" not in page
    assert "whsec-123" not in page and "pw" not in re.findall(r'value="([^"]*)"', page)
    assert '"t"' not in page
    assert "form-action 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert healthz.status_code == 503 and healthz["Retry-After"] == "10"
