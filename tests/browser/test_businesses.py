"""A manager adds a business in Chromium: its greeting, inbound numbers and hours."""

import pytest
from playwright.sync_api import expect

from callers.models import Business
from tests.factories import manager_user, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_adds_a_business_and_a_receptionist_cannot(live_server, page, login, browser):
    manager_user(username="maya")
    receptionist_user(username="rita")
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
