"""A manager reads the dashboard in Chromium, changes the range and the business, and the
charts and tables follow; the URL keeps the view (a bookmark)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from callers.models import Business
from tests.factories import CallerFactory, CallFactory, earlier_today, manager_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_follows_the_range_and_the_business(live_server, page, log_in):
    manager_user(username="maya")
    office = Business.objects.default()
    harbor = Business.objects.create(name="Harbor Vet", time_zone="UTC")
    today = timezone.localdate()
    before = timezone.now() - timedelta(days=3)
    for _ in range(3):  # the office's calls of three days ago
        CallFactory(caller=CallerFactory(business=office), business=office, started_at=before)
    harbor_caller = CallerFactory(business=harbor, name="Hattie Harbor")
    for moment in earlier_today(2):  # Harbor's calls today
        CallFactory(caller=harbor_caller, business=harbor, started_at=moment, nature="urgent")

    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    log_in(page, "maya")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator('[data-figure="calls"]')).to_have_text("2")
    # Chart.js drew the chart (the strict CSP let it) and the table holds the same figures.
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('calls-chart'))")
    assert (
        page.evaluate(
            "Chart.getChart(document.getElementById('calls-chart')).data.datasets[2].data"
            ".reduce((a, b) => a + b, 0)"
        )
        == 2
    )  # urgent
    expect(page.locator('[data-table="calls-by-hour"]')).to_be_attached()

    # A wider range: the office's calls of three days ago join, day by day.
    start = timezone.localdate(before)
    page.locator("#id_start").fill(start.isoformat())
    page.locator("#id_end").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"start={start.isoformat()}"))
    expect(page.locator('[data-figure="calls"]')).to_have_text("5")
    day_row = page.locator('[data-table="calls-by-day"] tbody tr', has_text=start.isoformat())
    expect(day_row.locator("td").last).to_have_text("3")
    expect(page.locator('[data-figure="repeat"]')).to_have_text("0")

    # One business: Harbor Vet's two calls only, and its repeat callers.
    page.locator("#id_business").select_option(label="Harbor Vet")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"business={harbor.pk}"))
    expect(page.locator('[data-figure="calls"]')).to_have_text("2")
    expect(page.locator("[data-dashboard-span]")).to_contain_text("Harbor Vet")
    page.wait_for_function("Chart.getChart(document.getElementById('calls-chart'))")
    assert (
        page.evaluate(
            "Chart.getChart(document.getElementById('calls-chart')).data.datasets"
            ".map(d => d.data.reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0)"
        )
        == 2
    )

    # The bookmark: the same URL gives the same view.
    page.goto(page.url)
    expect(page.locator('[data-figure="calls"]')).to_have_text("2")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_slash_goes_to_the_search_box_from_any_page(live_server, page, log_in):
    manager_user(username="maya")
    caller = CallerFactory(name="Quentin Quill", business=Business.objects.default())
    CallFactory(caller=caller, business=caller.business, summary="Wants a quote from Quill's")
    log_in(page, "maya")
    page.goto(f"{live_server.url}/callbacks/")
    page.locator("body").press("/")
    expect(page.locator("#nav-search")).to_be_focused()
    page.keyboard.type("quill")
    page.keyboard.press("Enter")
    expect(page.locator('[data-found="callers"]')).to_contain_text("Quentin Quill")
    expect(page.locator('[data-found="calls"]')).to_contain_text("Wants a quote")
