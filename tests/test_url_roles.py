"""The role matrix: every URL pattern of the project, in one table, with the status each of
five people gets for a GET and for a POST with no data.

The five: someone not logged in; a receptionist and a manager who work for every business;
a client (group Clients) of business A; and a manager limited to business B
(receptionist.models.StaffBusiness). Every record an address names is business A's, so the
limited manager's column proves that a record of a business someone does not work for
answers 404 (or 403) to them, never 200; and no page they may open shows A's caller.

Why one table: a permission check is forgotten when a page is added, not when it is
changed. test_every_pattern_is_in_the_table walks the resolver and names any pattern the
table does not list, so no page lands without someone writing down who may open it;
test_every_row_is_a_pattern keeps rows of pages that are gone from lying about coverage.
"""

import json
import re
import uuid
from functools import cache
from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from callers.models import Business, BusinessContact
from callers.services import business_save
from calls.services import escalation_raise
from followups.deliveries import confirm_token, delivery_start
from followups.models import DeliveryStatus, DeliveryStep, WebhookDelivery, WebhookEvent
from followups.webhooks import webhook_endpoint_save
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from receptionist.tokens import token_create
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    UserFactory,
    manager_user,
    receptionist_user,
)
from tests.test_business_walk import url_patterns

pytestmark = pytest.mark.django_db

PEOPLE = ("anonymous", "receptionist", "manager", "client", "limited")
METHODS = ("get", "post")

