"""No serious or critical accessibility violations (axe-core) on any page of any role.

PAGES is the table: each line is one page as one role sees it (its URL name, the record of
its id, a query string, the status it answers), walked in Chromium by one browser page per
role after logging in through the login form. NOT_PAGES lists every other URL name and why
it is not a page (JSON, CSV, a fragment htmx asks for, POST only, a redirect).
test_every_page_is_in_the_table fails when a URL pattern is in neither, or when a role
gets a whole HTML page from a URL that has no line for that role: a new page is one line.

The axe helpers are test_accessibility.py's; that file checks the states of the pages
people work in (the call form as it is typed in), this one every page as it first draws.
The admin (Django's own) is left out, as tests/test_business_walk.py leaves it out."""

import os
import re
from datetime import time, timedelta
from typing import NamedTuple

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from callers.models import Business
from callers.services import business_save, on_call_save
from calls.services import call_log, escalation_acknowledge, escalation_raise, escalation_resolve
from followups.deliveries import confirm_token
from followups.models import AttemptResult, DeliveryStep, WebhookEventName
from followups.services import callback_attempt
from followups.webhooks import webhook_endpoint_save
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from receptionist.tokens import token_create
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_portal import log_in_as
from tests.conftest import _client_for
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    UserFactory,
    earlier_today,
    manager_user,
    receptionist_user,
)
from tests.test_business_walk import url_patterns

# The username of each role's person in `world`; "nobody" is not logged in.
PEOPLE = {"nobody": None, "receptionist": "rita", "manager": "maya", "client": "clara"}
# Where the login form sends each of them.
LANDS_ON = {"receptionist": "/calls/new/", "manager": "/escalations/", "client": "/portal/"}
# The dashboard has drawn its charts (Chart.js, after the page).
CHARTS_DRAWN = "() => window.Chart && Chart.getChart(document.getElementById('calls-chart'))"
# Swagger UI has read the schema and drawn the API's operations.
DOCS_DRAWN = "() => document.querySelector('#swagger-ui .opblock') !== null"


class Page(NamedTuple):
    role: str
    name: str
    record: str = ""  # the key in `world` of the URL's one argument (a record, a token)
    query: str = ""  # formatted with the ids of `world`'s records: "?into={bob}"
    status: int = 200
    ready: str = ""  # a JavaScript function, true once the page has drawn what comes after


