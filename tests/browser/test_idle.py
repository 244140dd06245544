"""Shared front-desk computers: an idle session warns, ends, and gives back what was typed
after logging in again; typing keeps it alive (receptionist/idle.py, static/js/app.js)."""

import os
import re
import time

import pytest
from playwright.sync_api import expect

from calls.models import Call
from tests.factories import receptionist_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # The page's timers and the session's end are the same on both databases: CI runs them
    # in its PostgreSQL run, and keeps its SQLite run (the suite again) within its time.
    pytest.mark.skipif(
        bool(os.environ.get("CI")) and not os.environ.get("DATABASE_URL"),
        reason="run in CI's PostgreSQL run",
    ),
]


@pytest.fixture
def idle_eight_seconds(settings):
    """Seconds instead of minutes: the warning shows from a third before the end (a minute
    before with the real setting), the page tells the server every 2 s that someone types."""
    settings.SESSION_IDLE_SECONDS = 8


@pytest.fixture
def rita():
    return receptionist_user(username="rita")


def test_an_idle_call_form_warns_logs_out_and_comes_back_as_typed(
    live_server, page, login, rita, idle_eight_seconds
):
    login("rita")
    page.locator("#id_phone").fill("(646) 555-0199")
    page.locator("#id_caller_name").fill("Idle Ida")
    page.locator("label[for=id_nature_2]").click()
    page.locator("#id_summary").fill("Asked about <b>the</b> invoice")
    # Hands off the keyboard and the mouse: the warning, then the login page.
    warning = page.locator("[data-idle-warning]")
    expect(warning).to_be_visible(timeout=12_000)
    expect(warning).to_contain_text("you will be logged out in")
    expect(page).to_have_url(
        re.compile(r"/accounts/login/\?next=%2Fcalls%2Fnew%2F&idle=1$"), timeout=12_000
    )
    expect(page.locator("[data-idle-logged-out]")).to_contain_text("You were logged out after")
    # Logged out for real: the server ended the session.
    assert page.request.get(f"{live_server.url}/calls/", max_redirects=0).status == 302

    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/calls/new/")
    expect(page.locator("[data-draft-restored]")).to_contain_text("not saved yet")
    expect(page.locator("#id_caller_name")).to_have_value("Idle Ida")
    expect(page.locator("#id_summary")).to_have_value("Asked about <b>the</b> invoice")
    expect(page.locator("input[name=nature][value=urgent]")).to_be_checked()
    page.locator("#id_summary").press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Idle Ida logged")
    assert Call.objects.get().summary == "Asked about <b>the</b> invoice"


def test_typing_keeps_the_session_past_the_limit(
    live_server, page, login, rita, idle_eight_seconds
):
    login("rita")
    page.locator("#id_phone").fill("(646) 555-0198")
    page.locator("#id_caller_name").fill("Busy Bea")
    summary = page.locator("#id_summary")
    summary.click()
    # Twice the limit, typing without asking the server for anything.
    started = time.monotonic()
    while time.monotonic() - started < 16:
        page.keyboard.type("a")
        page.wait_for_timeout(700)
    expect(page.locator("[data-idle-warning]")).to_have_count(0)
    summary.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Busy Bea logged")
    assert Call.objects.get().caller.name == "Busy Bea"


def test_another_person_logging_in_at_the_same_computer_never_gets_the_text(
    live_server, page, login, rita, idle_eight_seconds
):
    receptionist_user(username="sam")
    login("rita")
    page.locator("#id_caller_name").fill("Private Pat")
    page.locator("#id_summary").fill("Something private")
    expect(page).to_have_url(re.compile(r"idle=1$"), timeout=20_000)
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/calls/new/")
    expect(page.locator("#id_summary")).to_have_value("")
    expect(page.locator("[data-draft-restored]")).to_have_count(0)


def test_a_session_ended_elsewhere_keeps_the_call_being_typed(live_server, page, login, rita):
    """The password changed from another computer (or a manager set a new one): the page
    notices at its next badge refresh, keeps the text and says why on the login page."""
    login("rita")
    page.locator("#id_caller_name").fill("Elsewhere Ed")
    page.locator("#id_summary").fill("Typed while the password changed")
    rita.set_password("a-brand-new-passphrase")
    rita.save()
    expect(page).to_have_url(
        re.compile(r"/accounts/login/\?next=%2Fcalls%2Fnew%2F&ended=1$"), timeout=20_000
    )
    expect(page.locator("[data-session-ended]")).to_contain_text("Your session ended")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("a-brand-new-passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/calls/new/")
    expect(page.locator("#id_summary")).to_have_value("Typed while the password changed")
    expect(page.locator("[data-draft-restored]")).to_be_visible()
