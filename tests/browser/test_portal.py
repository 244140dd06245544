"""An answering service's whole day in Chromium: a manager adds a client business and its
client's login, a receptionist takes a message for it from the number dialed, and the
client reads it in the portal, where another business's client never sees it."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from callers.models import Business
from calls.models import Call, MessageStatus
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from tests.factories import UserFactory, manager_user, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-enough-Pa55word"


def log_in_as(page, live_server, username, password, lands_on: str):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}{lands_on}$"))


def test_a_message_goes_from_the_dialed_number_to_the_client_portal(live_server, browser):
    manager_user(username="maya")
    receptionist_user(username="rita", first_name="Rita")
    Business.objects.default()  # the office's own business
    other = Business.objects.create(name="Other Firm")
    otto = UserFactory(username="otto", role=CLIENTS)
    StaffBusiness.objects.create(user=otto, business=other)

    # The manager adds the business, with its greeting, number and contact...
    maya = browser.new_page()
    log_in_as(maya, live_server, "maya", "correct-horse-battery", "/escalations/")
    maya.goto(f"{live_server.url}/businesses/new/")
    maya.get_by_label("Name").first.fill("Harbor Vet")
    maya.get_by_label("Greeting").fill(
        "Thank you for calling Harbor Vet, this is {receptionist}, how may I help?"
    )
    maya.get_by_label("Inbound numbers").fill("(212) 555-0100")
    maya.locator("#id_contacts-0-name").fill("Dr Hale")
    maya.locator("#id_contacts-0-email").fill("hale@harbor.example")
    maya.get_by_role("button", name="Save").click()
    expect(maya.locator(".alert-success")).to_contain_text("Harbor Vet added")
    harbor = Business.objects.get(name="Harbor Vet")
    # ...and the login of someone at it.
    maya.get_by_role("link", name="People").click()
    maya.get_by_role("link", name="Add someone").click()
    maya.get_by_label("Username").fill("clara")
    maya.get_by_label("First name").fill("Clara")
    maya.locator("input[name=role][value=client]").check()
    maya.get_by_label("Harbor Vet").check()
    maya.get_by_label("Password").fill(PASSWORD)
    maya.get_by_role("button", name="Save").click()
    expect(maya.locator(".alert-success")).to_contain_text("clara added")
    expect(maya.locator("tr", has_text="clara")).to_contain_text("Harbor Vet")

    # The receptionist answers a call to Harbor Vet's number and takes a message.
    rita = browser.new_page()
    rita.set_viewport_size({"width": 1366, "height": 768})
    log_in_as(rita, live_server, "rita", "correct-horse-battery", "/calls/new/")
    rita.goto(f"{live_server.url}/calls/new/?dialed=%2B12125550100&phone=646-555-0199")
    expect(rita.locator("[data-greeting]").first).to_have_text(
        "“Thank you for calling Harbor Vet, this is Rita, how may I help?”"
    )
    rita.locator("#id_caller_name").fill("Pat Doe")
    rita.locator("#id_summary").fill("Wants a vaccination appointment")
    rita.locator("#id_message").fill("Pat asks for a Saturday slot for Rex")
    rita.locator("#id_notes").fill("Internal: talks a lot")
    rita.locator("#id_outcome").select_option("message_taken")
    rita.keyboard.press("Control+Enter")
    expect(rita.locator(".alert-success")).to_contain_text("Call from Pat Doe logged")
    call = Call.objects.get()
    assert call.business == harbor
    call.refresh_from_db()
    assert call.message_status == MessageStatus.SENT
    assert [m.to for m in mail.outbox] == [["hale@harbor.example"]]

    # The client logs in, lands in the portal, reads it and marks it read.
    clara = browser.new_page()
    log_in_as(clara, live_server, "clara", PASSWORD, "/portal/")
    row = clara.locator(f"[data-portal-call='{call.pk}']")
    expect(row).to_contain_text("Pat asks for a Saturday slot for Rex")
    expect(row.locator("[data-unread]")).to_be_visible()
    expect(clara.get_by_text("Internal: talks a lot")).to_have_count(0)
    row.get_by_role("link").first.click()
    expect(clara.locator("[data-message]")).to_contain_text("Saturday slot")
    clara.get_by_role("button", name="Mark read").click()
    expect(clara.locator("[data-read]")).to_be_visible()
    # A staff page is not theirs.
    assert clara.goto(f"{live_server.url}/calls/").status == 403

    # The front desk sees that it was read.
    rita.goto(f"{live_server.url}/calls/")
    expect(rita.locator(f"[data-call-row='{call.pk}'] [data-message-state]")).to_have_text("· read")

    # Another business's client sees none of it, and the call answers 404.
    otto_page = browser.new_page()
    log_in_as(otto_page, live_server, "otto", "correct-horse-battery", "/portal/")
    expect(otto_page.get_by_text("Pat Doe")).to_have_count(0)
    expect(otto_page.locator("main")).to_contain_text("No calls here yet")
    assert otto_page.goto(f"{live_server.url}/portal/calls/{call.pk}/").status == 404
    for each in (maya, rita, clara, otto_page):
        each.close()
