"""What the API refuses, and how it says so: nothing sent is ignored, every refusal names
its reason (found by trying the API as an integrator would)."""

import json

import pytest

from callers.models import Caller
from calls.models import Call
from calls.services import escalation_acknowledge, escalation_raise
from followups.services import callback_claim
from tests.api.test_calls_api import patch, post, token_client
from tests.factories import CallbackFactory, CallerFactory, CallFactory, receptionist_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url,method,body",
    [
        ("/api/v1/calls/", post, {"phone": "+12125550147", "summary": "x", "urgncy": "high"}),
        ("/api/v1/callers/", post, {"name": "X", "colour": "red"}),
    ],
)
def test_a_field_the_endpoint_does_not_know_is_a_400(receptionist, url, method, body):
    client, auth = token_client(receptionist)
    calls, callers = Call.objects.count(), Caller.objects.count()
    response = method(client, url, body, **auth)
    assert response.status_code == 400
    unknown = (set(body) - {"phone", "summary", "name"}).pop()
    assert response.json()[unknown] == ["This endpoint has no such field."]
    assert (Call.objects.count(), Caller.objects.count()) == (calls, callers)


def test_an_edit_with_a_field_it_does_not_know_changes_nothing(receptionist):
    call = CallFactory(taken_by=receptionist)
    client, auth = token_client(receptionist)
    response = patch(client, f"/api/v1/calls/{call.pk}/", {"version": 1, "colour": "red"}, **auth)
    assert response.status_code == 400 and "colour" in response.json()
    call.refresh_from_db()
    assert call.version == 1


def test_a_nul_in_a_list_is_a_400(manager):
    client, auth = token_client(manager)
    response = post(client, "/api/v1/businesses/", {"name": "B", "numbers": ["212\x00"]}, **auth)
    assert response.status_code == 400
    assert response.json()["numbers"] == ["No NUL characters, please."]


def test_a_new_callers_number_and_caution_follow_the_rules(receptionist):
    client, auth = token_client(receptionist)
    response = post(client, "/api/v1/callers/", {"name": "Bad", "phone": "abc"}, **auth)
    assert response.status_code == 400 and "phone" in response.json()
    response = post(client, "/api/v1/callers/", {"name": "X", "caution": True}, **auth)
    assert response.status_code == 400 and "caution" in response.json()
    assert not Caller.objects.filter(name__in=["Bad", "X"]).exists()


@pytest.mark.parametrize("value,withheld_only", [("true", True), ("1", True), ("0", False)])
def test_withheld_is_true_or_false(receptionist, value, withheld_only):
    CallFactory(phone="")
    CallFactory(phone="+12125550147")
    client, auth = token_client(receptionist)
    rows = client.get(f"/api/v1/calls/?withheld={value}", **auth).json()["results"]
    assert len(rows) == (1 if withheld_only else 2)


def test_withheld_of_another_value_is_a_400(receptionist):
    client, auth = token_client(receptionist)
    response = client.get("/api/v1/calls/?withheld=maybe", **auth)
    assert response.status_code == 400 and "withheld" in response.json()


def test_an_address_that_is_no_endpoint_is_a_json_404(receptionist):
    client, auth = token_client(receptionist)
    for url in ("/api/v1/calls/abc/", "/api/v1/nothing/", "/api/v1/callers/1/nope/"):
        response = client.get(url, **auth)
        assert response.status_code == 404
        assert response.json() == {"detail": "No such address in the API."}


def test_each_409_says_what_happened(receptionist, manager):
    call = CallFactory(taken_by=receptionist)
    escalation = escalation_raise(call=call, user=receptionist, playbook_steps=[])
    client, auth = token_client(receptionist)
    response = post(client, "/api/v1/escalations/raise/", {"call": call.pk}, **auth)
    assert response.status_code == 409
    assert f"already has a waiting escalation (#{escalation.pk})" in response.json()["detail"]

    escalation_acknowledge(escalation_id=escalation.pk, user=manager)
    other_manager = type(manager).objects.create(username="mo", first_name="Mo")
    other_manager.groups.set(manager.groups.all())
    client_m, auth_m = token_client(other_manager)
    response = post(client_m, f"/api/v1/escalations/{escalation.pk}/acknowledge/", {}, **auth_m)
    assert response.status_code == 409 and response.json()["detail"].startswith(
        "Already acknowledged by"
    )

    callback = CallbackFactory(call=call)
    callback_claim(callback_id=callback.pk, user=receptionist_user(first_name="Rosa"))
    response = post(client, f"/api/v1/callbacks/{callback.pk}/claim/", {}, **auth)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Rosa")
    response = post(client, f"/api/v1/callbacks/{callback.pk}/release/", {}, **auth)
    assert response.status_code == 409

    response = patch(client, f"/api/v1/calls/{call.pk}/", {"version": 99}, **auth)
    assert response.status_code == 409
    assert "no version 99" in response.json()["detail"]


