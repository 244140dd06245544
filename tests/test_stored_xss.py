"""Stored XSS: markup typed into any free-text field comes back escaped on every page,
htmx fragment, e-mail, CSV export and API answer that shows it.

One world holds a payload in every free-text field (each with its own marker, so that a
failure names the field), typed through the services as the pages and the API would. Then
every output that shows a field is asked for, as the role that reads it, and checked:

- HTML (pages and htmx fragments): the markup never comes back as markup, and the field
  is there escaped (so a field that is no longer shown fails the test too);
- JSON (/api/v1/): application/json, the text as typed in a JSON string (JSON is not
  HTML), never HTML-escaped, never text/html even when HTML is asked for;
- CSV: text/csv as an attachment, the text as typed, and no cell a spreadsheet would run
  as a formula (the payloads of the exported fields start with = + - @);
- e-mail: plain text (the text as typed is fine there), no HTML part that carries it raw;
  the e-mails that carry a link only carry none of it.

To cover a new page: add it to PAGES and its name to the rows of SHOWN for the fields it
shows. A new free-text field on a model fails test_every_free_text_field_is_in_the_table
until it has a row in FIELD_OF (and pages in SHOWN), or a reason in NOT_TYPED.
"""

import csv
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core import mail
from django.core.cache import cache
from django.db import models, transaction
from django.test import Client, RequestFactory, TestCase, override_settings
from django.utils import timezone

from callers.services import business_save, caller_create, caller_update, on_call_save
from calls.models import Escalation
from calls.services import call_log, call_update, escalation_resolve, escalations_sweep
from followups import webhooks
from followups.deliveries import confirm_token, deliveries_sweep, delivery_confirm
from followups.export import audit_export, safe_cell
from followups.models import Callback, DeliveryStep, NoticeStatus
from followups.services import callback_attempt, callback_claim, callbacks_sweep
from followups.webhooks import webhook_endpoint_save, webhooks_send
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from receptionist.tokens import token_create
from tests.calls.test_views import edit_data, form_data
from tests.factories import CallerFactory, UserFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'"
# For the fields that take no spaces (a URL, a secret, an e-mail address).
PAYLOAD_ONE_WORD = "<script>alert(1)</script><img/src=x/onerror=alert(2)>"
# Any of these in an HTML answer is the payload drawn as markup.
RAW = ("<script>alert(1)", "<img src=x onerror", "<img/src=x/onerror", "onerror=alert(2)>")
# What a spreadsheet runs as a formula: a cell starting with one of these, unless it is a
# number alone (+12125550147, -5).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")

# The exported fields' payloads start as a formula would (the exports must defuse them).
LEADS = {
    "business-name": "+",
    "caller-name": "=",
    "summary": "=",
    "wants": "+",
    "promised": "-",
    "message": "@",
    "notes": "=",
    "promise": "-",
    "callback-outcome": "@",
    "staff-first-name": "=",
}


def typed(field: str) -> str:
    """What was typed into `field`: its marker, then the payload."""
    if field == "webhook-url":
        return f"https://hooks.example.com/XSS-{field}{PAYLOAD_ONE_WORD}"
    if field == "webhook-secret":
        return f"XSS-{field}{PAYLOAD_ONE_WORD}"
    if field.endswith("-email"):
        # A quoted local part: Django's EmailValidator takes markup without spaces.
        return f'"XSS-{field}{PAYLOAD_ONE_WORD}"@example.com'
    return f"{LEADS.get(field, '')}XSS-{field}{PAYLOAD}"


def escaped(field: str) -> str:
    """How `field` reads in HTML: its marker, then the payload's first tag, escaped."""
    return f"XSS-{field}&lt;script&gt;"


# --- the world: a payload in every free-text field -------------------------------------------


def _today_everywhere(zone: ZoneInfo) -> datetime:
    """The start of the day that is today both on the desk's clock and the business's."""
    now = timezone.now()
    return max(
        timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0),
        timezone.localtime(now, zone).replace(hour=0, minute=0, second=0, microsecond=0),
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Made once for the whole table, inside a transaction rolled back afterwards; each
    test runs in a savepoint of it (a page that records something leaves the next test
    the same records)."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            STAFF_CHOICES_SECONDS=0,
            BUSINESSES_SECONDS=0,
            WEBHOOK_PAUSE_AFTER_FAILURES=1,
        ),
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
        mail.outbox = []
        yield _make_world(monkeypatch)
        transaction.set_rollback(True)