PAGES = [
    # Nobody logged in: the login form and the link of an urgent message (good, forged).
    Page("nobody", "login"),
    Page("nobody", "deliveries:confirm", "link"),
    Page("nobody", "deliveries:confirm", "forged_link", status=400),
    # The front desk.
    Page("receptionist", "calls:new"),
    Page("receptionist", "calls:new", query="?dialed=%2B12125550100&phone=646-555-0199"),
    Page("receptionist", "calls:list"),
    Page("receptionist", "calls:detail", "call"),
    Page("receptionist", "calls:detail", "message"),
    Page("receptionist", "calls:edit", "call"),
    Page("receptionist", "calls:escalate", "quiet_call"),
    Page("receptionist", "callers:list"),
    Page("receptionist", "callers:detail", "ann"),
    Page("receptionist", "callers:edit", "ann"),
    Page("receptionist", "callbacks:queue"),
    Page("receptionist", "callbacks:detail", "callback"),
    Page("receptionist", "escalations:mine"),
    Page("receptionist", "escalations:detail", "escalation"),
    Page("receptionist", "reports:dashboard"),
    Page("receptionist", "search:everything", query="?q=Ann"),
    Page("receptionist", "password_change"),
    Page("receptionist", "password_change_done"),
    Page("receptionist", "api-tokens"),
    Page("receptionist", "api-docs", ready=DOCS_DRAWN),
    Page("receptionist", "deliveries:confirm", "link"),
    Page("receptionist", "businesses:list", status=403),
    Page("receptionist", "calls:detail", "missing", status=404),
    # Managers.
    Page("manager", "escalations:queue"),
    Page("manager", "escalations:resolved"),
    Page("manager", "escalations:mine"),
    Page("manager", "escalations:detail", "escalation"),
    Page("manager", "escalations:detail", "mine"),
    Page("manager", "calls:new"),
    Page("manager", "calls:list"),
    Page("manager", "calls:list", query="?cursor=forged", status=400),
    Page("manager", "calls:detail", "message"),
    Page("manager", "calls:edit", "call"),
    Page("manager", "calls:escalate", "quiet_call"),
    Page("manager", "callers:list"),
    Page("manager", "callers:detail", "ann"),
    Page("manager", "callers:edit", "ann"),
    Page("manager", "callers:merge", "bob"),
    Page("manager", "callers:merge", "bob", query="?into={ann}"),
    Page("manager", "callers:opened"),
    Page("manager", "callers:opened", query="?caller={ann}"),
    Page("manager", "callbacks:queue"),
    Page("manager", "callbacks:detail", "callback"),
    Page("manager", "callbacks:policy", "harbor"),
    Page("manager", "reports:dashboard", ready=CHARTS_DRAWN),
    Page("manager", "reports:minutes"),
    Page("manager", "search:everything", query="?q=Ann"),
    Page("manager", "businesses:list"),
    Page("manager", "businesses:new"),
    Page("manager", "businesses:edit", "harbor"),
    Page("manager", "businesses:on_call", "harbor"),
    Page("manager", "businesses:people"),
    Page("manager", "businesses:person_new"),
    Page("manager", "businesses:person_edit", "rita"),
    Page("manager", "webhooks:list"),
    Page("manager", "webhooks:new"),
    Page("manager", "webhooks:detail", "endpoint"),
    Page("manager", "webhooks:edit", "endpoint"),
    Page("manager", "password_change"),
    Page("manager", "password_change_done"),
    Page("manager", "api-tokens"),
    Page("manager", "api-docs", ready=DOCS_DRAWN),
    Page("manager", "deliveries:confirm", "link"),
    Page("manager", "portal:messages", status=403),
    # Someone at a client business, in the portal.
    Page("client", "portal:messages"),
    Page("client", "portal:messages", query="?view=unread"),
    Page("client", "portal:call", "message"),
    Page("client", "portal:callbacks"),
    Page("client", "portal:callbacks", query="?view=kept"),
    Page("client", "portal:escalations"),
    Page("client", "portal:summary"),
    Page("client", "password_change"),
    Page("client", "password_change_done"),
    Page("client", "api-tokens"),
    Page("client", "api-docs", ready=DOCS_DRAWN),
    Page("client", "deliveries:confirm", "link"),
    Page("client", "calls:list", status=403),
    Page("client", "portal:call", "call", status=404),
]

# Every other URL name, and why it is no page of its own.
NOT_PAGES = {
    "home": "a redirect to the person's start page",
    "healthz": "text for load balancers",
    "alive": "204: the ping of someone typing",
    "logout": "POST only",
    "reports:repeat": "a fragment of the dashboard",
    "reports:minutes_csv": "CSV",
    "reports:minutes_statement": "CSV",
    "reports:calls_csv": "CSV",
    "reports:callbacks_csv": "CSV",
    "callers:lookup": "a fragment of the call form",
    "escalations:count": "a fragment of the navigation",
    "escalations:availability": "POST only",
    "escalations:acknowledge": "POST only",
    "escalations:assign": "POST only",
    "escalations:resolve": "POST only",
    "callbacks:counts": "a fragment of the navigation",
    "callbacks:open_for": "a fragment of the call form",
    "callbacks:promise": "a fragment of the call form",
    "callbacks:claim": "POST only",
    "callbacks:release": "POST only",
    "callbacks:attempt": "POST only",
    "callbacks:assign": "POST only",
    "callbacks:cancel": "POST only",
    "businesses:active": "POST only",
    "portal:read": "POST only",
    "portal:confirm": "POST only",
    "webhooks:rotate": "POST only",
    "webhooks:pause": "POST only",
    "webhooks:resume": "POST only",
    "webhooks:delete": "POST only",
    "webhooks:replay": "POST only",
    "api-token-revoke": "POST only",
    "api-schema": "the OpenAPI schema (YAML)",
    "api-not-found": "JSON",
}
# The REST API's endpoints (api-calls, api-callers...: each app's api.py) answer JSON. Its
# pages (api-docs, api-tokens) are lines of PAGES all the same, and the walk checks them.
API = "api-"


