"""The API's pages in a browser: a token made and shown once; the docs drawn under the CSP."""

import re

import pytest
from playwright.sync_api import expect

from receptionist.models import ApiToken
from tests.factories import manager_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_token_is_made_shown_once_and_revoked_and_the_docs_draw(live_server, page, login):
    manager_user(username="maya")
    login("maya")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("What will use it").fill("The PBX <screen pop>")
    page.get_by_role("button", name="Make a token").click()
    shown = page.locator("[data-token-value]").input_value()
    assert re.fullmatch(r"fd_[A-Za-z0-9_-]{43}", shown)
    expect(page.locator("[data-token-row]")).to_contain_text("The PBX <screen pop>")
    page.reload()
    expect(page.locator("[data-new-token]")).to_have_count(0)  # shown once
    assert shown not in page.content()
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("[data-token-row]")).to_contain_text("revoked")
    assert ApiToken.objects.get().revoked_at is not None

    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("/api/v1/lookup/").first).to_be_visible(timeout=15_000)
    assert not refused, refused