# Each row: what (anonymous, receptionist, manager, client, limited) get, each as
# "GET POST", or one status for both. "login" is a 302 to the login page, "302" a redirect
# anywhere else (the action was done, or the person is sent on). The POST carries no data
# (to the API, an empty JSON object): a form answers 400 (some 200) with its errors, an
# action that needs nothing typed is done, on a copy of the records each test rolls back.
TABLE = {
    # --- Everyone's: the start page, health, logging in and out, one's own password.
    "home": ("login", "302", "302", "302", "302"),
    "healthz": ("200 405", "200 405", "200 405", "200 405", "200 405"),
    "login": ("200", "302", "302", "302", "302"),
    "logout": ("login", "405 login", "405 login", "405 login", "405 login"),
    # "Someone is here" while they type (receptionist.idle): any request of a session.
    "alive": ("login", "204 405", "204 405", "204 405", "204 405"),
    "password_change": ("login", "200", "200", "200", "200"),
    "password_change_done": ("login", "200 405", "200 405", "200 405", "200 405"),
    # --- The dashboard (a receptionist's own day; the figures are the managers'), the
    # reports and the exports. B's manager gets B's figures, and A's statement is a 404.
    "reports:dashboard": ("login", "200 405", "200 405", "403 405", "200 405"),
    "reports:repeat": ("login", "403 405", "200 405", "403 405", "200 405"),
    "reports:minutes": ("login", "403 405", "200 405", "403 405", "200 405"),
    "reports:minutes_csv": ("login", "403 405", "200 405", "403 405", "200 405"),
    "reports:minutes_statement": ("login", "403 405", "200 405", "403 405", "404 405"),
    "reports:calls_csv": ("login", "403 405", "200 405", "403 405", "200 405"),
    "reports:callbacks_csv": ("login", "403 405", "200 405", "403 405", "200 405"),
    "search:everything": ("login", "200 405", "200 405", "403 405", "200 405"),
    # --- Callers.
    "callers:lookup": ("login", "200 405", "200 405", "403 405", "200 405"),
    "callers:detail": ("login", "200", "200", "403", "404"),
    "callers:list": ("login", "200", "200", "403", "200"),
    "callers:edit": ("login", "200 400", "200 400", "403", "404"),
    "callers:merge": ("login", "403", "200 400", "403", "404"),
    # Who opened which caller's page: managers', B's manager reads B's callers' only.
    "callers:opened": ("login", "403", "200", "403", "200"),
    # --- Calls. A call form refused answers 200 with its errors.
    "calls:list": ("login", "200", "200", "403", "200"),
    "calls:new": ("login", "200", "200", "403", "200"),
    "calls:detail": ("login", "200", "200", "403", "404"),
    "calls:edit": ("login", "200 400", "200 400", "403", "404"),
    "calls:escalate": ("login", "200", "200", "403", "404"),
    # --- Escalations: the queue is the managers'; a receptionist sees the escalations
    # she raised or took the call of (this one is hers). The navigation badge tells a
    # session that has ended to stop polling (htmx's 286) instead of redirecting.
    "escalations:queue": ("login", "403", "200", "403", "200"),
    "escalations:count": ("286 405", "403 405", "200 405", "403 405", "200 405"),
    "escalations:mine": ("login", "200", "200", "403", "200"),
    "escalations:resolved": ("login", "403", "200", "403", "200"),
    "escalations:availability": ("login", "405 403", "405 400", "405 403", "405 400"),
    "escalations:detail": ("login", "200", "200", "403", "404"),
    "escalations:acknowledge": ("login", "405 403", "405 302", "405 403", "405 404"),
    "escalations:assign": ("login", "405 403", "405 200", "405 403", "405 404"),
    "escalations:resolve": ("login", "405 403", "405 200", "405 403", "405 404"),
    # --- Callbacks. The promise preview without the call's nature and urgency is a 400.
    # The policy form's empty boxes are the defaults: an empty POST saves the defaults.
    "callbacks:queue": ("login", "200", "200", "403", "200"),
    "callbacks:counts": ("286 405", "200 405", "200 405", "403 405", "200 405"),
    "callbacks:open_for": ("login", "200 405", "200 405", "403 405", "200 405"),
    "callbacks:promise": ("login", "400 405", "400 405", "403 405", "400 405"),
    "callbacks:policy": ("login", "403", "200 302", "403", "404"),
    "callbacks:detail": ("login", "200", "200", "403", "404"),
    "callbacks:claim": ("login", "405 302", "405 302", "405 403", "405 404"),
    "callbacks:release": ("login", "405 302", "405 302", "405 403", "405 404"),
    "callbacks:attempt": ("login", "405 400", "405 400", "405 403", "405 404"),
    "callbacks:assign": ("login", "405 403", "405 302", "405 403", "405 404"),
    "callbacks:cancel": ("login", "405 403", "405 400", "405 403", "405 404"),
    # --- Businesses and people: managers'. Adding a business, and managing people, is
    # for managers of every business only (403 to B's manager); A's pages are 404 to them.
    "businesses:list": ("login", "403", "200", "403", "200"),
    "businesses:new": ("login", "403", "200 400", "403", "403"),
    "businesses:edit": ("login", "403", "200 400", "403", "404"),
    "businesses:active": ("login", "405 403", "405 400", "405 403", "405 404"),
    "businesses:on_call": ("login", "403", "200 400", "403", "404"),
    "businesses:people": ("login", "403", "200", "403", "403"),
    "businesses:person_new": ("login", "403", "200 400", "403", "403"),
    "businesses:person_edit": ("login", "403", "200 400", "403", "403"),
    # --- The client portal: for a client of exactly one business, nobody else.
    "portal:messages": ("login", "403", "403", "200", "403"),
    "portal:call": ("login", "403", "403", "200", "403"),
    "portal:read": ("login", "405 403", "405 403", "405 302", "405 403"),
    "portal:confirm": ("login", "405 403", "405 403", "405 302", "405 403"),
    "portal:callbacks": ("login", "403", "403", "200", "403"),
    "portal:escalations": ("login", "403", "403", "200", "403"),
    "portal:summary": ("login", "403", "403", "200", "403"),
    # --- The confirmation link of an urgent message: no login, the signed link is the key
    # (tests/followups/test_deliveries.py); its POST confirms, whoever sends it.
    "deliveries:confirm": ("200", "200", "200", "200", "200"),
    # --- The API: 401 without a session or token, JSON refusals, records of a business
    # one does not work for are 404 (tests/api/test_api_permissions.py). Adding a business
    # is refused to B's manager by the service, as a 400 on "name".
    "api-businesses": ("401", "200 403", "200 400", "403", "200 400"),
    "api-business": ("401", "200 405", "200 405", "403 405", "404 405"),
    "api-callers": ("401", "200 400", "200 400", "403", "200 400"),
    "api-caller": ("401", "200 405", "200 405", "403 405", "404 405"),
    "api-caller-merge": ("401", "403", "405 400", "403", "405 404"),
    "api-lookup": ("401", "200 405", "200 405", "403", "200 405"),
    "api-calls": ("401", "200 400", "200 400", "403", "200 400"),
    "api-call": ("401", "200 405", "200 405", "403 405", "404 405"),
    "api-escalations": ("401", "200 405", "200 405", "403 405", "200 405"),
    "api-escalation-raise": ("401", "405 400", "405 400", "403", "405 400"),
    "api-escalation-acknowledge": ("401", "403", "405 200", "403", "405 404"),
    "api-escalation-resolve": ("401", "403", "405 400", "403", "405 404"),
    "api-callbacks": ("401", "200 405", "200 405", "403", "200 405"),
    "api-callback": ("401", "200 405", "200 405", "403", "404 405"),
    "api-callback-claim": ("401", "405 200", "405 200", "403", "405 404"),
    "api-callback-release": ("401", "405 409", "405 409", "403", "405 404"),
    "api-callback-attempt": ("401", "405 400", "405 400", "403", "405 404"),
    "api-callback-cancel": ("401", "403", "405 400", "403", "405 404"),
    "api-messages": ("401", "403", "403", "200 405", "403"),
    "api-message-read": ("401", "403", "403", "405 200", "403"),
    # The API's JSON 404 for an address under /api/v1/ that is no endpoint.
    "api-not-found": ("404", "404", "404", "404", "404"),
    "api-schema": ("401", "200 405", "200 405", "200 405", "200 405"),
    "api-docs": ("login", "200 405", "200 405", "200 405", "200 405"),
    # One's own tokens: the token revoked is the receptionist's, a 404 to anyone else.
    "api-tokens": ("login", "200", "200", "200", "200"),
    "api-token-revoke": ("login", "405 302", "405 404", "405 404", "405 404"),
    # --- Webhooks: managers of every business only (an endpoint may be sent any
    # business's events), so B's manager is refused before any record is looked at.
    "webhooks:list": ("login", "403", "200", "403", "403"),
    "webhooks:new": ("login", "403", "200 400", "403", "403"),
    "webhooks:detail": ("login", "403", "200", "403", "403"),
    "webhooks:edit": ("login", "403", "200 400", "403", "403"),
    "webhooks:rotate": ("login", "405 403", "405 302", "405 403", "405 403"),
    "webhooks:pause": ("login", "405 403", "405 302", "405 403", "405 403"),
    "webhooks:resume": ("login", "405 403", "405 302", "405 403", "405 403"),
    "webhooks:delete": ("login", "405 403", "405 302", "405 403", "405 403"),
    "webhooks:replay": ("login", "405 403", "405 302", "405 403", "405 403"),
}

