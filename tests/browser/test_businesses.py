"""A manager adds a business in Chromium: its greeting, inbound numbers and hours."""

import pytest
from playwright.sync_api import expect

from callers.models import Business
from tests.factories import manager_user, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_adds_a_business_and_a_receptionist_cannot(live_server, page, login, browser):
    manager_user(username="maya")
    receptionist_user(username="rita")
    Business.objects.default()  # the office's own: Harbor Vet is not the last active one
    login("maya")
    page.get_by_role("link", name="Businesses").click()
    page.get_by_role("link", name="Add a business").click()
    page.get_by_label("Name").first.fill("Harbor Vet")
    page.get_by_label("Greeting").fill(
        "Thank you for calling Harbor Vet, this is {receptionist}, how may I help?"
    )
    page.get_by_label("Inbound numbers").fill("(212) 555-0100")
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_label("Monday").fill("9:00-12:30, 14:00-18:00")
    page.get_by_label("Tuesday").fill("nine to five")
    page.get_by_role("button", name="Save").click()
    # Refused on the field, everything typed kept.
    expect(page.locator("#id_hours_1").locator("..")).to_contain_text("is no time range")
    expect(page.get_by_label("Inbound numbers")).to_have_value("(212) 555-0100")
    page.get_by_label("Tuesday").fill("09:00-17:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("Harbor Vet added")
    row = page.locator(f"[data-business='{Business.objects.get(name='Harbor Vet').pk}']")
    expect(row).to_contain_text("(212) 555-0100")
    expect(row).to_contain_text("America/New_York")
    # Each row's button posts with the page's one CSRF token.
    row.get_by_role("button", name="Make inactive").click()
    expect(page.locator(".alert-success")).to_contain_text("Harbor Vet is inactive")
    assert not Business.objects.get(name="Harbor Vet").active

    other = browser.new_page()
    other.goto(f"{live_server.url}/accounts/login/")
    other.get_by_label("Username").fill("rita")
    other.get_by_label("Password").fill("correct-horse-battery")
    other.get_by_role("button", name="Log in").click()
    other.wait_for_url(f"{live_server.url}/calls/new/")
    expect(other.get_by_role("link", name="Businesses")).to_have_count(0)
    response = other.goto(f"{live_server.url}/businesses/")
    assert response.status == 403
    other.close()


def test_a_call_dialed_to_a_business_shows_its_greeting_and_is_saved_for_it(
    live_server, page, login
):
    from datetime import time

    from callers.services import business_save
    from calls.models import Call

    maya = manager_user(username="maya")
    rita = receptionist_user(username="rita", first_name="Rita")
    Business.objects.default()  # the office's own: two active businesses
    harbor = business_save(
        user=maya,
        name="Harbor Vet",
        greeting="Thank you for calling Harbor Vet, this is {receptionist}, how may I help?",
        instructions="Never promise a same-day appointment.\nAsk for the pet's name.",
        numbers=["(212) 555-0100"],
        hours=[(day, time(0), time.max) for day in range(7)],
    )
    page.set_viewport_size({"width": 1366, "height": 768})
    login("rita")
    page.goto(f"{live_server.url}/calls/new/?dialed=212.555.0100")
    panel = page.locator(f"[data-business-panel='{harbor.pk}']")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-greeting]")).to_have_text(
        "“Thank you for calling Harbor Vet, this is Rita, how may I help?”"
    )
    expect(panel.locator("[data-open-now]")).to_contain_text("Open")
    expect(page.locator("#id_business")).to_have_value(str(harbor.pk))
    expect(page.locator("#id_phone")).to_be_focused()
    save = page.get_by_role("button", name="Save call (Ctrl+Enter)")
    box = save.bounding_box()
    assert box["y"] + box["height"] <= 768, box  # still one screen
    page.keyboard.type("646 555 0199")
    page.locator("#id_caller_name").fill("Pat Doe")
    page.locator("#id_summary").fill("Wants a vaccination appointment")
    page.locator("#id_outcome").select_option("message_taken")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Pat Doe logged")
    call = Call.objects.get()
    assert call.business == harbor and call.caller.business == harbor
    assert rita.pk == call.taken_by_id
    # The next form: no business known yet, so the picker has the cursor; picking another
    # shows its panel instead.
    expect(page.locator("#id_business")).to_be_focused()
    expect(panel).to_be_hidden()
    page.locator("#id_business").select_option(str(harbor.pk))
    expect(panel).to_be_visible()
