"""A receptionist logs a call with the keyboard only and finds it in the call log."""

import re

import pytest
from playwright.sync_api import expect

from calls.models import Call
from tests.factories import CallerFactory, CallFactory, receptionist_user

# live_server needs committed data, hence transactional tests. They flush what the data
# migrations made; the factories and services put the groups and the business back.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rita():
    return receptionist_user(username="rita")


def test_log_a_call_keyboard_only_and_find_it(live_server, page, login, rita):
    login("rita")
    # Focus starts on the phone field.
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.type("(646) 555-0199")
    expect(page.locator("#caller-lookup")).to_contain_text("New caller")
    page.keyboard.press("Tab")
    expect(page.locator("#id_caller_name")).to_be_focused()
    page.keyboard.type("Keyboard Kim")
    # Tab into the nature buttons and pick "Urgent" with one key.
    page.keyboard.press("Tab")
    page.keyboard.press("u")
    expect(page.locator("#id_nature_2")).to_be_checked()
    page.keyboard.press("Tab")  # urgency
    page.keyboard.press("h")
    expect(page.locator("input[name=urgency][value=high]")).to_be_checked()
    page.keyboard.press("Tab")  # mood
    page.keyboard.press("u")
    expect(page.locator("input[name=mood][value=upset]")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#id_summary")).to_be_focused()
    page.keyboard.type("Cat swallowed a ribbon")
    page.keyboard.press("Control+Enter")

    expect(page.locator(".alert-success")).to_contain_text("Call from Keyboard Kim logged")
    call = Call.objects.get()
    assert (call.nature, call.urgency, call.mood) == ("urgent", "high", "upset")
    assert call.caller.phones.get().number.as_e164 == "+16465550199"

    # Find it again in the call log with a search, without a full reload.
    page.goto(f"{live_server.url}/calls/")
    page.get_by_label("Search").fill("ribbon")
    expect(page.locator("#call-rows tr")).to_have_count(1)
    expect(page.locator("#call-rows")).to_contain_text("Keyboard Kim")
    expect(page).to_have_url(re.compile(r"q=ribbon"))
    page.get_by_role("link", name=re.compile(r"\d{4}")).first.click()
    expect(page.locator("h1")).to_contain_text("Keyboard Kim")


def test_known_caller_is_recognised_as_the_number_is_typed(live_server, page, login, rita):
    ann = CallerFactory(
        name="Ann Lee",
        phone="+12125550147",
        caution=True,
        caution_note="Hand over to a manager early",
    )
    CallFactory(caller=ann, summary="Earlier today", taken_by=rita)
    login("rita")
    # Type only once the autofocus has landed, or the first digits go nowhere.
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.type("212.555.0147")
    lookup = page.locator("#caller-lookup")
    expect(lookup).to_contain_text("Hand over to a manager early")
    expect(lookup).to_contain_text("Earlier today")
    # An exact number with one match picks that caller by itself.
    expect(page.locator("#id_caller")).to_have_value(str(ann.pk))
    expect(page.locator("#id_caller_name")).to_have_value("Ann Lee")
    page.locator("#id_summary").fill("Follow-up question")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Ann Lee logged")
    assert Call.objects.filter(caller=ann).count() == 2