def _make_world(monkeypatch) -> dict:
    zone = ZoneInfo("America/New_York")
    with TestCase.captureOnCommitCallbacks(execute=True):
        maya = manager_user(username="maya", email="maya@front.test", first_name="Maya")
        rita = receptionist_user(
            username="rita",
            email=typed("staff-email"),
            first_name=typed("staff-first-name"),
            last_name=typed("staff-last-name"),
        )
        root = UserFactory(username="root", is_superuser=True, is_staff=True)
        local_today = timezone.localdate(timezone.now(), zone)
        harbor = business_save(
            user=maya,
            name=typed("business-name"),
            time_zone="America/New_York",
            greeting=typed("greeting"),
            instructions=typed("instructions"),
            after_hours_instructions=typed("after-hours"),
            message_text_in_email=True,
            numbers=["+1 212 555 8001"],
            # Open one day of the week, not today's nor tomorrow's: closed now, so the call
            # form shows the after-hours instructions and the promise preview warns.
            hours=[((local_today.weekday() + 3) % 7, time(9), time(17))],
            closed_days=[(local_today + timedelta(days=40), typed("closed-day"))],
            contacts=[
                {
                    "name": typed("contact-name"),
                    "email": typed("contact-email"),
                    "phone": "",
                    "role": typed("contact-role"),
                }
            ],
        )
        contact = harbor.contacts.get()
        on_call_save(
            user=maya,
            business=harbor,
            exceptions=[
                {
                    "starts_on": local_today - timedelta(days=1),
                    "starts": time(0),
                    "ends_on": local_today + timedelta(days=2),
                    "ends": time(0),
                    "contacts": [contact.pk],
                    "note": typed("shift-note"),
                }
            ],
        )
        # Before the calls, so that their events are recorded for it.
        endpoint = webhook_endpoint_save(
            user=maya,
            url=typed("webhook-url"),
            events=["call.logged"],
            business_ids=[harbor.pk],
            description=typed("webhook-description"),
            secret=typed("webhook-secret"),
        )
        clara = UserFactory(username="clara", role=CLIENTS)
        StaffBusiness.objects.create(user=clara, business=harbor)
        caller = caller_create(
            business=harbor,
            name=typed("caller-name"),
            user=maya,
            phone="+12125550147",
            email=typed("caller-email"),
            organisation=typed("organisation"),
            things_to_remember=typed("remember-before"),
            is_vip=True,
            caution=True,
            caution_note=typed("caution-note"),
        )
        caller_update(
            caller_id=caller.pk,
            expected_version=caller.version,
            user=maya,
            changes={"things_to_remember": typed("remember")},
        )
        other = CallerFactory(business=harbor, name="Olive Other", phone="+12125550148")
        start = _today_everywhere(zone)
        now = timezone.now()
        first, second, third = (start + (now - start) * n / 4 for n in (1, 2, 3))
        call = call_log(
            user=rita,
            caller=caller,
            business=harbor,
            phone="+12125550147",
            started_at=first,
            nature="urgent",
            urgency="high",
            mood="angry",
            summary=typed("summary"),
            wants=typed("wants"),
            promised=typed("promised"),
            message=typed("message"),
            notes=typed("notes-before"),
            outcome="message_taken",
            escalate=True,
            escalation_reason=typed("escalation-reason"),
            callback=True,
            callback_due_at=now + timedelta(hours=1),
            callback_promise=typed("promise"),
            callback_window=typed("preferred-window"),
        )
        call2 = call_log(
            user=rita,
            caller=caller,
            business=harbor,
            phone="+12125550147",
            started_at=second,
            summary="Second call",
            outcome="callback_scheduled",
            escalate=True,
            escalation_reason="Raised again",
            callback=True,
            callback_due_at=now + timedelta(hours=2),
            callback_promise="We'll call you back.",
        )
        # A third call: a repeat caller on the dashboard.
        call3 = call_log(
            user=rita,
            caller=caller,
            business=harbor,
            phone="+12125550147",
            started_at=third,
            summary="Third call",
        )
        call.refresh_from_db()
        call_update(
            call_id=call.pk,
            expected_version=call.version,
            user=rita,
            changes={"notes": typed("notes")},
        )
        escalation = Escalation.objects.get(call=call)
        resolved = Escalation.objects.get(call=call2)
        escalation_resolve(
            escalation_id=resolved.pk,
            user=maya,
            resolution=typed("resolution"),
            debrief=typed("debrief"),
        )
        callback, kept = Callback.objects.get(call=call), Callback.objects.get(call=call2)
        callback_claim(callback_id=callback.pk, user=rita)
        callback.refresh_from_db()
        callback_attempt(
            callback_id=callback.pk,
            user=rita,
            expected_version=callback.version,
            result="no_answer",
            note=typed("attempt-note"),
            next_due_at=now + timedelta(hours=3),
        )
        callback_claim(callback_id=kept.pk, user=rita)
        kept.refresh_from_db()
        callback_attempt(
            callback_id=kept.pk,
            user=rita,
            expected_version=kept.version,
            result="reached",
            outcome=typed("callback-outcome"),
        )
        api_token, bearer = token_create(user=rita, name=typed("token-name"))
        # Rita opens the caller's page: the managers' "Caller pages opened" says so.
        opener = Client()
        opener.force_login(rita)
        assert opener.get(f"/callers/{caller.pk}/").status_code == 200
        # The query string of an export, as a client that does not encode it sends it.
        export = RequestFactory().get("/calls/export.csv", QUERY_STRING=typed("export-filter"))
        export.user = maya
        audit_export(export, "call log")
    # The mail server's own words when the notice failed, and the webhook receiver's.
    step = DeliveryStep.objects.get(delivery__call=call)
    DeliveryStep.objects.filter(pk=step.pk).update(
        notice=NoticeStatus.FAILED, error=typed("mail-server-error")
    )
    monkeypatch.setattr(webhooks, "post", lambda *args, **kwargs: (None, typed("webhook-error")))
    with TestCase.captureOnCommitCallbacks(execute=True):
        webhooks_send()  # fails and pauses the endpoint: the managers are e-mailed
        # Nobody confirmed the urgent message: escalated, with the names in its reason.
        deliveries_sweep(now=timezone.now() + timedelta(hours=3))
    return {
        # What the app e-mailed while the world was made (the outbox is emptied per test).
        "mails": list(mail.outbox),
        "users": {"rita": rita, "maya": maya, "clara": clara, "root": root},
        "bearer": bearer,
        "ids": {
            "call": call.pk,
            "call2": call2.pk,
            "call3": call3.pk,
            "caller": caller.pk,
            "other": other.pk,
            "harbor": harbor.pk,
            "rita": rita.pk,
            "callback": callback.pk,
            "kept": kept.pk,
            "escalation": escalation.pk,
            "resolved": resolved.pk,
            "endpoint": endpoint.pk,
            "api_token": api_token.pk,
            "token": confirm_token(step),
        },
    }


