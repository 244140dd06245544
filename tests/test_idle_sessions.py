"""Idle sessions on shared front-desk computers end by themselves (receptionist.idle): the
server's side. tests/browser/test_idle.py drives the page's warning and the text kept."""

import time

import pytest
from django.test import Client

from receptionist.idle import SEEN, ping_seconds
from tests.factories import manager_user, receptionist_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def idle_two_minutes(settings):
    settings.SESSION_IDLE_SECONDS = 120
    assert ping_seconds(120) == 30


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def last_seen(client, *, ago: int | None = None) -> int | None:
    """The moment the session last saw activity; with `ago`, set it that many seconds ago."""
    session = client.session
    if ago is not None:
        session[SEEN] = int(time.time()) - ago
        session.save()
    return session.get(SEEN)


def test_logging_in_is_the_first_activity(idle_two_minutes):
    rita = logged_in(receptionist_user(username="rita"))
    assert abs(last_seen(rita) - time.time()) < 5


def test_a_session_idle_too_long_ends_and_the_login_page_says_why(idle_two_minutes):
    rita = logged_in(receptionist_user(username="rita"))
    # The limit and one ping interval (the page's last activity may be that much newer).
    last_seen(rita, ago=120 + 30 + 1)
    response = rita.get("/calls/?nature=urgent")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/calls/%3Fnature%3Durgent&idle=1"
    page = rita.get(response["Location"]).content.decode()
    assert "You were logged out after 2 minutes with nothing done on this computer" in page
    # The session is gone for good, not only for that request.
    assert rita.get("/calls/").status_code == 302
    assert rita.get("/calls/")["Location"] == "/accounts/login/?next=/calls/"


def test_activity_within_the_limit_keeps_the_session_and_is_written_once_an_interval(
    idle_two_minutes, django_assert_num_queries
):
    rita = logged_in(receptionist_user(username="rita"))
    seen = last_seen(rita, ago=120 + 29)
    assert rita.get("/calls/").status_code == 200
    now = last_seen(rita)
    assert now > seen and abs(now - time.time()) < 5
    # Within one ping interval of the last one: not written again (no session write).
    seen = last_seen(rita, ago=10)
    rita.get("/calls/")
    assert last_seen(rita) == seen


def test_polls_are_not_activity_and_stop_once_the_session_ended(idle_two_minutes):
    maya = logged_in(manager_user(username="maya"))
    seen = last_seen(maya, ago=100)
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_X_POLL": "1"}
    assert maya.get("/escalations/count/", **poll).status_code == 200
    assert last_seen(maya) == seen
    last_seen(maya, ago=200)
    # The badge's answer to an ended session stops its polling (htmx's 286).
    assert maya.get("/escalations/count/", **poll).status_code == 286


def test_the_page_saying_someone_is_typing_keeps_the_session(idle_two_minutes):
    rita = logged_in(receptionist_user(username="rita"))
    seen = last_seen(rita, ago=140)
    assert rita.get("/accounts/alive/").status_code == 204
    assert last_seen(rita) > seen


def test_no_limit_when_the_setting_is_zero(settings):
    settings.SESSION_IDLE_SECONDS = 0
    rita = logged_in(receptionist_user(username="rita"))
    last_seen(rita, ago=10 * 24 * 3600)
    assert rita.get("/calls/").status_code == 200
    assert 'data-idle="0"' in rita.get("/calls/new/").content.decode()


def test_pages_tell_the_script_the_limit_and_the_polls_are_marked(idle_two_minutes):
    maya = logged_in(manager_user(username="maya"))
    page = maya.get("/escalations/").content.decode()
    assert 'data-idle="120" data-idle-ping="30"' in page
    assert 'id="nav-escalation-count" data-poll' in page
    assert 'id="escalation-poll" data-poll' in page


def test_every_element_that_refreshes_itself_is_marked_as_a_poll():
    """A new self-refreshing element without data-poll would keep idle sessions alive."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    refreshing = []
    for template in [*root.glob("jinja/**/*.html"), *root.glob("templates/**/*.html")]:
        for tag in re.findall(
            r"<[a-z]+\b[^>]*hx-trigger=\"[^\"]*every [^>]*>", template.read_text()
        ):
            refreshing.append((template.name, tag))
            assert "data-poll" in tag, (template, tag)
    assert len(refreshing) >= 4
