"""On call and confirmed delivery in Chromium: a manager keeps a business's on-call schedule
(the next 14 days drawn, a gap in red); a receptionist takes an emergency message for it;
the first person on call does not confirm, the sweep (with the clock moved on) tells the
second, who confirms through the link in their e-mail; the call page and the client portal
show the whole ladder. And a client confirms from the portal."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from callers.models import Business, BusinessContact, InboundNumber
from calls.models import Call, DeliveryState
from followups.deliveries import deliveries_sweep
from followups.models import MessageDelivery
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from tests.browser.test_accessibility import assert_accessible
from tests.factories import UserFactory, manager_user, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def harbor(live_server, settings):
    settings.SITE_URL = live_server.url
    Business.objects.default()
    business = Business.objects.create(name="Harbor Vet", time_zone="America/New_York")
    InboundNumber.objects.create(business=business, number="+12125550100")
    for name, email in (("Dr Hale", "hale@harbor.test"), ("Dr Lee", "lee@harbor.test")):
        BusinessContact.objects.create(business=business, name=name, email=email)
    BusinessContact.objects.create(business=business, name="Owner", role="Owner")
    clara = UserFactory(username="clara", role=CLIENTS)
    StaffBusiness.objects.create(user=clara, business=business)
    manager_user(username="maya", email="maya@front.test")
    receptionist_user(username="rita", first_name="Rita")
    return business


def urgent_mail():
    return [m for m in mail.outbox if m.subject.startswith("URGENT")]


def confirm_link(message, live_server) -> str:
    link = re.search(r"http://\S+/deliveries/confirm/\S+/", message.body).group(0)
    return live_server.url + urlsplit(link).path


def test_a_manager_keeps_the_on_call_schedule(harbor, live_server, page, login):
    login("maya")
    page.goto(f"{live_server.url}/businesses/")
    page.locator(f"[data-business='{harbor.pk}']").get_by_role("link", name="On call").click()
    expect(page.get_by_role("heading", name="On call: Harbor Vet")).to_be_visible()
    # No schedule yet: no gap, its contacts are told in turn.
    expect(page.locator("[data-day]")).to_have_count(14)
    expect(page.locator("[data-gap]")).to_have_count(0)
    expect(page.locator("[data-gaps]")).to_have_count(0)
    expect(page.locator("[data-unscheduled]")).to_have_count(14)
    expect(page.locator("[data-unscheduled]").first).to_contain_text(
        "No schedule: its contacts in turn (1. Dr Hale · 2. Dr Lee · 3. Owner)"
    )
    today = harbor.local_time().date()
    # Today, from midnight to midnight: Dr Hale, then Dr Lee, then the owner.
    row = page.locator("[data-weekly-row='0']")
    row.get_by_label("Day").select_option(str(today.weekday()))
    row.get_by_label("From").fill("00:00")
    row.get_by_label("To").fill("00:00")
    row.get_by_label("First on call").select_option(label="Dr Hale")
    row.get_by_label("Then (2)").select_option(label="Dr Lee")
    row.get_by_label("Then (3)").select_option(label="Owner (Owner)")
    # Tomorrow, a holiday swap: the owner alone from 08:00 to 20:00.
    tomorrow = today + timedelta(days=1)
    exception = page.locator("[data-exception-row='0']")
    exception.get_by_label("From day").fill(tomorrow.isoformat())
    exception.get_by_label("From time").fill("08:00")
    exception.get_by_label("To day").fill(tomorrow.isoformat())
    exception.get_by_label("To time").fill("20:00")
    exception.get_by_label("First on call").select_option(label="Owner (Owner)")
    exception.get_by_label("Note").fill("Holiday swap")
    page.get_by_role("button", name="Save the schedule").click()
    expect(page.locator(".alert-success")).to_contain_text("on-call schedule saved")
    first = page.locator(f"[data-day='{today.isoformat()}']")
    expect(first).to_contain_text("1. Dr Hale · 2. Dr Lee · 3. Owner")
    expect(first.locator("[data-gap]")).to_have_count(0)
    expect(first.locator("[aria-current='time']")).to_contain_text("now")
    second = page.locator(f"[data-day='{tomorrow.isoformat()}']")
    expect(second).to_contain_text("08:00\u201320:00")
    expect(second).to_contain_text("Exception: Holiday swap")
    # Before and after the swap, nobody: red.
    gaps = second.locator("[data-gap]")
    expect(gaps).to_have_count(2)
    expect(gaps.first).to_have_class(re.compile(r"\btext-bg-danger\b"))
    color = gaps.first.evaluate("e => getComputedStyle(e).backgroundColor")
    red, green, blue = (int(n) for n in re.findall(r"\d+", color)[:3])
    assert red > 150 and green < 100 and blue < 100, color
    assert_accessible(page, "the on-call page")
    # The call form shows who is on call now.
    rita = page.context.browser.new_page()
    rita.goto(f"{live_server.url}/accounts/login/")
    rita.get_by_label("Username").fill("rita")
    rita.get_by_label("Password").fill("correct-horse-battery")
    rita.get_by_role("button", name="Log in").click()
    rita.goto(f"{live_server.url}/calls/new/?dialed=%2B12125550100")
    expect(rita.locator(f"[data-business-panel='{harbor.pk}'] [data-on-call]")).to_contain_text(
        "On call now: Dr Hale, then Dr Lee, then Owner"
    )
    rita.close()


def test_an_emergency_climbs_the_ladder_and_is_confirmed_by_the_second(
    harbor, live_server, browser, log_in
):
    # Everyone on call all week: Dr Hale, then Dr Lee, then the owner.
    from callers.services import on_call_save

    people = {c.name: c.pk for c in harbor.contacts.all()}
    on_call_save(
        user=manager_user(username="maya"),
        business=harbor,
        weekly=[
            {
                "weekday": day,
                "starts": timezone.datetime.min.time(),
                "ends": timezone.datetime.min.time(),
                "contacts": [people["Dr Hale"], people["Dr Lee"], people["Owner"]],
            }
            for day in range(7)
        ],
    )
    # The receptionist takes an emergency message from the number dialed.
    rita = browser.new_page()
    rita.set_viewport_size({"width": 1366, "height": 768})
    log_in(rita, "rita")
    rita.goto(f"{live_server.url}/calls/new/?dialed=%2B12125550100&phone=646-555-0199")
    expect(rita.locator(f"[data-business-panel='{harbor.pk}'] [data-on-call]")).to_contain_text(
        "On call now: Dr Hale"
    )
    rita.locator("#id_caller_name").fill("Pat Doe")
    rita.locator("#id_summary").fill("Dog swallowed a sock")
    rita.locator("#id_message").fill("Rex swallowed a sock: call Pat")
    # Their buttons are the labels of the radio buttons.
    for name, value in (("nature", "urgent"), ("urgency", "emergency")):
        radio = rita.locator(f"input[name={name}][value={value}]")
        rita.locator(f"label[for={radio.get_attribute('id')}]").click()
        expect(radio).to_be_checked()
    rita.locator("#id_outcome").select_option("message_taken")
    rita.keyboard.press("Control+Enter")
    expect(rita.locator(".alert-success")).to_contain_text("Call from Pat Doe logged")
    call = Call.objects.get()
    assert [m.to for m in urgent_mail()] == [["hale@harbor.test"]]
    rita.goto(f"{live_server.url}/calls/")
    expect(rita.locator(f"[data-call-row='{call.pk}'] [data-delivery-state]")).to_have_text("sent")

    # Dr Hale does not confirm: ten minutes on, the sweep tells Dr Lee.
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    assert deliveries_sweep(now=later) == {"advanced": 1, "escalated": 0}
    notices = urgent_mail()
    assert [m.to for m in notices] == [["hale@harbor.test"], ["lee@harbor.test"]]

    # Dr Lee and, late, Dr Hale open the links from their e-mails (no login)...
    lee, hale = browser.new_page(), browser.new_page()
    lee.goto(confirm_link(notices[-1], live_server))
    hale.goto(confirm_link(notices[0], live_server))
    expect(lee.get_by_role("heading", name="Confirm the message")).to_be_visible()
    assert MessageDelivery.objects.get().state == DeliveryState.SENT  # opening is not confirming
    # ...Dr Lee confirms first; Dr Hale is told so.
    lee.get_by_role("button", name="Confirm: I have the message").click()
    expect(lee.locator("[data-confirmed]")).to_contain_text("Confirmed by Dr Lee")
    hale.get_by_role("button", name="Confirm: I have the message").click()
    expect(hale.get_by_role("heading")).to_have_text("Someone else confirmed it first")
    expect(hale.locator("[data-taken]")).to_contain_text("Dr Lee confirmed it")
    # Nothing more happens, however late the sweep runs.
    assert deliveries_sweep(now=later + timedelta(hours=1)) == {"advanced": 0, "escalated": 0}

    # The call page shows the whole ladder; the call log says it was confirmed.
    rita.goto(f"{live_server.url}/calls/{call.pk}/")
    log = rita.locator("[data-delivery-log]")
    expect(log.locator("[data-delivery-step='1']")).to_contain_text("Dr Hale")
    expect(log.locator("[data-delivery-step='1']")).to_contain_text("Not confirmed in time")
    expect(log.locator("[data-delivery-step='2']")).to_contain_text("Dr Lee")
    expect(log.locator("[data-delivery-step='2']")).to_contain_text("Confirmed")
    expect(log.locator("[data-delivery-confirmed]")).to_contain_text("Confirmed by Dr Lee")
    rita.goto(f"{live_server.url}/calls/")
    expect(rita.locator(f"[data-call-row='{call.pk}'] [data-delivery-state]")).to_have_text(
        "confirmed"
    )

    # So does the client portal, for someone at the business; nothing left to confirm.
    clara = browser.new_page()
    clara.goto(f"{live_server.url}/accounts/login/")
    clara.get_by_label("Username").fill("clara")
    clara.get_by_label("Password").fill("correct-horse-battery")
    clara.get_by_role("button", name="Log in").click()
    clara.wait_for_url(re.compile(r".*/portal/$"))
    clara.goto(f"{live_server.url}/portal/calls/{call.pk}/")
    portal_log = clara.locator("[data-delivery-log]")
    expect(portal_log.locator("[data-delivery-step]")).to_have_count(2)
    expect(portal_log).to_contain_text("Confirmed by Dr Lee")
    expect(clara.locator("[data-portal-confirm]")).to_have_count(0)
    for each in (rita, lee, hale, clara):
        each.close()


def test_a_client_confirms_from_the_portal(harbor, live_server, page):
    from calls.services import call_log

    rita = receptionist_user(username="rita")
    call = call_log(
        user=rita,
        business=harbor,
        caller_name="Pat Doe",
        phone="+16465550199",
        nature="urgent",
        urgency="high",
        summary="Needs the vet",
        message="Call Pat about Rex",
        outcome="message_taken",
        started_at=timezone.now() - timedelta(minutes=1),
    )
    # No schedule: its contacts in turn, by name. Dr Hale is told first.
    assert [m.to for m in urgent_mail()] == [["hale@harbor.test"]]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("clara")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/portal/$"))
    page.goto(f"{live_server.url}/portal/calls/{call.pk}/")
    expect(page.locator("[data-delivery-log]")).to_contain_text("1. Dr Hale")
    page.get_by_role("button", name="Confirm: we have this urgent message").click()
    expect(page.locator(".alert-success")).to_contain_text("Confirmed")
    expect(page.locator("[data-delivery-confirmed]")).to_contain_text("through the client portal")
    assert Call.objects.get(pk=call.pk).delivery_state == DeliveryState.CONFIRMED
    assert_accessible(page, "the portal's call page with its delivery log")