def test_business_numbers_are_given_in_e164(manager):
    client, auth = token_client(manager)
    response = post(
        client, "/api/v1/businesses/", {"name": "Harbor", "numbers": ["(212) 555-0100"]}, **auth
    )
    assert response.status_code == 201, response.content
    assert response.json()["numbers"] == ["+12125550100"]
    pk = response.json()["id"]
    response = patch(client, f"/api/v1/businesses/{pk}/", {"numbers": []}, **auth)
    assert response.status_code == 200 and response.json()["numbers"] == []


def test_a_caller_is_of_the_business_sent_when_several_are_active(receptionist, manager):
    from callers.services import business_save

    business_save(user=manager, name="Harbor Vet", numbers=["(212) 555-0100"])
    client, auth = token_client(receptionist)
    body = {"phone": "(212) 555-0177", "caller_name": "Ada", "summary": "Hello"}
    response = post(client, "/api/v1/calls/", body, **auth)
    assert response.status_code == 400 and "business" in response.json()
    assert not CallerFactory._meta.model.objects.filter(name="Ada").exists()


def test_raising_an_escalation_someone_else_raised_shows_nothing_of_it(receptionist):
    """The 409 of a second raise gives the waiting escalation only to who may read it."""
    call = CallFactory()  # taken by someone else
    escalation_raise(call=call, user=call.taken_by, reason="Shouted", playbook_steps=[])
    client, auth = token_client(receptionist)
    response = post(client, "/api/v1/escalations/raise/", {"call": call.pk}, **auth)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "This call already has a waiting escalation.",
        "current": None,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"summary": "s", "phone": "+12125550147", "caller_name": "X", "nature": "\ud800"},
        {"summary": "s", "phone": "+12125550147", "caller_name": "X", "playbook_steps": ["\ud800"]},
    ],
)
def test_a_lone_surrogate_is_a_400(receptionist, body):
    client, auth = token_client(receptionist)
    raw = json.dumps(body)  # written as \\ud800, which JSON allows and Python reads back
    response = client.post("/api/v1/calls/", raw, content_type="application/json", **auth)
    assert response.status_code == 400
    sent_wrong = next(k for k in body if k not in ("summary", "phone", "caller_name"))
    assert response.json()[sent_wrong]


def test_json_nested_too_deeply_is_a_400(receptionist):
    client, auth = token_client(receptionist)
    raw = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/calls/", raw, content_type="application/json", **auth)
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested too deeply."}


def test_refusals_before_the_api_are_json_too(receptionist):
    client, auth = token_client(receptionist)
    response = client.get("/api/v1/calls/?q=a%00b", **auth)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    # A page of the site keeps its HTML page.
    response = client.get("/calls/?q=a%00b", **auth)
    assert response.status_code in (302, 400) and "json" not in response["Content-Type"]


def test_a_parameter_given_twice_is_a_400(receptionist):
    client, auth = token_client(receptionist)
    for query in ("nature=pizza&nature=urgent", "nature=urgent&nature=sales"):
        response = client.get(f"/api/v1/calls/?{query}", **auth)
        assert response.status_code == 400
        assert response.json() == {"nature": ["Give this parameter once."]}


def test_a_taken_number_is_refused_on_the_field_the_api_calls_numbers(manager):
    client, auth = token_client(manager)
    body = {"name": "Harbor", "numbers": ["(212) 555-0100"]}
    assert post(client, "/api/v1/businesses/", body, **auth).status_code == 201
    response = post(client, "/api/v1/businesses/", {**body, "name": "Other"}, **auth)
    assert response.status_code == 400
    assert set(response.json()) == {"numbers"}
