"""The call form on one screen at 1366x768, logged with the keyboard only: the key presses of
a typical call are counted, and a refused save always says why, with the cursor there."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import Call
from calls.services import escalation_raise
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    earlier_today,
    receptionist_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 1366, 768
# A typical call, besides the text typed: the README says so too.
MOST_PRESSES = 12


class Keyboard:
    """The page's keyboard, counting every key pressed (a chord such as Ctrl+Enter is one
    press); typed text (the number, the name, the summary) is not counted."""

    def __init__(self, page):
        self.page = page
        self.presses = []

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.presses.append(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


@pytest.fixture
def rita():
    return receptionist_user(username="rita")


@pytest.fixture
def screen(page, login, rita):
    """Rita's call form on a 1366x768 screen, the cursor in the number field."""
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    login("rita")
    expect(page.locator("#id_phone")).to_be_focused()
    return page


def on_screen(page, locator) -> bool:
    """Visible without scrolling: inside the viewport while the page is at its top."""
    box = locator.bounding_box()
    scrolled = page.evaluate("window.scrollY")
    return (
        box is not None and scrolled == 0 and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT
    )


def save_button(page):
    return page.get_by_role("button", name=re.compile("Save call"))


def test_a_typical_call_takes_at_most_12_key_presses(screen):
    page, keys = screen, Keyboard(screen)
    assert on_screen(page, save_button(page))
    keys.type("(646) 555-0199")
    expect(page.locator("#caller-lookup")).to_contain_text("New caller")
    keys.press("Tab")
    expect(page.locator("#id_caller_name")).to_be_focused()
    keys.type("Keyboard Kim")
    keys.press("Tab")
    keys.press("u")  # nature: Urgent
    keys.press("Tab")
    keys.press("h")  # urgency: High
    keys.press("Tab")
    keys.press("u")  # mood: Upset
    keys.press("Tab")
    expect(page.locator("#id_summary")).to_be_focused()
    keys.type("Cat swallowed a ribbon")
    keys.press("Tab")
    expect(page.locator("#id_outcome")).to_be_focused()
    keys.press("m")  # outcome: Message taken
    expect(page.locator("#id_outcome")).to_have_value("message_taken")
    keys.press("Control+Enter")

    expect(page.locator(".alert-success")).to_contain_text("Call from Keyboard Kim logged")
    assert len(keys.presses) <= MOST_PRESSES, keys.presses
    assert len(keys.presses) == 11, keys.presses
    call = Call.objects.get()
    assert (call.nature, call.urgency, call.mood, call.outcome) == (
        "urgent",
        "high",
        "upset",
        "message_taken",
    )
    assert (call.caller.name, call.summary) == ("Keyboard Kim", "Cat swallowed a ribbon")
    assert call.phone.as_e164 == "+16465550199"
    # The next call's form, under the one notice, still fits the screen.
    expect(page.locator("#id_phone")).to_be_focused()
    assert on_screen(page, save_button(page))


def test_a_known_difficult_caller_with_everything_showing_fits_the_screen(screen, rita):
    ann = CallerFactory(
        name="Ann Lee",
        phone="+12125550147",
        is_vip=True,
        caution=True,
        caution_note="Hand over to a manager early; she has complained twice about billing.",
        things_to_remember="Daughter Mia is the patient; prefers mornings.",
    )
    now = timezone.now()
    summaries = [
        "Billing complaint about the March invoice, very upset about the late fee",
        "Asked again about the invoice correction and who approved it",
        "Wants a callback from the practice manager before the end of the week",
    ]
    for started_at, summary in zip(earlier_today(3, now), summaries, strict=True):
        call = CallFactory(caller=ann, summary=summary, taken_by=rita, started_at=started_at)
    CallbackFactory(call=call, due_at=now - timedelta(minutes=20))
    escalation_raise(call=call, user=rita, reason="Very angry", playbook_steps=[])

    page, keys = screen, Keyboard(screen)
    keys.type("212.555.0147")
    lookup = page.locator("#caller-lookup")
    expect(lookup).to_contain_text("Hand over to a manager early")
    expect(page.locator("#open-callbacks")).to_contain_text("already has an open callback")
    expect(page.locator("#id_caller_name")).to_have_value("Ann Lee")
    for _ in range(4):
        keys.press("Tab")  # name, nature, urgency, mood
    keys.press("a")  # mood: Angry
    playbook = page.locator("[data-playbook]")
    expect(playbook).to_be_visible()
    expect(page.locator("#id_escalate")).to_be_checked()

    shown = {
        "caution note": lookup.locator(".card-header"),
        "last calls": lookup.locator(".recent-calls"),
        "repeat warning": lookup.locator("[data-repeat-warning]"),
        "open callback": page.locator("[data-open-callback]"),
        "playbook": playbook,
        "save button": save_button(page),
    }
    box = save_button(page).bounding_box()
    print(f"save button at y={box['y']:.0f}..{box['y'] + box['height']:.0f} of {HEIGHT}")
    for what, locator in shown.items():
        expect(locator).to_be_visible()
        assert on_screen(page, locator), (what, locator.bounding_box())
    # Nothing of the form below the fold: the page does not scroll for a field.
    assert on_screen(page, page.locator("form[data-call-form] .row").first)
    # The playbook's steps are two even columns, not a ragged wrap.
    lefts = {
        round(b.bounding_box()["x"])
        for b in playbook.locator(".playbook-steps input[type=checkbox]").all()
    }
    assert len(lefts) == 2, lefts


