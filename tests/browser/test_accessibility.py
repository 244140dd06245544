"""No serious or critical accessibility violations (axe-core) on the pages people work in:
the call form (new caller, known caller with the panel, a refused save, after a save), the
call log, the callers pages, the callback queue and the escalation queue, with data on them
(overdue rows, notices) so that every state a person sees is checked.

axe-core is vendored from the npm registry under tests/browser/vendor/axe-core/ (test-only,
never served); it is evaluated in the page, which the Content-Security-Policy allows for a
script run by the browser's own tooling, not for an inline script tag."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import Escalation
from calls.services import escalation_raise
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    earlier_today,
    manager_user,
    receptionist_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor/axe-core/axe.min.js").read_text()
BLOCKING = {"serious", "critical"}


def violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE + "\n;0")
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" ") + ": "
                                           + (n.failureSummary || "").replace(/\\n/g, " "))}))"""
    )
    return [v for v in found if v["impact"] in BLOCKING]


def assert_accessible(page, what: str) -> None:
    found = violations(page)
    said = "\n".join(
        f"- {v['impact']} {v['id']} ({v['help']}):\n    " + "\n    ".join(v["nodes"][:5])
        for v in found
    )
    assert not found, f"{what} ({page.url}):\n{said}"


@pytest.fixture(autouse=True)
def no_motion(page):
    """No colour transitions: a button still fading to its checked colours is not the
    page's contrast (Bootstrap drops its transitions for people who ask for less motion)."""
    page.emulate_media(reduced_motion="reduce")


@pytest.fixture
def data():
    """A difficult caller with calls, an overdue callback and an overdue escalation; the
    staff have no e-mail address, so the queues show that notice too."""
    rita = receptionist_user(username="rita")
    maya = manager_user(username="maya")
    ann = CallerFactory(
        name="Ann Lee",
        phone="+12125550147",
        is_vip=True,
        caution=True,
        caution_note="Hand over to a manager early.",
        things_to_remember="Prefers mornings.",
    )
    now = timezone.now()
    calls = [
        CallFactory(caller=ann, taken_by=rita, mood=mood, started_at=started_at)
        for started_at, mood in zip(earlier_today(3, now), ("angry", "upset", "calm"), strict=True)
    ]
    CallbackFactory(call=calls[0], due_at=now - timedelta(minutes=20))
    CallbackFactory(call=calls[1], due_at=now + timedelta(minutes=10))
    escalation = escalation_raise(call=calls[0], user=rita, reason="Shouting", playbook_steps=[])
    Escalation.objects.filter(pk=escalation.pk).update(ack_deadline=now - timedelta(minutes=5))
    return {"rita": rita, "maya": maya, "ann": ann}


def test_the_call_form_in_every_state(live_server, page, login, data):
    login("rita")
    expect(page.locator("#id_phone")).to_be_focused()
    assert_accessible(page, "call form, nobody typed yet")

    page.keyboard.type("212.555.0147")
    expect(page.locator("#caller-lookup")).to_contain_text("Hand over to a manager early")
    expect(page.locator("#open-callbacks")).to_contain_text("already has an open callback")
    page.locator("label[for=id_mood_2]").click()  # Angry: the playbook shows
    expect(page.locator("[data-playbook]")).to_be_visible()
    page.get_by_label("Call back", exact=True).check()
    expect(page.locator("#id_callback_due_at")).not_to_have_value("")
    assert_accessible(page, "call form, a known caller with the panel and the playbook")

    page.keyboard.press("Control+Enter")  # no summary: refused
    expect(page.locator("[data-not-saved]")).to_be_visible()
    assert_accessible(page, "call form sent back with errors")

    page.locator("#id_summary").fill("Wants the invoice corrected")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".alert-success")).to_contain_text("Call from Ann Lee logged")
    assert_accessible(page, "call form after a save, with its notice")

    page.locator("#id_phone").fill("abc123")
    expect(page.locator("[data-lookup-bad-number]")).to_be_visible()
    assert_accessible(page, "call form, a number that is not one")


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("rita", "/calls/"),
        ("rita", "/calls/?withheld=on"),
        ("rita", "/callers/"),
        ("rita", "/callers/{ann}/"),
        ("rita", "/callbacks/"),
        ("maya", "/callbacks/?view=overdue"),
        ("maya", "/escalations/"),
    ],
)
def test_the_lists_and_pages(live_server, page, login, data, who, url):
    login(who)
    page.goto(live_server.url + url.format(ann=data["ann"].pk))
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page, url)
