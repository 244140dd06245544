"""Who may call what: every endpoint x {anonymous, receptionist, manager, client, a token}."""

import json

import pytest
from django.test import Client

from callers.models import Business
from calls.services import escalation_raise
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from receptionist.tokens import token_create
from tests.factories import CallbackFactory, CallerFactory, CallFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(receptionist, manager):
    call = CallFactory(caller=CallerFactory(phone="+12125550147"), taken_by=receptionist)
    client_person = UserFactory(username="clara", role=CLIENTS)
    StaffBusiness.objects.create(user=client_person, business=Business.objects.default())
    return {
        "call": call,
        "callback": CallbackFactory(call=call),
        "escalation": escalation_raise(call=call, user=receptionist, playbook_steps=[]),
        "people": {"receptionist": receptionist, "manager": manager, "client": client_person},
    }


# (method, address, body): a harmless request of each endpoint (the body may be refused
# with a 400 or 409 by the rules: what matters here is who gets past the role check).
def endpoints(w):
    call, callback, escalation = w["call"], w["callback"], w["escalation"]
    return {
        "businesses list": ("get", "/api/v1/businesses/", None),
        "business add": ("post", "/api/v1/businesses/", {}),
        "business read": ("get", f"/api/v1/businesses/{call.business_id}/", None),
        "business edit": ("patch", f"/api/v1/businesses/{call.business_id}/", {}),
        "callers list": ("get", "/api/v1/callers/", None),
        "caller add": ("post", "/api/v1/callers/", {}),
        "caller read": ("get", f"/api/v1/callers/{call.caller_id}/", None),
        "caller edit": ("patch", f"/api/v1/callers/{call.caller_id}/", {}),
        "caller merge": ("post", f"/api/v1/callers/{call.caller_id}/merge/", {}),
        "calls list": ("get", "/api/v1/calls/", None),
        "call log": ("post", "/api/v1/calls/", {}),
        "call read": ("get", f"/api/v1/calls/{call.pk}/", None),
        "call edit": ("patch", f"/api/v1/calls/{call.pk}/", {}),
        "escalations list": ("get", "/api/v1/escalations/", None),
        "escalation raise": ("post", "/api/v1/escalations/raise/", {}),
        "escalation acknowledge": (
            "post",
            f"/api/v1/escalations/{escalation.pk}/acknowledge/",
            {},
        ),
        "escalation resolve": ("post", f"/api/v1/escalations/{escalation.pk}/resolve/", {}),
        "callbacks list": ("get", "/api/v1/callbacks/", None),
        "callback read": ("get", f"/api/v1/callbacks/{callback.pk}/", None),
        "callback claim": ("post", f"/api/v1/callbacks/{callback.pk}/claim/", {}),
        "callback release": ("post", f"/api/v1/callbacks/{callback.pk}/release/", {}),
        "callback attempt": ("post", f"/api/v1/callbacks/{callback.pk}/attempts/", {}),
        "callback cancel": ("post", f"/api/v1/callbacks/{callback.pk}/cancel/", {}),
        "messages list": ("get", "/api/v1/messages/", None),
        "message read": ("post", f"/api/v1/messages/{call.pk}/read/", {}),
        "screen pop": ("get", "/api/v1/lookup/?phone=2125550147", None),
        "schema": ("get", "/api/schema/", None),
    }


FRONT_DESK = {
    "businesses list",
    "business read",
    "callers list",
    "caller add",
    "caller read",
    "caller edit",
    "calls list",
    "call log",
    "call read",
    "call edit",
    "escalations list",
    "escalation raise",
    "callbacks list",
    "callback read",
    "callback claim",
    "callback release",
    "callback attempt",
    "screen pop",
    "schema",
}
MANAGERS_TOO = {
    "business add",
    "business edit",
    "caller merge",
    "escalation acknowledge",
    "escalation resolve",
    "callback cancel",
}
CLIENTS_ONLY = {"messages list", "message read"}
ALLOWED = {
    "receptionist": FRONT_DESK,
    "manager": FRONT_DESK | MANAGERS_TOO,
    "client": CLIENTS_ONLY | {"schema"},
}


def ask(client, method, url, body, **headers):
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(
        url, json.dumps(body), content_type="application/json", **headers
    )


def test_every_endpoint_is_in_the_table(world):
    from django.urls import get_resolver

    def names(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from names(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    routes = {r for r in names(get_resolver().url_patterns) if r.startswith("api/v1/")}
    assert len(routes) == len({e[1].split("?")[0] for e in endpoints(world).values()}) - 1


@pytest.mark.parametrize("way", ["session", "token"])
@pytest.mark.parametrize("role", ["receptionist", "manager", "client"])
def test_each_role_gets_past_exactly_its_endpoints(world, role, way):
    user = world["people"][role]
    client, headers = Client(), {}
    if way == "session":
        client.force_login(user)
    else:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=user, name='t')[1]}"}
    for name, (method, url, body) in endpoints(world).items():
        status = ask(client, method, url, body, **headers).status_code
        assert status != 500, name
        if name in ALLOWED[role]:
            assert status not in (401, 403), (role, way, name, status)
        else:
            assert status == 403, (role, way, name, status)


def test_anonymous_gets_401_everywhere(world):
    for name, (method, url, body) in endpoints(world).items():
        response = ask(Client(), method, url, body)
        assert response.status_code in (401, 403), name
        assert "json" in response["Content-Type"] or "openapi" in response["Content-Type"], name


def test_a_session_write_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["people"]["receptionist"])
    response = ask(client, "post", "/api/v1/calls/", {"summary": "x"})
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_a_client_token_sees_its_own_business_only(world):
    other = Business.objects.create(name="Elsewhere Dental", time_zone="UTC")
    theirs = CallFactory(caller=CallerFactory(business=other), business=other)
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token_create(user=world['people']['client'], name='t')[1]}"
    }
    listed = Client().get("/api/v1/messages/", **headers).json()["results"]
    assert world["call"].pk in [m["id"] for m in listed]
    assert theirs.pk not in [m["id"] for m in listed]
    assert Client().post(f"/api/v1/messages/{theirs.pk}/read/", **headers).status_code == 404
