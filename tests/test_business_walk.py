"""Every page, walked by a receptionist limited to business A (receptionist.models.
StaffBusiness): nothing of business B appears anywhere, and B's records answer 404."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from callers.models import Business
from callers.services import business_save
from calls.services import escalation_raise
from receptionist.models import StaffBusiness
from tests.conftest import _client_for
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    manager_user,
    receptionist_user,
)

pytestmark = pytest.mark.django_db

SECRET = "Bravosecret"
# B's caller's whole name: never typed into a page, so never echoed back either.
LEAK = f"{SECRET} Person"


def url_patterns(patterns=None, prefix="", namespace=""):
    """(route, name) of every page but the admin's."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            yield from url_patterns(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}".strip(":")


@pytest.fixture
def world(db):
    maya = manager_user(username="maya-w")
    a = Business.objects.default()
    b = business_save(user=maya, name="Bravo", numbers=["(646) 555-0100"])
    rita = receptionist_user(username="rita-w")
    StaffBusiness.objects.create(user=rita, business=a)
    records = {}
    for business, name in ((a, "Alpha Person"), (b, f"{SECRET} Person")):
        caller = CallerFactory(name=name, phone="+12125550147", business=business)
        call = CallFactory(caller=caller, summary=f"{name} asked about an invoice", taken_by=rita)
        callback = CallbackFactory(call=call, caller=caller)
        escalation = escalation_raise(
            call=call, user=rita, reason=f"{name} shouted", playbook_steps=[]
        )
        records[business.pk] = {
            "callers": caller,
            "calls": call,
            "callbacks": callback,
            "escalations": escalation,
            "businesses": business,
        }
    return {"rita": rita, "a": a, "b": b, "records": records}


# What each page without an id is asked, to give B's records every chance to show.
ASKED = {
    "calls:list": [{}, {"q": "invoice"}, {"q": SECRET}, {"who": SECRET}, {"q": "2125550147"}],
    "callers:list": [{}, {"q": SECRET}, {"q": "212555"}],
    "callers:lookup": [{"phone": "212 555 0147"}, {"caller_name": SECRET}],
    "callbacks:open_for": [{"phone": "212 555 0147"}],
    "calls:new": [{"dialed": "(646) 555-0100"}, {}],
    "callbacks:promise": [{"nature": "urgent", "urgency": "high", "callback": "on"}],
    "api-lookup": [{"phone": "212 555 0147"}, {"phone": "2125550147", "dialed": "(646) 555-0100"}],
    "api-calls": [{}, {"q": "invoice"}, {"q": SECRET}, {"who": SECRET}],
    "api-callers": [{}, {"q": SECRET}, {"q": "212555"}],
}
# Pages a receptionist may not use at all: a 403 before any record is looked at.
NOT_A_RECEPTIONISTS = {
    "escalations:queue",
    "escalations:resolved",
    "escalations:acknowledge",
    "escalations:assign",
    "escalations:resolve",
    "callbacks:assign",
    "callbacks:cancel",
    "callers:merge",
    "businesses:list",
    "businesses:new",
    "businesses:edit",
    "businesses:active",
    "businesses:on_call",
    "businesses:people",
    "businesses:person_new",
    "businesses:person_edit",
    "callbacks:policy",
    # The client portal: for people at a client business only.
    "portal:messages",
    "portal:call",
    "portal:read",
    "portal:confirm",
    "portal:callbacks",
    "portal:escalations",
    "portal:summary",
    # The reports and exports: the managers'.
    "reports:minutes",
    "reports:minutes_csv",
    "reports:minutes_statement",
    "reports:calls_csv",
    "reports:callbacks_csv",
    "reports:repeat",
    # Webhooks: managers of every business only.
    "webhooks:list",
    "webhooks:new",
    "webhooks:detail",
    "webhooks:edit",
    "webhooks:rotate",
    "webhooks:pause",
    "webhooks:resume",
    "webhooks:delete",
    "webhooks:replay",
    # The API's: managers' and clients' endpoints (tests/api/test_api_permissions.py).
    "api-caller-merge",
    "api-escalation-acknowledge",
    "api-escalation-resolve",
    "api-callback-cancel",
    "api-message-read",
}
# The records a page of another namespace shows (the portal's call pages show calls, the
# callback policy is a business's).
KIND_OF = {
    "portal": "calls",
    "callbacks:policy": "businesses",
    "reports:minutes_statement": "businesses",
    # A receptionist is refused the webhook pages before any record is looked at: any id.
    "webhooks": "businesses",
    # The API's records of another business are not found either.
    "api-business": "businesses",
    "api-caller": "callers",
    "api-caller-merge": "callers",
    "api-call": "calls",
    "api-escalation-acknowledge": "escalations",
    "api-escalation-resolve": "escalations",
    "api-callback": "callbacks",
    "api-callback-claim": "callbacks",
    "api-callback-release": "callbacks",
    "api-callback-attempt": "callbacks",
    "api-callback-cancel": "callbacks",
    "api-message-read": "calls",
    "api-token-revoke": "businesses",  # one's own tokens only: any id not theirs is 404
}


def test_a_receptionist_limited_to_one_business_sees_nothing_of_another(world):
    client = _client_for(world["rita"])
    theirs = world["records"][world["b"].pk]
    ours = world["records"][world["a"].pk]
    seen_ours = 0
    walked = set()
    for route, name in url_patterns():
        # api-not-found: the API's answer to an address that is no endpoint; alive: the
        # idle timeout's "someone is here" (204, shows nothing).
        if name in {"home", "healthz", "login", "logout", "api-not-found", "alive"}:
            continue
        walked.add(name)
        if "<int:pk>" in route:
            kind = name.split(":")[0]
            kind = KIND_OF.get(name, KIND_OF.get(kind, kind))
            for method in ("get", "post"):
                response = getattr(client, method)(
                    "/" + route.replace("<int:pk>", str(theirs[kind].pk))
                )
                expected = {403, 404, 405} if name in NOT_A_RECEPTIONISTS else {404, 405}
                assert response.status_code in expected, (name, method, response.status_code)
            response = client.get("/" + route.replace("<int:pk>", str(ours[kind].pk)))
            assert response.status_code in {200, 302, 403, 405}, (name, response.status_code)
            assert LEAK not in response.content.decode(), name
            continue
        for asked in ASKED.get(name, [{}]):
            response = client.get("/" + route, asked)
            # 400: the screen pop refuses a number dialed that is not the person's business.
            assert response.status_code in {200, 302, 400, 403, 405}, (
                name,
                asked,
                response.status_code,
            )
            page = response.content.decode()
            assert LEAK not in page, (name, asked)
            seen_ours += "Alpha Person" in page
    assert seen_ours >= 4  # the lists do show A's records
    assert {"calls:detail", "callers:detail", "callbacks:detail", "escalations:detail"} <= walked