def _call_conflict(world) -> dict:
    """The call's edit form as opened before someone else saved it (version 1)."""
    return {**edit_data(summary="Mine"), "version": "1"}


def _call_logged(world) -> dict:
    """The call form sent for the caller picked in the lookup panel."""
    ids = world["ids"]
    return form_data(
        business=str(ids["harbor"]),
        caller=str(ids["caller"]),
        caller_name=typed("caller-name"),
        outcome="resolved",
    )


def _caller_conflict(world) -> dict:
    """The caller's edit form as opened before someone else saved it (version 1)."""
    return {
        "name": "Mine",
        "version": "1",
        "phones-TOTAL_FORMS": "0",
        "phones-INITIAL_FORMS": "0",
    }


# --- the pages, and which field each shows -------------------------------------------------


@dataclass(frozen=True)
class Page:
    url: str
    role: str  # rita (front desk), maya (manager), clara (client), root, anon, token (rita's)
    kind: str = "html"  # html, json or csv
    htmx: bool = False
    post: object = None  # a function of the world giving the form sent
    follow: bool = False  # to the page the POST redirects to
    says: str = ""  # the field the message on that page quotes ("Token “…” revoked")
    status: int = 200
    # The rows of the next page, as its "Older" / "More" link asks for them (htmx), one
    # row a page.
    next_rows: bool = False


