"""A promise to call back, from the call form to the queue, through attempts to an outcome."""

import re

import pytest
from playwright.sync_api import expect

from followups.models import Callback
from tests.factories import receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_callback_from_promise_to_outcome(live_server, browser):
    receptionist_user(username="rita", first_name="Rita", last_name="Reyes")
    receptionist_user(username="bob", first_name="Bob", last_name="Ray")
    rita = browser.new_context().new_page()
    bob = browser.new_context().new_page()

    def login(page, username):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("correct-horse-battery")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/calls/new/")

    # Rita promises a callback while the caller is on the phone.
    login(rita, "rita")
    expect(rita.locator("#id_phone")).to_be_focused()
    rita.keyboard.type("(646) 555-0199")
    rita.locator("#id_caller_name").fill("Carla Cruz")
    rita.locator("label[for=id_nature_2]").click()  # Urgent
    rita.locator("label[for=id_urgency_2]").click()  # High
    rita.locator("#id_summary").fill("Cat not eating since yesterday")
    expect(rita.locator("#id_callback_due_at")).to_be_hidden()
    rita.get_by_label("Call back", exact=True).check()
    # The policy fills the due time and the words to say; the outcome follows.
    expect(rita.locator("#id_callback_promise")).to_have_value(
        re.compile(r"^We'll call you back by \d{1,2}:\d\d [ap]m\.$")
    )
    expect(rita.locator("#id_callback_due_at")).not_to_have_value("")
    expect(rita.locator("#id_outcome")).to_have_value("callback_scheduled")
    rita.locator("#id_callback_window").fill("before 6 pm")
    rita.keyboard.press("Control+Enter")
    expect(rita.locator(".alert-info").first).to_contain_text("Callback promised")
    callback = Callback.objects.get()
    assert callback.preferred_window == "before 6 pm"

    # The caller rings again: the form says so as the number is typed.
    rita.goto(f"{live_server.url}/calls/new/")
    expect(rita.locator("#id_phone")).to_be_focused()
    rita.keyboard.type("646 555 0199")
    expect(rita.locator("#open-callbacks")).to_contain_text("already has an open callback")

    # Bob sees it in the queue, claims it, nobody answers: it is rescheduled.
    login(bob, "bob")
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
