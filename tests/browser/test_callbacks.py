"""A promise to call back, from the call form to the queue, through attempts to an outcome."""

import re

import pytest
from playwright.sync_api import expect

from followups.models import Callback, Priority
from tests.factories import CallbackFactory, CallerFactory, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_callback_from_promise_to_outcome(live_server, browser, log_in):
    receptionist_user(username="rita", first_name="Rita", last_name="Reyes")
    receptionist_user(username="bob", first_name="Bob", last_name="Ray")
    rita = browser.new_context().new_page()
    bob = browser.new_context().new_page()

    # Rita promises a callback while the caller is on the phone.
    log_in(rita, "rita")
    expect(rita.locator("#id_phone")).to_be_focused()
    rita.keyboard.type("(646) 555-0199")
    rita.locator("#id_caller_name").fill("Carla Cruz")
    rita.locator("label[for=id_nature_2]").click()  # Urgent
    rita.locator("label[for=id_urgency_2]").click()  # High
    rita.locator("#id_summary").fill("Cat not eating since yesterday")
    expect(rita.locator("#id_callback_due_at")).to_be_hidden()
    rita.get_by_label("Call back", exact=True).check()
    # The policy fills the due time and the words to say; the outcome follows. (Near
    # midnight, or before a weekend, the time falls on another day: the words say which.)
    expect(rita.locator("#id_callback_promise")).to_have_value(
        re.compile(
            r"^We'll call you back (tomorrow |on [A-Z][a-z]+(, [A-Z][a-z]+ \d{1,2})? )?"
            r"by \d{1,2}:\d\d [ap]m\.$"
        )
    )
    expect(rita.locator("#id_callback_due_at")).not_to_have_value("")
    expect(rita.locator("#id_outcome")).to_have_value("callback_scheduled")
    rita.locator("#id_callback_window").fill("before 6 pm")
    rita.keyboard.press("Control+Enter")
    expect(rita.locator(".alert-success")).to_contain_text("Callback promised")
    callback = Callback.objects.get()
    assert callback.preferred_window == "before 6 pm"

    # The caller rings again: the form says so as the number is typed.
    rita.goto(f"{live_server.url}/calls/new/")
    expect(rita.locator("#id_phone")).to_be_focused()
    rita.keyboard.type("646 555 0199")
    expect(rita.locator("#open-callbacks")).to_contain_text("already has an open callback")

    # Bob sees it in the queue, claims it, nobody answers: it is rescheduled.
    log_in(bob, "bob")
    bob.goto(f"{live_server.url}/callbacks/")
    row = bob.locator(f"[data-callback-row='{callback.pk}']")
    expect(row).to_contain_text("Carla Cruz")
    expect(bob.locator("[data-callback-nav]")).to_contain_text("at risk")
    row.get_by_role("button", name="Claim").click()
    expect(bob.locator(".alert-success")).to_contain_text("It's yours")
    bob.get_by_label("No answer").check()
    bob.get_by_label("Note").fill("Rang 8 times")
    bob.get_by_role("button", name="Record attempt").click()
    expect(bob.locator(".alert-success")).to_contain_text("No answer recorded; back in the queue")
    expect(row.locator("[data-attempts]")).to_have_text("1")

    # Second try: a voicemail. Third try: reached, closed with an outcome.
    for result, expected in (("Left voicemail", "2"), ("Reached", None)):
        row.get_by_role("button", name="Claim").click()
        bob.get_by_label(result).check()
        if expected:
            bob.get_by_role("button", name="Record attempt").click()
            expect(row.locator("[data-attempts]")).to_have_text(expected)
    bob.get_by_role("button", name="Record attempt").click()
    expect(bob.locator("#id_outcome")).to_have_class(re.compile("is-invalid"))
    bob.get_by_label("Outcome").fill("Booked for 4 pm today")
    bob.get_by_role("button", name="Record attempt").click()
    expect(bob.locator(".alert-success")).to_contain_text("Promise kept")
    expect(bob.locator("[data-outcome]")).to_have_text("Booked for 4 pm today")
    expect(bob.locator("[data-attempt-count]")).to_have_text("3")
    callback.refresh_from_db()
    assert callback.status == "done" and callback.attempt_count == 3


def test_a_repeat_call_is_added_to_the_open_callback(live_server, page, login):
    receptionist_user(username="rita")
    callback = CallbackFactory(call__caller=CallerFactory(name="Dora Diaz", phone="+16465550123"))
    login("rita")
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.type("646-555-0123")
    notice = page.locator(f"[data-open-callback='{callback.pk}']")
    expect(notice).to_contain_text("Dora Diaz already has an open callback")
    page.get_by_label("Call back", exact=True).check()
    notice.get_by_role("button", name="Add this call to it").click()
    expect(notice.get_by_role("button")).to_have_text("This call will be added to it ✓")
    # Adding to the open callback and promising a new one exclude each other.
    expect(page.get_by_label("Call back", exact=True)).not_to_be_checked()
    page.locator("#id_summary").fill("Asking again when someone will call")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Added to the caller's open callback")
    callback.refresh_from_db()
    assert callback.later_calls.get().summary == "Asking again when someone will call"
    assert callback.priority == Priority.HIGH
    assert Callback.objects.count() == 1