SCREEN_POP = "phone=%2B12125550147&business={harbor}"
PAGES = {
    # The front desk.
    "call log": Page("/calls/", "rita"),
    "call log (htmx)": Page("/calls/", "rita", htmx=True),
    "call log searched": Page("/calls/?q=XSS", "rita"),
    "call log, next rows (htmx)": Page("/calls/", "rita", htmx=True, next_rows=True),
    "call": Page("/calls/{call}/", "rita"),
    "call with a resolved escalation": Page("/calls/{call2}/", "rita"),
    "call edit": Page("/calls/{call}/edit/", "rita"),
    "call edit conflict": Page("/calls/{call}/edit/", "rita", post=_call_conflict, status=409),
    "flag a call": Page("/calls/{call3}/escalate/", "rita"),
    "call logged, the next form": Page(
        "/calls/new/", "rita", post=_call_logged, follow=True, says="caller-name"
    ),
    "call form": Page("/calls/new/", "rita"),
    "call form screen pop": Page("/calls/new/?dialed=%2B12125558001&phone=%2B12125550147", "rita"),
    "lookup panel (htmx)": Page("/callers/lookup/?" + SCREEN_POP, "rita", htmx=True),
    "open callback notice (htmx)": Page("/callbacks/open-for/?" + SCREEN_POP, "rita", htmx=True),
    "promise preview (htmx)": Page(
        "/callbacks/promise/?nature=urgent&urgency=high&callback=on&business={harbor}",
        "rita",
        htmx=True,
    ),
    "callers": Page("/callers/", "rita"),
    "callers (htmx)": Page("/callers/?q=XSS", "rita", htmx=True),
    "caller": Page("/callers/{caller}/", "rita"),
    "caller's calls, next rows (htmx)": Page(
        "/callers/{caller}/", "rita", htmx=True, next_rows=True
    ),
    "caller edit": Page("/callers/{caller}/edit/", "maya"),
    "caller edit conflict": Page(
        "/callers/{caller}/edit/", "maya", post=_caller_conflict, status=409
    ),
    "caller merge": Page("/callers/{caller}/merge/?into={other}", "maya"),
    "caller merge search": Page("/callers/{other}/merge/?q=XSS", "maya"),
    "callback queue": Page("/callbacks/?view=team", "rita"),
    "callback queue (htmx)": Page("/callbacks/?view=team", "rita", htmx=True),
    "callback": Page("/callbacks/{callback}/", "rita"),
    "callback to a manager": Page("/callbacks/{callback}/", "maya"),
    "callback kept": Page("/callbacks/{kept}/", "rita"),
    "my escalations": Page("/escalations/mine/", "rita"),
    "my escalations, next rows (htmx)": Page(
        "/escalations/mine/", "rita", htmx=True, next_rows=True
    ),
    "escalation to the front desk": Page("/escalations/{resolved}/", "rita"),
    "search": Page("/search/?q=XSS", "rita"),
    "my day": Page("/dashboard/", "rita"),
    "api tokens": Page("/api/tokens/", "rita"),
    "api token revoked": Page(
        "/api/tokens/{api_token}/revoke/", "rita", post=lambda w: {}, follow=True, says="token-name"
    ),
    # Managers.
    "escalation queue": Page("/escalations/", "maya"),
    "escalation queue (htmx)": Page("/escalations/", "maya", htmx=True),
    "escalation": Page("/escalations/{escalation}/", "maya"),
    "escalation resolved": Page("/escalations/{resolved}/", "maya"),
    "resolved escalations": Page("/escalations/resolved/", "maya"),
    "caller pages opened": Page("/callers/opened/?caller={caller}", "maya"),
    "dashboard": Page("/dashboard/", "maya"),
    "dashboard of a business": Page("/dashboard/?business={harbor}", "maya"),
    "repeat callers (htmx)": Page(
        "/dashboard/repeat-callers/?business={harbor}", "maya", htmx=True
    ),
    "billing minutes": Page("/reports/minutes/", "maya"),
    "businesses": Page("/businesses/", "maya"),
    "business made inactive": Page(
        "/businesses/{harbor}/active/",
        "maya",
        post=lambda w: {"active": "0"},
        follow=True,
        says="business-name",
    ),
    "business edit": Page("/businesses/{harbor}/edit/", "maya"),
    "on call": Page("/businesses/{harbor}/on-call/", "maya"),
    "people": Page("/businesses/people/", "maya"),
    "person edit": Page("/businesses/people/{rita}/edit/", "maya"),
    "callback policy": Page("/callbacks/policy/{harbor}/", "maya"),
    "webhooks": Page("/webhooks/", "maya"),
    "webhook": Page("/webhooks/{endpoint}/", "maya"),
    "webhook edit": Page("/webhooks/{endpoint}/edit/", "maya"),
    # The client portal, and the link sent to whoever is on call.
    "portal calls": Page("/portal/", "clara"),
    "portal messages": Page("/portal/?view=messages", "clara"),
    "portal call": Page("/portal/calls/{call}/", "clara"),
    "portal callbacks": Page("/portal/callbacks/", "clara"),
    "portal callbacks kept": Page("/portal/callbacks/?view=kept", "clara"),
    "portal escalations": Page("/portal/escalations/", "clara"),
    "portal month": Page("/portal/summary/", "clara"),
    "confirmation link": Page("/deliveries/confirm/{token}/", "anon"),
    # The admin (superusers).
    "admin businesses": Page("/admin/callers/business/", "root"),
    "admin business": Page("/admin/callers/business/{harbor}/change/", "root"),
    "admin callers": Page("/admin/callers/caller/", "root"),
    "admin caller": Page("/admin/callers/caller/{caller}/change/", "root"),
    "admin caller history": Page("/admin/callers/caller/{caller}/history/", "root"),
    "admin calls": Page("/admin/calls/call/", "root"),
    "admin call": Page("/admin/calls/call/{call}/change/", "root"),
    "admin call history": Page("/admin/calls/call/{call}/history/", "root"),
    "admin escalations": Page("/admin/calls/escalation/", "root"),
    "admin escalation": Page("/admin/calls/escalation/{resolved}/change/", "root"),
    "admin callbacks": Page("/admin/followups/callback/", "root"),
    "admin callback": Page("/admin/followups/callback/{callback}/change/", "root"),
    "admin callback kept": Page("/admin/followups/callback/{kept}/change/", "root"),
    "admin exports": Page("/admin/followups/export/", "root"),
    # The API.
    "api calls": Page("/api/v1/calls/", "rita", kind="json"),
    "api calls searched by token": Page("/api/v1/calls/?q=XSS", "token", kind="json"),
    "api call": Page("/api/v1/calls/{call}/", "rita", kind="json"),
    "api callers": Page("/api/v1/callers/?q=XSS", "rita", kind="json"),
    "api caller": Page("/api/v1/callers/{caller}/", "token", kind="json"),
    "api callbacks": Page("/api/v1/callbacks/?view=team", "rita", kind="json"),
    "api callback kept": Page("/api/v1/callbacks/{kept}/", "rita", kind="json"),
    "api escalations": Page("/api/v1/escalations/", "maya", kind="json"),
    "api escalations of the front desk": Page("/api/v1/escalations/", "token", kind="json"),
    "api businesses": Page("/api/v1/businesses/", "rita", kind="json"),
    "api business": Page("/api/v1/businesses/{harbor}/", "rita", kind="json"),
    "api screen pop": Page(
        "/api/v1/lookup/?phone=%2B12125550147&dialed=%2B12125558001", "token", kind="json"
    ),
    "api messages": Page("/api/v1/messages/", "clara", kind="json"),
    # The exports.
    "calls export": Page("/calls/export.csv", "maya", kind="csv"),
    "calls export searched": Page("/calls/export.csv?q=XSS", "maya", kind="csv"),
    "callbacks export": Page("/callbacks/export.csv?status=all", "maya", kind="csv"),
    "minutes export": Page("/reports/minutes.csv", "maya", kind="csv"),
    "minutes statement": Page("/reports/minutes/{harbor}/statement.csv", "maya", kind="csv"),
}

