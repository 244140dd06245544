"""The API of calls and escalations: the same services and visibility as the pages."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import Call, Escalation, EscalationStatus
from receptionist.tokens import token_create
from tests.factories import CallerFactory, CallFactory


def token_client(user) -> tuple[Client, dict]:
    _token, raw = token_create(user=user, name="test")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, url, data, **headers):
    return client.post(url, json.dumps(data), content_type="application/json", **headers)


def patch(client, url, data, **headers):
    return client.patch(url, json.dumps(data), content_type="application/json", **headers)


@pytest.fixture
def ann(db):
    return CallerFactory(name="Ann Example", phone="+12125550147")


def test_a_call_logged_through_the_api_is_the_call_the_form_logs(receptionist, ann):
    client, auth = token_client(receptionist)
    response = post(
        client,
        "/api/v1/calls/",
        {
            "caller": ann.pk,
            "phone": "+1 212 555 0147",
            "nature": "appointment",
            "summary": "Wants to move Tuesday's appointment",
            "outcome": "resolved",
        },
        **auth,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    call = Call.objects.get(pk=body["id"])
    assert call.caller == ann and call.taken_by == receptionist
    assert body["caller"] == {"id": ann.pk, "name": "Ann Example"}
    assert body["nature"] == "appointment" and body["version"] == 1


def test_a_service_refusal_is_a_400_per_field(receptionist, ann):
    client, auth = token_client(receptionist)
    response = post(
        client,
        "/api/v1/calls/",
        {"caller": ann.pk, "summary": "x", "outcome": "callback_scheduled"},
        **auth,
    )
    assert response.status_code == 400
    assert "callback" in response.json() or "outcome" in response.json()
    assert not Call.objects.exists()


def test_unknown_vocabulary_and_unknown_parameters_are_400(receptionist):
    client, auth = token_client(receptionist)
    assert client.get("/api/v1/calls/?nature=pizza", **auth).status_code == 400
    response = client.get("/api/v1/calls/?natur=sales", **auth)
    assert response.status_code == 400 and "natur" in response.json()
    assert client.get("/api/v1/calls/?cursor=forged", **auth).status_code == 400
    assert client.get("/api/v1/calls/?q=a%00b", **auth).status_code == 400


def test_the_list_pages_by_cursor_with_the_log_filters(receptionist):
    client, auth = token_client(receptionist)
    now = timezone.now()
    for minutes in range(55):
        CallFactory(nature="sales", started_at=now - timezone.timedelta(minutes=minutes))
    CallFactory(nature="urgent", started_at=now)
    first = client.get("/api/v1/calls/?nature=sales", **auth).json()
    assert len(first["results"]) == 50
    assert {c["nature"] for c in first["results"]} == {"sales"}
    second = client.get(first["next"], **auth).json()
    assert len(second["results"]) == 5 and second["next"] is None
    ids = [c["id"] for c in first["results"] + second["results"]]
    assert len(set(ids)) == 55


def test_a_stale_version_is_409_with_the_current_call(receptionist, ann):
    client, auth = token_client(receptionist)
    call = CallFactory(caller=ann, summary="First words")
    ok = patch(client, f"/api/v1/calls/{call.pk}/", {"version": 1, "summary": "Mine"}, **auth)
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = patch(client, f"/api/v1/calls/{call.pk}/", {"version": 1, "summary": "Late"}, **auth)
    assert stale.status_code == 409
    assert stale.json()["current"]["summary"] == "Mine"
    call.refresh_from_db()
    assert call.summary == "Mine"


def test_escalations_raise_acknowledge_resolve(receptionist, manager, ann):
    call = CallFactory(caller=ann, taken_by=receptionist)
    desk, desk_auth = token_client(receptionist)
    raised = post(
        desk, "/api/v1/escalations/raise/", {"call": call.pk, "reason": "Shouting"}, **desk_auth
    )
    assert raised.status_code == 201, raised.content
    pk = raised.json()["id"]
    again = post(desk, "/api/v1/escalations/raise/", {"call": call.pk}, **desk_auth)
    assert again.status_code == 409
    # The front desk cannot take an escalation over.
    assert post(desk, f"/api/v1/escalations/{pk}/acknowledge/", {}, **desk_auth).status_code == 403
    boss, boss_auth = token_client(manager)
    assert post(boss, f"/api/v1/escalations/{pk}/acknowledge/", {}, **boss_auth).status_code == 200
    assert post(boss, f"/api/v1/escalations/{pk}/acknowledge/", {}, **boss_auth).status_code == 409
    resolved = post(
        boss, f"/api/v1/escalations/{pk}/resolve/", {"resolution": "Calmed down"}, **boss_auth
    )
    assert resolved.status_code == 200, resolved.content
    assert Escalation.objects.get(pk=pk).status == EscalationStatus.RESOLVED


def test_anonymous_and_revoked_tokens_get_401(receptionist):
    from receptionist.tokens import token_revoke

    assert Client().get("/api/v1/calls/").status_code in (401, 403)
    token, raw = token_create(user=receptionist, name="pbx")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert Client().get("/api/v1/calls/", **headers).status_code == 200
    token_revoke(user=receptionist, token_id=token.pk)
    assert Client().get("/api/v1/calls/", **headers).status_code == 401
    assert Client().get("/api/v1/calls/", HTTP_AUTHORIZATION="Bearer fd_nope").status_code == 401


def test_the_screen_pop_finds_the_caller_and_what_is_open(receptionist, manager, ann):
    from calls.services import escalation_raise
    from tests.factories import CallbackFactory

    ann.is_vip, ann.caution, ann.caution_note = True, True, "Keep it short."
    ann.save()
    # An escalation of a call someone else took and raised: the managers' to read.
    theirs = CallFactory(caller=ann, started_at=timezone.now() - timedelta(hours=1))
    their_escalation = escalation_raise(call=theirs, user=theirs.taken_by, playbook_steps=[])
    call = CallFactory(caller=ann, taken_by=receptionist, summary="Asked about the invoice")
    callback = CallbackFactory(call=call)
    escalation = escalation_raise(call=call, user=receptionist, playbook_steps=[])
    other = CallFactory()  # someone else's escalation is not ann's
    escalation_raise(call=other, user=other.taken_by, playbook_steps=[])
    client, auth = token_client(receptionist)
    response = client.get("/api/v1/lookup/?phone=(212) 555-0147", **auth)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["business"]["id"] and "greeting" in body["business"]
    [found] = body["callers"]
    assert found["id"] == ann.pk and found["is_vip"] and found["caution"]
    assert found["handling_note"] == "Keep it short."
    assert [c["id"] for c in found["open_callbacks"]] == [callback.pk]
    # The front desk reads the escalations involving them (Escalation.objects.visible_to).
    assert [e["id"] for e in found["open_escalations"]] == [escalation.pk]
    assert found["last_calls"][0]["summary"] == "Asked about the invoice"
    assert found["last_calls"][0]["started_at"] == call.started_at.astimezone(
        timezone.get_current_timezone()
    ).isoformat().replace("+00:00", "Z")
    assert [c["id"] for c in found["last_calls"]] == [call.pk, theirs.pk]
    assert found["numbers"] == ["+12125550147"]
    assert found["calls_today"] >= 1 and found["calls_week"] >= found["calls_today"]
    client, auth = token_client(manager)
    [found] = client.get("/api/v1/lookup/?phone=(212) 555-0147", **auth).json()["callers"]
    assert [e["id"] for e in found["open_escalations"]] == [escalation.pk, their_escalation.pk]


def test_the_screen_pop_refuses_what_it_cannot_read(receptionist):
    client, auth = token_client(receptionist)
    assert client.get("/api/v1/lookup/?phone=12", **auth).status_code == 400
    response = client.get("/api/v1/lookup/?phone=2125550147&dialed=garbage", **auth)
    assert response.status_code == 400 and "dialed" in response.json()
    assert client.get("/api/v1/lookup/?phone=212%00555", **auth).status_code == 400


def test_the_screen_pop_of_a_withheld_number_or_an_unknown_dialed_one(receptionist, ann):
    """A phone system sends no number (or "anonymous") when it is withheld: the business
    alone. A number dialed that no business answers on: the callers of every business the
    person answers for, and `dialed_known` false."""
    from callers.services import business_save
    from tests.factories import manager_user

    harbor = business_save(user=manager_user(), name="Harbor Vet", numbers=["(212) 555-0100"])
    client, auth = token_client(receptionist)
    for phone in ("", "&phone=", "&phone=anonymous"):
        body = client.get(f"/api/v1/lookup/?dialed=2125550100{phone}", **auth).json()
        assert body["business"]["id"] == harbor.pk and body["dialed_known"] is True
        assert body["callers"] == []
    body = client.get("/api/v1/lookup/?phone=2125550147&dialed=+1 310 555 0100", **auth).json()
    assert body["business"] is None and body["dialed_known"] is False
    assert [c["id"] for c in body["callers"]] == [ann.pk]
    body = client.get("/api/v1/lookup/?phone=2125550147", **auth).json()
    assert body["dialed_known"] is None


def test_the_form_and_the_api_make_the_same_records(receptionist, reception_client):
    """The same call sent through the call form and through the API: the same call, caller,
    escalation and callback rows, apart from ids and times."""
    from datetime import timedelta

    from followups.models import Callback
    from tests.calls.test_views import FMT, form_data

    due = timezone.localtime() + timedelta(hours=2)
    said = {
        "summary": "Shouted about the bill",
        "wants": "A refund",
        "promised": "A manager calls back",
        "notes": "Third time this week",
        "nature": "sales",
        "urgency": "high",
        "mood": "abusive",
        "outcome": "callback_scheduled",
    }
    form = form_data(
        **said,
        caller_name="Bea Form",
        phone="(212) 555-0101",
        callback="on",
        callback_due_at=due.strftime(FMT),
        escalate="on",
        escalation_reason="Shouting",
    )
    assert reception_client.post("/calls/new/", form).status_code == 302
    client, auth = token_client(receptionist)
    response = post(
        client,
        "/api/v1/calls/",
        {
            **said,
            "caller_name": "Bea Api",
            "phone": "(212) 555-0102",
            "callback": True,
            "callback_due_at": due.isoformat(),
            "escalate": True,
            "escalation_reason": "Shouting",
        },
        **auth,
    )
    assert response.status_code == 201, response.content
    by_form, by_api = Call.objects.order_by("pk")
    fields = [*said, "direction", "business_id", "taken_by_id", "message_status"]
    assert [getattr(by_form, f) for f in fields] == [getattr(by_api, f) for f in fields]
    assert (by_form.caller.name, by_api.caller.name) == ("Bea Form", "Bea Api")
    escalations = [Escalation.objects.get(call=c) for c in (by_form, by_api)]
    assert len({(e.status, e.severity, e.reason) for e in escalations}) == 1
    callbacks = [Callback.objects.get(call=c) for c in (by_form, by_api)]
    assert (
        len({(c.status, c.priority, c.due_at.replace(second=0, microsecond=0)) for c in callbacks})
        == 1
    )


def test_the_screen_pop_says_who_is_on_call_now(receptionist, manager, ann):
    """The business dialed with who is on call for it now, first to tell first."""
    from datetime import time

    from callers.models import Business, BusinessContact
    from callers.services import on_call_save

    business = Business.objects.default()
    hale = BusinessContact.objects.create(
        business=business, name="Dr Hale", email="hale@example.com", phone="+12125550190"
    )
    lee = BusinessContact.objects.create(business=business, name="Dr Lee")
    every_day_all_day = [
        {"weekday": day, "starts": time(0), "ends": time(0), "contacts": [hale.pk, lee.pk]}
        for day in range(7)
    ]
    on_call_save(user=manager, business=business, weekly=every_day_all_day)
    client, auth = token_client(receptionist)
    body = client.get("/api/v1/lookup/?phone=2125550147", **auth).json()
    assert body["business"]["on_call"] == [
        {
            "id": hale.pk,
            "name": "Dr Hale",
            "role": "",
            "phone": "+12125550190",
            "email": "hale@example.com",
        },
        {"id": lee.pk, "name": "Dr Lee", "role": "", "phone": "", "email": ""},
    ]