@pytest.fixture
def world():
    """Something on every page: callers, calls of the office and of a client business (an
    urgent message with its confirmation ladder), callbacks open, overdue and kept,
    escalations open, acknowledged and resolved, a webhook that failed, API tokens."""
    now = timezone.now()
    maya = manager_user(username="maya")
    rita = receptionist_user(username="rita", first_name="Rita")
    Business.objects.default()
    endpoint = webhook_endpoint_save(
        user=maya,
        url="http://127.0.0.1:9/hook",  # nothing listens: its deliveries fail, as shown
        events=list(WebhookEventName.values),
        description="The CRM",
    )
    harbor = business_save(
        user=maya,
        name="Harbor Vet",
        time_zone="America/New_York",
        numbers=["(212) 555-0100"],
        contacts=[
            {"name": "Dr Hale", "email": "hale@harbor.example", "phone": "", "role": "Vet"},
            {"name": "Dr Lee", "email": "lee@harbor.example", "phone": "", "role": ""},
        ],
    )
    on_call_save(
        user=maya,
        business=harbor,
        weekly=[
            {
                "weekday": day,
                "starts": time(0),
                "ends": time(0),
                "contacts": list(harbor.contacts.order_by("name").values_list("pk", flat=True)),
            }
            for day in range(7)
        ],
    )
    clara = UserFactory(username="clara", role=CLIENTS)
    StaffBusiness.objects.create(user=clara, business=harbor)
    ann = CallerFactory(
        name="Ann Lee",
        phone="+12125550147",
        is_vip=True,
        caution=True,
        caution_note="Hand over to a manager early.",
    )
    bob = CallerFactory(name="Bob Ray", phone="+12125550148")
    calls = [
        CallFactory(caller=ann, taken_by=rita, mood=mood, started_at=at)
        for at, mood in zip(earlier_today(3, now), ("angry", "upset", "calm"), strict=True)
    ]
    quiet_call = CallFactory(caller=bob, taken_by=rita)
    message = call_log(
        user=rita,
        business=harbor,
        caller_name="Pat Doe",
        phone="+12125550188",
        nature="urgent",
        urgency="emergency",
        summary="Dog swallowed a sock",
        message="Rex swallowed a sock: call Pat back",
        outcome="message_taken",
        started_at=now - timedelta(minutes=2),
    )
    harbor_call = CallFactory(
        caller=message.caller, taken_by=rita, outcome="message_taken", message="Call Pat back"
    )
    callback = CallbackFactory(call=calls[0], due_at=now - timedelta(minutes=20))
    CallbackFactory(call=calls[1])
    CallbackFactory(call=message)
    kept = CallbackFactory(call=harbor_call)
    callback_attempt(
        callback_id=kept.pk,
        user=rita,
        expected_version=kept.version,
        result=AttemptResult.REACHED,
        note="Booked Saturday",
        outcome="resolved",
    )
    escalation = escalation_raise(call=calls[0], user=rita, reason="Shouting", playbook_steps=[])
    mine = escalation_raise(call=calls[1], user=rita, reason="Upset", playbook_steps=[])
    escalation_acknowledge(escalation_id=mine.pk, user=maya)
    resolved = escalation_raise(call=harbor_call, user=rita, reason="Rude", playbook_steps=[])
    escalation_resolve(escalation_id=resolved.pk, user=maya, resolution="Apologised")
    for user in (rita, maya, clara):
        token_create(user=user, name="The PBX")
    step = DeliveryStep.objects.filter(delivery__call=message).order_by("position").first()
    return {
        "rita": rita,
        "maya": maya,
        "clara": clara,
        "harbor": harbor,
        "endpoint": endpoint,
        "ann": ann,
        "bob": bob,
        "call": calls[0],
        "quiet_call": quiet_call,
        "message": message,
        "callback": callback,
        "escalation": escalation,
        "mine": mine,
        "link": confirm_token(step),
        "forged_link": "not-a-link-this-app-made",
        "missing": 999_999,
    }