# Which pages show each field: escaped in HTML, as typed in JSON and CSV. (Every page
# Rita reads names her in the navigation.)
# Fields shown on the same outputs.
BUSINESS_TEXT_SHOWN = [
    "call logged, the next form",
    "call form",
    "call form screen pop",
    "business edit",
    "admin business",
    "api businesses",
    "api business",
    "api screen pop",
]

STAFF_NAME_SHOWN = [
    "call log",
    "call log (htmx)",
    "call log searched",
    "call log, next rows (htmx)",
    "call",
    "call with a resolved escalation",
    "call edit",
    "call edit conflict",
    "flag a call",
    "call logged, the next form",
    "call form",
    "call form screen pop",
    "callers",
    "caller",
    "caller's calls, next rows (htmx)",
    "callback queue",
    "callback",
    "callback to a manager",
    "callback kept",
    "my escalations",
    "caller pages opened",
    "escalation to the front desk",
    "search",
    "my day",
    "api tokens",
    "api token revoked",
    "escalation queue",
    "escalation queue (htmx)",
    "escalation",
    "escalation resolved",
    "resolved escalations",
    "dashboard",
    "dashboard of a business",
    "people",
    "person edit",
    "api calls",
    "api calls searched by token",
    "api call",
    "api callback kept",
    "api escalations",
    "api escalations of the front desk",
    "calls export",
    "calls export searched",
]

WEBHOOK_TEXT_SHOWN = ["webhooks", "webhook", "webhook edit"]

WEBHOOK_SECRET_SHOWN = ["webhook"]

