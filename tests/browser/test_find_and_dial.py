"""A receptionist finds yesterday's call by the caller's number in the call log, then opens
the callback queue and sees the number to dial; and picks a caller in the "Caller" box."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import CallbackFactory, CallerFactory, CallFactory, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def yesterday_call():
    evelyn = CallerFactory(name="Evelyn Green", phone="+16178408318")
    yesterday = timezone.localtime() - timedelta(days=1)
    call = CallFactory(
        caller=evelyn,
        summary="Wants the lab results read to her",
        started_at=yesterday.replace(hour=10, minute=0, second=0, microsecond=0),
        outcome="callback_scheduled",
    )
    CallbackFactory(call=call, due_at=timezone.now() + timedelta(hours=2))
    # Calls that must not be found: another caller, and Evelyn's own from a week ago.
    CallFactory(caller=CallerFactory(name="Marcus Lee", phone="+12125550147"), summary="Other")
    CallFactory(caller=evelyn, summary="Last week", started_at=timezone.now() - timedelta(days=7))
    return call


def test_find_yesterdays_call_by_number_then_dial_from_the_queue(
    live_server, page, login, yesterday_call
):
    receptionist_user(username="rita")
    login("rita")
    page.get_by_role("link", name="Call log").click()
    page.get_by_role("link", name="Yesterday").click()
    page.get_by_label("Search").fill("617 840 8318")
    rows = page.locator("[data-call-row]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Evelyn Green")
    expect(rows.first).to_contain_text("Wants the lab results")
    # The URL keeps the search: a reload or a shared link finds the same call.
    expect(page).to_have_url(re.compile(r"[?&]q=617%20840%208318&.*date_from="))
    page.locator("[data-callback-nav]").click()
    row = page.locator(f"[data-callback-row='{yesterday_call.callbacks.get().pk}']")
    dial = row.locator("a[data-dial]")
    expect(dial).to_have_text("(617) 840-8318")
    expect(dial).to_have_attribute("href", "tel:+16178408318")
    expect(row.get_by_role("link", name="Evelyn Green")).to_have_attribute(
        "href", f"/callers/{yesterday_call.caller_id}/"
    )


def test_the_caller_box_finds_callers_as_they_are_typed(live_server, page, login, yesterday_call):
    CallerFactory(name="Evelyn Greenwood")
    receptionist_user(username="rita")
    login("rita")
    page.goto(f"{live_server.url}/calls/")
    page.get_by_label("Caller").fill("evelyn gr")
    choices = page.locator("[data-caller-choice]")
    expect(choices).to_have_count(2)
    page.get_by_role("link", name="Evelyn Green · (617) 840-8318").click()
    expect(page.locator(f"[data-chosen-caller='{yesterday_call.caller_id}']")).to_be_visible()
    expect(page.locator("[data-call-row]")).to_have_count(2)


def test_shortcuts_keep_what_was_typed_and_older_calls_work_right_after_typing(
    live_server, page, login, settings
):
    settings.CALLS_PAGE_SIZE = 3
    ann = CallerFactory(name="Ann Lee")
    now = timezone.now()
    for i in range(7):
        CallFactory(
            caller=ann, summary=f"Invoice question {i}", started_at=now - timedelta(hours=i)
        )
    CallFactory(summary="Something else")
    receptionist_user(username="rita")
    login("rita")
    page.goto(f"{live_server.url}/calls/")
    page.get_by_label("Search").fill("invoice")
    rows = page.locator("[data-call-row]")
    expect(page).to_have_url(re.compile(r"q=invoice"))
    expect(rows).to_have_count(3)
    # The first click after typing loads older calls (the box losing focus must not
    # reload the first page over them).
    page.get_by_role("link", name="Older calls").click()
    expect(rows).to_have_count(6)
    page.get_by_role("link", name="Today").click()
    expect(page).to_have_url(re.compile(r"q=invoice.*date_from="))
    expect(page.get_by_label("Search")).to_have_value("invoice")
    expect(page.locator("#id_date_from")).to_have_value(timezone.localdate().isoformat())
    expect(rows.first).to_contain_text("Invoice question")