# The record whose id fills a pattern's <int:pk>: by pattern name, else by namespace.
RECORD_OF_NAME = {
    "callers:merge": "caller",
    "callbacks:policy": "business",
    "reports:minutes_statement": "business",
    "businesses:person_edit": "person",
    "webhooks:replay": "webhook_delivery",
    "api-business": "business",
    "api-caller": "caller",
    "api-caller-merge": "caller",
    "api-call": "call",
    "api-escalation-acknowledge": "escalation",
    "api-escalation-resolve": "escalation",
    "api-callback": "callback",
    "api-callback-claim": "callback",
    "api-callback-release": "callback",
    "api-callback-attempt": "callback",
    "api-callback-cancel": "callback",
    "api-message-read": "call",
    "api-token-revoke": "token",
}
RECORD_OF_NAMESPACE = {
    "callers": "caller",
    "calls": "call",
    "escalations": "escalation",
    "callbacks": "callback",
    "businesses": "business",
    "portal": "call",
    "webhooks": "webhook",
}
# What business A's records say that no page may show the manager limited to B; but the
# confirmation link's page, which names the business to whoever holds the signed link.
A_ONLY = ("Alphaville", "Alpha Person", "Please call Alpha back")
SHOWN_WITH_THE_LINK = {"deliveries:confirm"}


@cache
def patterns() -> dict[str, list[str]]:
    """Each pattern's name: its routes (more than one is a name the table cannot tell apart)."""
    found: dict[str, list[str]] = {}
    for route, name in url_patterns():
        found.setdefault(name, []).append(route)
    return found


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Business A's records, business B, the people and their sessions, made once for the
    whole table (about a thousand requests) in a transaction rolled back afterwards. Each
    test runs in a savepoint of it, so a POST that claims, confirms or deletes something
    leaves the next test the same records."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        maya = manager_user(username="maya-matrix")
        a = business_save(user=maya, business=Business.objects.default(), name="Alphaville Vet")
        b = business_save(user=maya, name="Bravo")
        rita = receptionist_user(username="rita-matrix")
        clara = UserFactory(username="clara-matrix", role=CLIENTS)
        StaffBusiness.objects.create(user=clara, business=a)
        lena = manager_user(username="lena-matrix")
        StaffBusiness.objects.create(user=lena, business=b)
        BusinessContact.objects.create(business=a, name="Dr Hale", email="hale@a.example")
        caller = CallerFactory(name="Alpha Person", phone="+12125550147", business=a)
        # An urgent message for A, waiting for Dr Hale to confirm it: the portal's call
        # pages and the confirmation link.
        message = CallFactory(
            caller=caller,
            taken_by=rita,
            nature="urgent",
            urgency="emergency",
            outcome="message_taken",
            message="Please call Alpha back",
        )
        step = DeliveryStep.objects.get(delivery=delivery_start(call=message))
        # Another call, with its callback, flagged by the receptionist who took it.
        callback = CallbackFactory(call=CallFactory(caller=caller, taken_by=rita))
        escalation = escalation_raise(call=callback.call, user=rita, playbook_steps=[])
        endpoint = webhook_endpoint_save(
            user=maya, url="https://crm.example.com/hooks", events=["call.logged"]
        )
        event = WebhookEvent.objects.create(
            id=uuid.uuid4(), name="call.logged", business=a, occurred_at=timezone.now(), body="{}"
        )
        webhook_delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event=event, status=DeliveryStatus.FAILED, attempts=3
        )
        token, _ = token_create(user=rita, name="PBX")
        sessions = {}
        for person, user in (
            ("receptionist", rita),
            ("manager", maya),
            ("client", clara),
            ("limited", lena),
        ):
            client = Client()
            client.force_login(user)
            sessions[person] = client.cookies[settings.SESSION_COOKIE_NAME].value
        yield {
            "sessions": sessions,
            "records": {
                "caller": caller.pk,
                "call": message.pk,
                "callback": callback.pk,
                "escalation": escalation.pk,
                "business": a.pk,
                "person": rita.pk,
                "webhook": endpoint.pk,
                "webhook_delivery": webhook_delivery.pk,
                "token": token.pk,
            },
            "confirm": confirm_token(step),
        }
        transaction.set_rollback(True)