SHOWN = {
    "business-name": [
        "call log",
        "call log (htmx)",
        "call log searched",
        "call log, next rows (htmx)",
        "call",
        "call with a resolved escalation",
        "call logged, the next form",
        "call form",
        "call form screen pop",
        "promise preview (htmx)",
        "caller",
        "callback queue",
        "callback queue (htmx)",
        "search",
        "my day",
        "escalation queue",
        "escalation queue (htmx)",
        "escalation",
        "dashboard",
        "dashboard of a business",
        "billing minutes",
        "businesses",
        "business made inactive",
        "business edit",
        "on call",
        "people",
        "person edit",
        "callback policy",
        "webhooks",
        "webhook",
        "webhook edit",
        "portal calls",
        "portal messages",
        "portal call",
        "portal callbacks",
        "portal callbacks kept",
        "portal escalations",
        "portal month",
        "confirmation link",
        "admin businesses",
        "admin business",
        "admin callers",
        "admin caller",
        "admin call",
        "admin callback",
        "admin callback kept",
        "api escalations",
        "api escalations of the front desk",
        "api businesses",
        "api business",
        "api screen pop",
        "calls export",
        "calls export searched",
        "callbacks export",
        "minutes export",
        "minutes statement",
    ],
    "greeting": BUSINESS_TEXT_SHOWN,
    "instructions": BUSINESS_TEXT_SHOWN,
    "after-hours": BUSINESS_TEXT_SHOWN,
    "closed-day": ["business edit"],
    # Also in the ladder of an urgent message and the reason it was escalated.
    "contact-name": [
        "call",
        "call logged, the next form",
        "call form",
        "call form screen pop",
        "escalation",
        "business edit",
        "on call",
        "portal call",
        "confirmation link",
        "api escalations",
        "api escalations of the front desk",
        "api screen pop",
    ],
    "contact-email": ["call", "business edit", "portal call", "admin call", "api screen pop"],
    "contact-role": ["business edit", "on call", "api screen pop"],
    "shift-note": ["on call"],
    "caller-name": [
        "call log",
        "call log (htmx)",
        "call log searched",
        "call log, next rows (htmx)",
        "call",
        "call with a resolved escalation",
        "call edit",
        "call edit conflict",
        "flag a call",
        "call logged, the next form",
        "lookup panel (htmx)",
        "open callback notice (htmx)",
        "callers",
        "callers (htmx)",
        "caller",
        "caller edit",
        "caller edit conflict",
        "caller merge",
        "caller merge search",
        "callback queue",
        "callback queue (htmx)",
        "callback",
        "callback to a manager",
        "callback kept",
        "my escalations",
        "my escalations, next rows (htmx)",
        "caller pages opened",
        "escalation to the front desk",
        "search",
        "my day",
        "escalation queue",
        "escalation queue (htmx)",
        "escalation",
        "escalation resolved",
        "resolved escalations",
        "repeat callers (htmx)",
        "portal calls",
        "portal messages",
        "portal call",
        "portal callbacks",
        "portal callbacks kept",
        "portal escalations",
        "admin callers",
        "admin caller",
        "admin caller history",
        "admin calls",
        "admin call",
        "admin call history",
        "admin escalations",
        "admin escalation",
        "admin callbacks",
        "admin callback",
        "admin callback kept",
        "api calls",
        "api calls searched by token",
        "api call",
        "api callers",
        "api caller",
        "api callbacks",
        "api callback kept",
        "api escalations",
        "api escalations of the front desk",
        "api screen pop",
        "api messages",
        "calls export",
        "calls export searched",
        "callbacks export",
    ],
    "caller-email": [
        "caller",
        "caller edit",
        "caller edit conflict",
        "admin caller",
        "api callers",
        "api caller",
    ],
    "organisation": [
        "lookup panel (htmx)",
        "callers",
        "callers (htmx)",
        "caller",
        "caller edit",
        "caller edit conflict",
        "caller merge",
        "caller merge search",
        "search",
        "admin callers",
        "admin caller",
        "api callers",
        "api caller",
        "api screen pop",
    ],
    "remember": [
        "lookup panel (htmx)",
        "callers",
        "callers (htmx)",
        "caller",
        "caller edit",
        "caller edit conflict",
        "caller merge",
        "admin caller",
        "admin caller history",
        "api callers",
        "api caller",
        "api screen pop",
    ],
    # As it was before an edit: in the caller's history.
    "remember-before": ["caller", "admin caller history"],
    "caution-note": [
        "call log",
        "call log (htmx)",
        "call log searched",
        "call log, next rows (htmx)",
        "call",
        "call with a resolved escalation",
        "lookup panel (htmx)",
        "callers",
        "callers (htmx)",
        "caller",
        "caller edit",
        "caller edit conflict",
        "callback queue",
        "callback queue (htmx)",
        "callback",
        "callback to a manager",
        "callback kept",
        "escalation to the front desk",
        "search",
        "escalation queue",
        "escalation queue (htmx)",
        "escalation",
        "escalation resolved",
        "resolved escalations",
        "admin caller",
        "api callers",
        "api caller",
        "api screen pop",
    ],
    # The callbacks' reason is their call's summary.
    "summary": [
        "call log",
        "call log (htmx)",
        "call log searched",
        "call",
        "call edit",
        "call edit conflict",
        "lookup panel (htmx)",
        "open callback notice (htmx)",
        "caller",
        "callback queue",
        "callback queue (htmx)",
        "callback",
        "callback to a manager",
        "search",
        "my day",
        "escalation",
        "portal calls",
        "portal messages",
        "portal call",
        "portal callbacks",
        "portal escalations",
        "admin calls",
        "admin call",
        "admin call history",
        "admin escalations",
        "admin callback",
        "api calls",
        "api calls searched by token",
        "api call",
        "api callbacks",
        "api screen pop",
        "api messages",
        "calls export",
        "calls export searched",
        "callbacks export",
    ],
    "wants": [
        "call",
        "call edit",
        "call edit conflict",
        "portal call",
        "admin call",
        "api calls",
        "api calls searched by token",
        "api call",
        "api messages",
        "calls export",
        "calls export searched",
    ],
    "promised": [
        "call",
        "call edit",
        "call edit conflict",
        "portal call",
        "admin call",
        "api calls",
        "api calls searched by token",
        "api call",
        "calls export",
        "calls export searched",
    ],
    "message": [
        "call",
        "call edit",
        "call edit conflict",
        "portal calls",
        "portal messages",
        "portal call",
        "admin call",
        "api calls",
        "api calls searched by token",
        "api call",
        "api messages",
        "calls export",
        "calls export searched",
    ],
    "notes": [
        "call",
        "call edit",
        "call edit conflict",
        "admin call",
        "admin call history",
        "api calls",
        "api calls searched by token",
        "api call",
        "calls export",
        "calls export searched",
    ],
    # As they were before an edit: in the call's history.
    "notes-before": ["call", "admin call history"],
    "escalation-reason": [
        "escalation queue",
        "escalation queue (htmx)",
        "escalation",
        "api escalations",
        "api escalations of the front desk",
    ],
    "resolution": [
        "escalation to the front desk",
        "escalation resolved",
        "portal escalations",
        "admin escalation",
        "api escalations",
        "api escalations of the front desk",
    ],
    "debrief": [
        "call with a resolved escalation",
        "my escalations",
        "escalation to the front desk",
        "my day",
        "escalation resolved",
        "resolved escalations",
        "admin escalation",
        "api escalations",
        "api escalations of the front desk",
    ],
    "promise": [
        "call",
        "callback queue",
        "callback queue (htmx)",
        "callback",
        "callback to a manager",
        "portal call",
        "admin callback",
        "api callbacks",
        "callbacks export",
    ],
    "preferred-window": [
        "callback queue",
        "callback queue (htmx)",
        "callback",
        "callback to a manager",
        "admin callback",
        "api callbacks",
    ],
    "callback-outcome": [
        "call with a resolved escalation",
        "callback kept",
        "admin callback kept",
        "api callback kept",
        "callbacks export",
    ],
    "attempt-note": ["callback", "callback to a manager", "admin callback"],
    "staff-first-name": STAFF_NAME_SHOWN,
    "staff-last-name": STAFF_NAME_SHOWN,
    "staff-email": ["person edit"],
    "token-name": ["api tokens", "api token revoked"],
    "webhook-url": WEBHOOK_TEXT_SHOWN,
    "webhook-description": WEBHOOK_TEXT_SHOWN,
    "webhook-secret": WEBHOOK_SECRET_SHOWN,
    # The receiver's answer, as the delivery log and the pause notice quote it.
    "webhook-error": WEBHOOK_SECRET_SHOWN,
    # The mail server's own words when a notice failed: for the staff only.
    "mail-server-error": ["call"],
    "export-filter": ["admin exports"],
}