def _argument(world, key: str):
    value = world[key]
    return value.pk if isinstance(value, Model) else value


def url_of(world, line: Page) -> str:
    args = [_argument(world, line.record)] if line.record else []
    ids = {key: value.pk for key, value in world.items() if isinstance(value, Model)}
    return reverse(line.name, args=args) + line.query.format(**ids)


@pytest.mark.django_db
def test_every_page_is_in_the_table(world):
    routes = {name: route for route, name in url_patterns()}
    listed = {line.name for line in PAGES} | set(NOT_PAGES)
    unlisted = sorted(name for name in routes if name not in listed and not name.startswith(API))
    assert not unlisted, f"URL names in neither PAGES nor NOT_PAGES: {unlisted}"
    gone = sorted(listed - set(routes))
    assert not gone, f"PAGES or NOT_PAGES name URLs that are no more: {gone}"

    # Each URL is asked with the record its lines use, else with a call's id: what is not a
    # page answers 405, JSON, CSV or a fragment whatever id it is given.
    records = {line.name: line.record for line in PAGES if line.record}
    lines = {(line.role, line.name) for line in PAGES if line.status == 200}
    pages_missing = []
    for role, username in PEOPLE.items():
        client = Client() if username is None else _client_for(world[username])
        for name, route in routes.items():
            if name in records:
                url = url_of(world, Page(role, name, records[name]))
            elif "<" in route:
                url = "/" + re.sub(r"<[^>]+>", str(world["call"].pk), route)
            else:
                url = reverse(name)
            response = client.get(url)
            body = b"" if response.streaming else response.content  # the CSV files stream
            whole_page = (
                response.status_code == 200
                and response["Content-Type"].startswith("text/html")
                and body.lstrip()[:15].lower() == b"<!doctype html>"
            )
            if whole_page and (role, name) not in lines:
                pages_missing.append(f'Page("{role}", "{name}", ...)  # {url}')
            # No page prints a list of records whole: the caller page's open escalations once
            # filled the managers' navigation badge, whose count has the same name.
            assert not re.search(rb"\[&lt;\w+: ", body), f"{role}: {url}"
    assert not pages_missing, "Pages with no line in PAGES:\n" + "\n".join(pages_missing)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", list(PEOPLE))
@pytest.mark.skipif(
    bool(os.environ.get("CI")) and not os.environ.get("DATABASE_URL"),
    # The pages' markup is the same on both databases: CI walks them in its PostgreSQL
    # run, and keeps its SQLite run (the same suite again) within its time.
    reason="walked in CI's PostgreSQL run",
)
def test_every_page_of_every_role_is_accessible(live_server, page, world, role):
    # No colour transitions: a button still fading is not the page's contrast.
    page.emulate_media(reduced_motion="reduce")
    if PEOPLE[role] is not None:
        log_in_as(page, live_server, PEOPLE[role], "correct-horse-battery", LANDS_ON[role])
    found = []
    for line in (line for line in PAGES if line.role == role):
        url = url_of(world, line)
        what = f"{role}: {line.name} {line.query}".strip()
        response = page.goto(live_server.url + url)
        assert response.status == line.status, f"{what} answered {response.status}"
        assert page.url == live_server.url + url, f"{what} went on to {page.url}"
        if line.ready:
            page.wait_for_function(line.ready)
        try:
            assert_accessible(page, what)
        except AssertionError as failure:
            found.append(str(failure))
    assert not found, "\n\n".join(found)