def address(world, name: str, route: str) -> str:
    """The pattern's address, its arguments filled with business A's records."""
    kwargs = {}
    for argument in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if argument == "token":
            kwargs["token"] = world["confirm"]
        elif argument == "pk":
            kind = RECORD_OF_NAME.get(name) or RECORD_OF_NAMESPACE.get(name.split(":")[0])
            assert kind, f"{name}: say in RECORD_OF_NAME which record its <pk> is"
            kwargs["pk"] = world["records"][kind]
        else:
            raise AssertionError(f"{name}: no record for its argument {argument!r}")
    return reverse(name, kwargs=kwargs)


# One test client for every request: a new one builds the middleware again on its first
# request, and WhiteNoise's scan of every static file then cost more than the page did.
CLIENT = Client()


def ask(world, person: str, method: str, url: str):
    """The person's request, with their session cookie only (a cookie a page set, or the
    one a logout cleared, stays with the test that got it)."""
    CLIENT.cookies = SimpleCookie()
    if person != "anonymous":
        CLIENT.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"][person]
    if method == "post" and url.startswith("/api/v1/"):
        return CLIENT.post(url, json.dumps({}), content_type="application/json")
    return getattr(CLIENT, method)(url)


def expected(name: str, person: str, method: str) -> str:
    statuses = TABLE[name][PEOPLE.index(person)].split()
    return statuses[METHODS.index(method)] if len(statuses) == 2 else statuses[0]


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_every_pattern_is_in_the_table():
    """Every pattern but the admin site's own (Django's, behind is_staff). Static files are
    no pattern: WhiteNoise serves them before the URLs are looked at."""
    missing = sorted(set(patterns()) - set(TABLE))
    assert not missing, "Say who may open these patterns in TABLE: " + ", ".join(
        f"{name} (/{patterns()[name][0]})" for name in missing
    )


def test_every_row_is_a_pattern():
    gone = sorted(set(TABLE) - set(patterns()))
    assert not gone, f"No such URL patterns any more: remove their rows: {gone}"


def test_every_pattern_has_a_name_of_its_own():
    shared = {name: routes for name, routes in patterns().items() if len(routes) > 1}
    assert not shared, f"Patterns sharing a name, which the table cannot tell apart: {shared}"


def test_every_row_says_what_each_person_gets():
    for name, row in TABLE.items():
        assert len(row) == len(PEOPLE), name
        for cell in row:
            assert 1 <= len(cell.split()) <= 2, (name, cell)
            # A server error is never what a page should answer.
            for status in cell.split():
                assert status in {"login", "302"} or re.fullmatch(r"[1-4]\d\d", status), (
                    name,
                    cell,
                )


@pytest.mark.parametrize(
    ("name", "person", "method"),
    [(name, person, method) for name in TABLE for person in PEOPLE for method in METHODS],
    ids=lambda value: value,
)
def test_each_person_gets_what_the_table_says(world, name, person, method):
    if name not in patterns():
        pytest.fail(f"{name} is no URL pattern any more")
    url = address(world, name, patterns()[name][0])
    response = ask(world, person, method, url)
    want = expected(name, person, method)
    if want == "login":
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/accounts/login/"), response["Location"]
        return
    assert str(response.status_code) == want, (url, response.status_code)
    if want == "302":
        assert not response["Location"].startswith("/accounts/login/"), response["Location"]
    if url.startswith("/api/v1/") and response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    if person == "limited" and response.status_code == 200 and name not in SHOWN_WITH_THE_LINK:
        text = body(response)
        assert not [said for said in A_ONLY if said in text], (url, "shows business A's")