# Every free-text column of the apps' models (and of a person), by the field of SHOWN whose
# text it holds: typed there, or copied from there by the app.
FIELD_OF = {
    "callers.Business.name": "business-name",
    "callers.Business.greeting": "greeting",
    "callers.Business.instructions": "instructions",
    "callers.Business.after_hours_instructions": "after-hours",
    "callers.BusinessContact.name": "contact-name",
    "callers.BusinessContact.email": "contact-email",
    "callers.BusinessContact.role": "contact-role",
    "callers.ClosedDay.name": "closed-day",
    "callers.OnCallShift.note": "shift-note",
    "callers.Caller.name": "caller-name",
    "callers.Caller.email": "caller-email",
    "callers.Caller.organisation": "organisation",
    "callers.Caller.things_to_remember": "remember",
    "callers.Caller.caution_note": "caution-note",
    "calls.Call.summary": "summary",
    "calls.Call.wants": "wants",
    "calls.Call.promised": "promised",
    "calls.Call.message": "message",
    "calls.Call.notes": "notes",
    "calls.Call.message_sent_to": "contact-email",  # "E-mailed … to" the contacts
    "calls.Escalation.reason": "escalation-reason",
    "calls.Escalation.resolution": "resolution",
    "calls.Escalation.debrief": "debrief",
    "followups.Callback.reason": "summary",
    "followups.Callback.promise": "promise",
    "followups.Callback.preferred_window": "preferred-window",
    "followups.Callback.outcome": "callback-outcome",
    "followups.CallbackAttempt.note": "attempt-note",
    "followups.Export.filter": "export-filter",
    "followups.WebhookEndpoint.url": "webhook-url",
    "followups.WebhookEndpoint.description": "webhook-description",
    "followups.WebhookEndpoint.secret": "webhook-secret",
    "followups.WebhookEndpoint.paused_reason": "webhook-error",
    "followups.WebhookDelivery.last_error": "webhook-error",
    "followups.MessageDelivery.confirmed_by_name": "contact-name",
    "followups.MessageDelivery.escalation_reason": "contact-name",
    "followups.DeliveryStep.name": "contact-name",
    "followups.DeliveryStep.address": "contact-email",
    "followups.DeliveryStep.error": "mail-server-error",
    "receptionist.ApiToken.name": "token-name",
    "auth.User.first_name": "staff-first-name",
    "auth.User.last_name": "staff-last-name",
    "auth.User.email": "staff-email",
}
# Text columns nobody types markup into, and why.
NOT_TYPED = {
    "callers.Business.time_zone": "one of the time zones offered",
    "callers.InboundNumber.number": "a phone number, stored E.164",
    "callers.BusinessContact.phone": "a phone number, stored E.164",
    "callers.CallerPhone.number": "a phone number, stored E.164",
    "calls.Call.phone": "a phone number, stored E.164",
    "followups.Export.what": "written by the app (a fixed word, a business's name)",
    "followups.WebhookEvent.body": "JSON the app writes: ids and vocabulary only",
    "followups.DeliveryStep.channel": "a channel's name from the settings",
    "receptionist.Session.session_key": "made by the app",
    "receptionist.Session.session_data": "made by the app, never shown",
    "receptionist.ApiToken.prefix": "made by the app",
    "receptionist.ApiToken.digest": "made by the app",
    "auth.Permission.name": "written by migrations",
    "auth.Permission.codename": "written by migrations",
    "auth.Group.name": "the three roles, written by migrations",
    "auth.User.password": "a hash, never shown",
    "auth.User.username": "letters, digits and @.+-_ only (Django's validator)",
}


def _text_columns() -> set[str]:
    found = set()
    for label in ("callers", "calls", "followups", "receptionist", "auth"):
        for model in apps.get_app_config(label).get_models():
            if model.__name__.startswith("Historical"):
                continue  # the audit trail's copies of the rows above
            for field in model._meta.get_fields():
                if isinstance(field, models.CharField | models.TextField) and not field.choices:
                    found.add(f"{label}.{model.__name__}.{field.name}")
    return found


def test_every_free_text_field_is_in_the_table():
    assert _text_columns() == set(FIELD_OF) | set(NOT_TYPED)
    assert set(FIELD_OF.values()) <= set(SHOWN)


def test_the_table_names_real_pages_and_each_field_is_shown_as_html():
    for field, pages in SHOWN.items():
        assert set(pages) <= set(PAGES), field
        assert len(pages) == len(set(pages)), field
        assert any(PAGES[name].kind == "html" for name in pages), field
    shown_somewhere = {name for pages in SHOWN.values() for name in pages}
    assert shown_somewhere == set(PAGES)


# --- the checks ----------------------------------------------------------------------------


def _fields_on(page_name: str) -> list[str]:
    return [field for field, pages in SHOWN.items() if page_name in pages]


# One test client for every request: a new one builds the middleware again on its first
# request (WhiteNoise then scans every static file).
CLIENT = Client()


