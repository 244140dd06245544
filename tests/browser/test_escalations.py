"""An abusive call reaches a manager without a reload; the debrief and caution come back."""

import pytest
from playwright.sync_api import expect

from calls.models import Escalation
from tests.factories import manager_user, receptionist_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_abusive_call_to_debrief_and_caution(live_server, browser, log_in):
    receptionist_user(username="rita")
    manager_user(username="maya")
    reception = browser.new_context().new_page()
    manager = browser.new_context().new_page()

    log_in(manager, "maya")
    manager.goto(f"{live_server.url}/escalations/")
    expect(manager.locator("#escalation-queue")).to_contain_text("No open escalations")

    # The receptionist logs an abusive call; the playbook appears with the mood.
    log_in(reception, "rita")
    expect(reception.locator("#id_phone")).to_be_focused()
    reception.keyboard.type("(646) 555-0142")
    reception.locator("#id_caller_name").fill("Angry Andy")
    expect(reception.locator("[data-playbook]")).to_be_hidden()
    reception.locator("label[for=id_mood_3]").click()  # Abusive
    expect(reception.locator("[data-playbook]")).to_be_visible()
    expect(reception.locator("#id_escalate")).to_be_checked()
    reception.get_by_label("Stay calm and listen without interrupting").check()
    reception.locator("#id_summary").fill("Shouted about the bill")
    reception.locator("#id_outcome").select_option("terminated_abusive")
    reception.keyboard.press("Control+Enter")
    expect(reception.locator(".alert-warning")).to_contain_text("Take a minute away")

    # The manager's queue shows it without a reload.
    expect(manager.locator("#escalation-queue")).to_contain_text("Angry Andy", timeout=15_000)
    manager.get_by_role("link", name="Open").click()
    manager.get_by_role("button", name="I'm taking this").click()
    expect(manager.locator(".alert-success")).to_contain_text("You have taken this escalation")
    manager.get_by_label("Resolution").fill("Called him back, bill explained")
    manager.get_by_label("Debrief note to the receptionist").fill("You handled that well.")
    manager.get_by_label("Set the caution flag with a handling note").check()
    manager.get_by_role("textbox", name="Handling note").fill("Hand straight to a manager")
    manager.get_by_role("button", name="Resolve").click()
    expect(manager.locator(".alert-success")).to_contain_text("Escalation resolved")
    assert Escalation.objects.get().status == "resolved"

    # The receptionist sees the debrief, and the next call from that number the caution.
    reception.goto(f"{live_server.url}/escalations/mine/")
    expect(reception.locator("[data-debrief]")).to_contain_text("You handled that well.")
    reception.goto(f"{live_server.url}/calls/new/")
    expect(reception.locator("#id_phone")).to_be_focused()
    reception.keyboard.type("646 555 0142")
    expect(reception.locator("#caller-lookup .card-header")).to_contain_text(
        "Hand straight to a manager"
    )
