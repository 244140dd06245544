"""What the server now decides, seen in Chromium: who is on the phone, the promise preview,
the queue that no longer throws away older rows, and two people editing one caller."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from callers.models import Caller
from calls.models import Call
from tests.factories import CallbackFactory, CallerFactory, manager_user, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_server_picks_the_caller_and_a_new_name_makes_a_new_caller(live_server, page, login):
    receptionist_user(username="rita")
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    login("rita")
    expect(page.locator("#id_phone")).to_be_focused()  # typed before it, digits are lost
    page.keyboard.type("212 555 0147")
    card = page.locator(f"[data-caller-card='{ann.pk}']")
    expect(card).to_have_attribute("data-chosen", "")
    expect(page.locator("#id_caller")).to_have_value(str(ann.pk))
    expect(page.locator("#id_caller_name")).to_have_value("Ann Lee")
    # Someone else on Ann's phone: typing their name un-picks Ann.
    page.locator("#id_caller_name").fill("Zoe Lee")
    expect(page.locator("#id_caller")).to_have_value("")
    expect(card).not_to_have_attribute("data-chosen", "")
    page.locator("#id_summary").fill("Asked about the invoice")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Zoe Lee logged")
    assert Call.objects.get().caller.name == "Zoe Lee"
    assert Caller.objects.count() == 2


def test_the_promise_preview_keeps_a_time_changed_by_hand(live_server, page, login):
    receptionist_user(username="rita")
    login("rita")
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.type("(646) 555-0199")
    page.locator("#id_caller_name").fill("Carla Cruz")
    page.get_by_label("Call back", exact=True).check()
    due = page.locator("#id_callback_due_at")
    expect(page.locator("#id_callback_promise")).to_have_value(re.compile("^We'll call you"))
    later = timezone.localtime() + timedelta(days=2)
    due.fill(later.strftime("%Y-%m-%dT%H:%M"))
    due.dispatch_event("change")
    expect(page.locator("#id_callback_promise")).to_have_value(
        re.compile(r"on \w+day by \d{1,2}:\d\d [ap]m\.$")
    )
    # A new urgency no longer moves the time typed; the words stay with it.
    page.locator("label[for=id_urgency_3]").click()  # Emergency
    page.wait_for_timeout(500)
    expect(due).to_have_value(later.strftime("%Y-%m-%dT%H:%M"))
    # Words typed by hand are never replaced.
    page.locator("#id_callback_promise").fill("Dr Ames will ring you on Friday")
    page.locator("label[for=id_nature_2]").click()  # Urgent
    page.wait_for_timeout(500)
    expect(page.locator("#id_callback_promise")).to_have_value("Dr Ames will ring you on Friday")
    # A time long past is said beside the field.
    due.fill("2001-01-01T10:00")
    due.dispatch_event("change")
    expect(page.locator("[data-due-problem]")).to_contain_text("That time has passed")


def test_the_queue_stops_refreshing_once_older_rows_are_shown(live_server, page, login, settings):
    settings.CALLBACKS_PAGE_SIZE = 3
    receptionist_user(username="rita")
    now = timezone.now()
    for minutes in range(1, 6):
        CallbackFactory(due_at=now + timedelta(hours=minutes))
    login("rita")
    page.goto(f"{live_server.url}/callbacks/?view=team")
    rows = page.locator("[data-callback-row]")
    expect(rows).to_have_count(3)
    expect(page.locator("#callback-poll")).to_have_attribute("hx-trigger", "every 10s")
    page.get_by_role("link", name="More").click()
    expect(rows).to_have_count(5)
    poll = page.locator("#callback-poll")
    expect(poll).to_contain_text("not refreshing while older callbacks are shown")
    expect(poll).not_to_have_attribute("hx-trigger", "every 10s")
    page.wait_for_timeout(11_000)  # longer than one refresh: the older rows are still there
    expect(rows).to_have_count(5)
    poll.get_by_role("link", name="Refresh").click()
    expect(rows).to_have_count(3)


def test_two_people_editing_one_caller(live_server, browser, log_in):
    receptionist_user(username="rita")
    manager_user(username="maya")
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    rita, maya = browser.new_context().new_page(), browser.new_context().new_page()
    for person, name in ((rita, "rita"), (maya, "maya")):
        log_in(person, name)
        person.goto(f"{live_server.url}/callers/{ann.pk}/edit/")
    maya.get_by_label("Things to remember").fill("Prefers mornings")
    maya.get_by_role("button", name="Save").click()
    expect(maya.locator(".alert-success")).to_contain_text("Caller saved")
    rita.get_by_label("Things to remember").fill("Dog is called Rex")
    rita.get_by_role("button", name="Save").click()
    expect(rita.locator("#conflict")).to_contain_text("Prefers mornings")
    expect(rita.get_by_label("Things to remember")).to_have_value("Dog is called Rex")
    rita.get_by_role("button", name="Save").click()
    expect(rita.locator(".alert-success")).to_contain_text("Caller saved")
    ann.refresh_from_db()
    assert ann.things_to_remember == "Dog is called Rex"


def test_a_mood_picked_by_mistake_takes_its_flag_back(live_server, page, login):
    receptionist_user(username="rita")
    login("rita")
    flag = page.locator("#id_escalate")
    page.locator("label[for=id_mood_3]").click()  # Abusive, by mistake
    expect(flag).to_be_checked()
    page.locator("label[for=id_mood_0]").click()  # Calm, as meant
    expect(flag).not_to_be_checked()
    page.locator("label[for=id_mood_2]").click()  # Angry: flagged by default
    expect(flag).to_be_checked()
    flag.uncheck()  # the receptionist decides: no manager
    page.locator("label[for=id_mood_1]").click()
    page.locator("label[for=id_mood_2]").click()
    expect(flag).to_be_checked()  # angry again ticks it again, by default


def test_words_typed_while_a_preview_is_on_its_way_are_kept(live_server, page, login):
    """The preview asked before the words were typed answers after: its words are not put
    over the ones typed meanwhile (the answer is held back here until they are typed)."""
    receptionist_user(username="rita")
    login("rita")
    page.keyboard.type("(646) 555-0199")
    page.locator("#id_caller_name").fill("Carla Cruz")
    page.get_by_label("Call back", exact=True).check()
    expect(page.locator("#id_callback_promise")).to_have_value(re.compile("^We'll call you"))
    held = []
    page.route("**/callbacks/promise/**", lambda route: held.append(route))
    page.locator("label[for=id_urgency_3]").click()  # Emergency: a new preview is asked
    page.wait_for_timeout(300)
    assert held, "the preview was asked"
    page.locator("#id_callback_promise").fill("Dr Ames will ring you on Friday")
    for route in held:
        route.continue_()
    page.unroute("**/callbacks/promise/**")
    page.wait_for_timeout(500)
    expect(page.locator("#id_callback_promise")).to_have_value("Dr Ames will ring you on Friday")