def _ask(world, page: Page, **headers):
    client = CLIENT
    client.logout()
    if page.role == "token":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world['bearer']}"
    elif page.role != "anon":
        client.force_login(world["users"][page.role])
    if page.htmx:
        headers["HTTP_HX_REQUEST"] = "true"
    url = page.url.format(**world["ids"])
    if page.post is not None:
        return client.post(url, page.post(world), follow=page.follow, **headers)
    if page.next_rows:
        with override_settings(CALLS_PAGE_SIZE=1, CALLERS_PAGE_SIZE=1, CALLBACKS_PAGE_SIZE=1):
            first = client.get(url).content.decode()
            link = re.search(r'hx-get="\?([^"]*cursor=[^"]*)"', first)
            assert link, "no next page"
            return client.get(f"{url}?{html.unescape(link[1])}", **headers)
    return client.get(url, **headers)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _check_html(page, response, fields):
    assert response["Content-Type"].startswith("text/html")
    content = response.content.decode()
    if page.htmx:
        assert "<!doctype html>" not in content, "a whole page, not the fragment htmx asks for"
    drawn = [raw for raw in RAW if raw in content]
    assert not drawn, f"markup drawn unescaped: {drawn}"
    missing = [field for field in fields if escaped(field) not in content]
    assert not missing, f"not shown (escaped): {missing}"
    if page.says:
        said = re.findall(r'role="status">(.*?)</div>', content)
        assert any(escaped(page.says) in message for message in said), said


def _check_json(world, page, response, fields):
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "&lt;" not in response.content.decode()  # JSON carries the text, not HTML
    strings = list(_strings(json.loads(response.content)))
    missing = [field for field in fields if not any(typed(field) in s for s in strings)]
    assert not missing, f"not in the JSON as typed: {missing}"
    # Asked for HTML, the API still answers JSON (a refusal), never a page with the text.
    as_html = _ask(world, page, HTTP_ACCEPT="text/html")
    assert as_html["Content-Type"] == "application/json"


def _check_csv(response, fields):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    runs = [c for c in cells if c.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(c)]
    assert not runs, f"cells a spreadsheet would run: {runs}"
    for field in fields:
        value = typed(field)
        holding = [cell for cell in cells if value in cell]
        assert holding, f"{field} is not exported"
        if value.startswith(FORMULA_STARTS):
            # The cell that starts with it has the apostrophe before it.
            starting = [cell for cell in holding if cell.lstrip("'").startswith(value)]
            assert starting, field
            assert all(cell.startswith("'" + value) for cell in starting), field


@pytest.mark.parametrize("page_name", list(PAGES))
def test_every_output_escapes_what_it_shows(world, page_name):
    page = PAGES[page_name]
    if page_name.startswith("repeat callers"):
        cache.clear()  # its answer is kept five minutes, per business and range
    response = _ask(world, page)
    assert response.status_code == page.status, response.content[:500]
    fields = _fields_on(page_name)
    if page.kind == "json":
        _check_json(world, page, response, fields)
    elif page.kind == "csv":
        _check_csv(response, fields)
    else:
        _check_html(page, response, fields)


# --- e-mails -------------------------------------------------------------------------------

# Each e-mail the app sends, by a part of its subject, with the fields it quotes (as plain
# text). Those quoting none carry a link only, and must not carry any of the payloads.
MAILS = {
    "New message for": ["business-name", "caller-name", "summary", "wants", "promised", "message"],
    "URGENT message for": ["business-name", "caller-name", "summary", "wants", "message"],
    "Webhook endpoint": ["webhook-error"],
    "New escalation": [],
    "has not been acknowledged": [],
    "a message was not delivered": [],
    "the message was confirmed after all": [],
    "Callback #": [],
}


def test_emails_are_plain_text_and_link_only_ones_carry_nothing_typed(
    world, django_capture_on_commit_callbacks
):
    later = timezone.now() + timedelta(hours=6)
    with django_capture_on_commit_callbacks(execute=True):
        escalations_sweep(now=later)  # nobody acknowledged in time: every manager is told
        callbacks_sweep(now=later)  # the callbacks are due, then overdue
        # The escalated message is confirmed after all: the managers are told so.
        step = DeliveryStep.objects.get(delivery__call_id=world["ids"]["call"])
        delivery_confirm(delivery_id=step.delivery_id, step_id=step.pk)
    seen = set()
    for message in world["mails"] + mail.outbox:
        kind = next((k for k in MAILS if k in message.subject), None)
        assert kind is not None, f"an e-mail missing from MAILS: {message.subject}"
        seen.add(kind)
        assert message.content_subtype == "plain"
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":  # none today: one added must escape what it quotes
                assert not [raw for raw in RAW if raw in content], message.subject
                assert all(escaped(field) in content for field in MAILS[kind]), kind
        for field in MAILS[kind]:
            assert typed(field) in f"{message.subject}\n{message.body}", (kind, field)
        if not MAILS[kind]:
            assert "XSS-" not in f"{message.subject}\n{message.body}", kind
    assert seen == set(MAILS)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("+12125550147", "+12125550147"),  # a number in E.164 stays a number
        ("-5", "-5"),
        ("Ann = Bob", "Ann = Bob"),
    ],
)
def test_export_cells_never_start_a_formula(value, written):
    assert safe_cell(value) == written