def test_ctrl_enter_with_a_wrong_value_says_why_with_the_cursor_there(screen):
    page, keys = screen, Keyboard(screen)
    keys.type("(646) 555-0199")
    keys.press("Tab")
    keys.type("Tess Mo")
    page.locator("#id_summary").fill("Wants a quote")
    # The start time is after the save button in the tab order: Tab from Save reaches it.
    save_button(page).focus()
    keys.press("Tab")  # direction
    keys.press("Tab")  # started
    started = page.locator("#id_started_at")
    expect(started).to_be_focused()
    keys.press("Control+a")
    keys.type("25:99 tomorrow")
    keys.press("Control+Enter")

    expect(page.locator("[data-not-saved]")).to_be_visible()
    expect(page.locator("#id_started_at_error")).to_contain_text("valid date")
    expect(started).to_be_focused()
    expect(started).to_have_value("25:99 tomorrow")
    expect(started).to_have_attribute("aria-invalid", "true")
    assert on_screen(page, page.locator("#id_started_at_error"))
    assert not Call.objects.exists()

    # Corrected there, Ctrl+Enter saves.
    keys.press("Control+a")
    keys.type((timezone.localtime() - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M:%S"))
    keys.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Tess Mo logged")


def test_a_wrong_number_is_refused_on_the_number_with_the_cursor_there(screen):
    page, keys = screen, Keyboard(screen)
    keys.type("555-01")
    keys.press("Tab")
    keys.type("Tess Mo")
    page.locator("#id_summary").fill("Wants a quote")
    keys.press("Control+Enter")
    expect(page.locator("#id_phone_error")).to_contain_text("valid phone number")
    expect(page.locator("#id_phone")).to_be_focused()


def test_the_timer_keeps_the_calls_real_start_after_a_refused_save(screen):
    page = screen
    page.keyboard.type("(646) 555-0199")
    page.wait_for_timeout(3_000)
    # The start time typed cannot be read, and the summary is missing: refused.
    page.locator("#id_started_at").fill("in a moment")
    page.keyboard.press("Control+Enter")
    page.wait_for_load_state("domcontentloaded")
    expect(page.locator("[data-not-saved]")).to_be_visible()
    minutes, seconds = page.locator("[data-timer]").text_content().split(":")
    assert int(minutes) * 60 + int(seconds) >= 3


def test_letters_in_the_number_are_not_a_new_caller(screen):
    page = screen
    page.keyboard.type("abc123")
    lookup = page.locator("#caller-lookup")
    expect(lookup.locator("[data-lookup-bad-number]")).to_contain_text("is not a phone number")
    expect(lookup).not_to_contain_text("New caller")


def test_times_are_on_the_24_hour_clock_as_in_the_lists(page, login, live_server, rita):
    afternoon = timezone.localtime().replace(hour=15, minute=30, second=0, microsecond=0)
    if afternoon > timezone.localtime():
        afternoon -= timedelta(days=1)
    call = CallFactory(started_at=afternoon, summary="An afternoon call", taken_by=rita)
    login("rita")
    started = page.locator("#id_started_at")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d ([01]\d|2[0-3]):[0-5]\d:[0-5]\d", started.input_value())
    page.goto(f"{live_server.url}/calls/{call.pk}/edit/")
    expect(page.locator("#id_started_at")).to_have_value(afternoon.strftime("%Y-%m-%d 15:30:00"))
    page.goto(f"{live_server.url}/calls/")
    expect(page.locator(f"[data-call-row='{call.pk}']")).to_contain_text("15:30")


def test_a_withheld_number_by_keyboard(screen):
    page, keys = screen, Keyboard(screen)
    keys.press("Shift+Tab")
    expect(page.locator("#id_number_withheld")).to_be_focused()
    keys.press("Space")
    expect(page.locator("#id_phone")).to_be_disabled()
    expect(page.locator("#id_caller_name")).to_be_focused()
    expect(page.locator("#caller-lookup")).to_contain_text("recorded as from an unknown caller")
    keys.type("Nora Vale")
    expect(page.locator("#caller-lookup")).to_contain_text("New caller")
    for key in ("Tab", "o", "Tab", "Tab", "Tab"):
        keys.press(key)
    expect(page.locator("#id_summary")).to_be_focused()
    keys.type("Asked for the opening hours")
    keys.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Nora Vale logged")
    call = Call.objects.get()
    assert (call.phone, call.caller.name, call.nature) == ("", "Nora Vale", "other")
    assert not call.caller.phones.exists()

    # Alt+W does the same from anywhere on the form, and undoes it.
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.press("Alt+w")
    expect(page.locator("#id_number_withheld")).to_be_checked()
    expect(page.locator("#id_caller_name")).to_be_focused()
    page.keyboard.press("Alt+w")
    expect(page.locator("#id_number_withheld")).not_to_be_checked()
    expect(page.locator("#id_phone")).to_be_enabled()
    expect(page.locator("#id_phone")).to_be_focused()
