"""Browser tests: pytest-playwright driving Debian's Chromium against live_server."""

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Two cores running the server and the browser: allow for a slow moment.
expect.set_options(timeout=10_000)

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        # In CI a missing browser is a failure, not a reason to skip.
        raise pytest.UsageError(
            f"CI is set but no Chromium at {CHROMIUM}: install it with apt-get."
        )
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def log_in(live_server):
    """Log a page in through the login form, as a person would (one browser per person)."""

    def _log_in(page, username, password="correct-horse-battery"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        # Managers start on the escalation queue, the front desk on the call form.
        page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/(calls/new|escalations)/$"))

    return _log_in


@pytest.fixture
def login(log_in, page):
    """Log the test's page in."""

    def _login(username, password="correct-horse-battery"):
        log_in(page, username, password)

    return _login
