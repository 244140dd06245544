"""Every rule of a call and an escalation is the service's: called directly, the service
refuses; through the page, the same input gets the same message on the same field."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from callers.models import Caller
from calls.models import Call, Escalation
from calls.services import (
    SEVERAL_CALLERS,
    CallAlreadyLogged,
    EscalationAlreadyOpen,
    call_log,
    call_update,
    escalation_assign,
    escalation_raise,
    escalation_resolve,
)
from tests.calls.test_services import fields
from tests.calls.test_views import form_data
from tests.factories import CallerFactory, CallFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db


def refusal(service, **kwargs) -> dict[str, list[str]]:
    """What the service says when it refuses."""
    with pytest.raises(ValidationError) as refused:
        service(**kwargs)
    return refused.value.message_dict


# --- resolving an escalation --------------------------------------------------------------


def abusive_escalation():
    call = CallFactory(mood="abusive", outcome="terminated_abusive")
    return escalation_raise(call=call, user=call.taken_by, reason="Abuse", playbook_steps=[])


DEBRIEF = "After an abusive call, write a debrief note to the receptionist."
HANDLING = "Say how to handle this caller next time."


def test_resolving_after_abuse_needs_a_debrief_in_the_service_and_on_the_page(manager_client):
    escalation = abusive_escalation()
    said = refusal(
        escalation_resolve,
        escalation_id=escalation.pk,
        user=manager_user(),
        resolution="Called back",
        debrief="  ",
    )
    assert said == {"debrief": [DEBRIEF]}
    page = manager_client.post(
        f"/escalations/{escalation.pk}/resolve/",
        {"resolution": "Called back", "debrief": "", "caution_decision": "keep"},
    )
    assert page.context["resolve_form"].errors == {"debrief": [DEBRIEF]}
    assert "Called back" in page.content.decode()  # what was typed stays
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_a_caution_flag_needs_a_handling_note_in_the_service_and_on_the_page(manager_client):
    call = CallFactory(mood="angry")
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    said = refusal(
        escalation_resolve,
        escalation_id=escalation.pk,
        user=manager_user(),
        resolution="Sorted",
        caution_decision="set",
        caution_note="",
    )
    assert said == {"caution_note": [HANDLING]}
    page = manager_client.post(
        f"/escalations/{escalation.pk}/resolve/",
        {"resolution": "", "caution_decision": "set", "caution_note": ""},
    )
    errors = page.context["resolve_form"].errors
    assert errors == {"resolution": ["Say what was done."], "caution_note": [HANDLING]}
    call.caller.refresh_from_db()
    assert not call.caller.caution


def test_an_unknown_caution_decision_is_refused():
    call = CallFactory()
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    said = refusal(
        escalation_resolve,
        escalation_id=escalation.pk,
        user=manager_user(),
        resolution="Sorted",
        caution_decision="ban",
    )
    assert list(said) == ["caution_decision"]


def test_setting_the_caution_flag_moves_the_callers_version():
    call = CallFactory()
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    before = call.caller.version
    escalation_resolve(
        escalation_id=escalation.pk,
        user=manager_user(),
        resolution="Sorted",
        caution_decision="set",
        caution_note="Keep it short",
    )
    call.caller.refresh_from_db()
    assert (call.caller.caution, call.caller.caution_note) == (True, "Keep it short")
    assert call.caller.version == before + 1  # someone editing the caller gets a conflict


def test_escalations_go_to_managers_only():
    call = CallFactory()
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    said = refusal(
        escalation_assign,
        escalation_id=escalation.pk,
        user=manager_user(),
        assignee=receptionist_user(),
    )
    assert said == {"assignee": ["Escalations go to a manager: pick one from the list."]}


# --- one open escalation per call ---------------------------------------------------------


def test_a_second_escalation_is_a_domain_error_naming_who_flagged_first():
    call = CallFactory()
    first = receptionist_user(first_name="Rita", last_name="Reyes")
    escalation_raise(call=call, user=first, reason="Help", playbook_steps=[])
    with pytest.raises(EscalationAlreadyOpen) as already:
        escalation_raise(call=call, user=receptionist_user(), reason="Me too", playbook_steps=[])
    assert already.value.by == first
    assert Escalation.objects.count() == 1


def test_flagging_a_call_someone_just_flagged_keeps_the_note_typed(reception_client):
    call = CallFactory()
    escalation_raise(call=call, user=receptionist_user(first_name="Bo"), playbook_steps=[])
    response = reception_client.post(
        f"/calls/{call.pk}/escalate/", {"reason": "She is crying, please come", "playbook": []}
    )
    assert response.status_code == 409
    content = response.content.decode()
    assert "already has an open escalation" in content
    assert "She is crying, please come" in content
    assert Escalation.objects.count() == 1


def test_an_unknown_playbook_step_is_refused_visibly(reception_client):
    call = CallFactory()
    said = refusal(
        escalation_raise, call=call, user=call.taken_by, playbook_steps=["listen", "shout"]
    )
    assert said == {"playbook_steps": ["Not a step of the playbook: shout."]}
    page = reception_client.post(
        "/calls/new/", form_data(mood="angry", escalate="on", playbook_steps=["shout"])
    )
    assert page.status_code == 200
    assert "playbook_steps" in page.context["form"].errors
    assert "Select a valid choice. shout" in page.content.decode()  # shown, not swallowed
    assert Call.objects.count() == 1  # only the one made above


# --- logging a call -----------------------------------------------------------------------

CALLBACK_NEEDED = "The outcome says a callback was promised: tick “Call back” and say when."


def test_callback_scheduled_needs_a_callback_in_the_service_and_on_the_page(reception_client):
    user = receptionist_user()
    said = refusal(
        call_log,
        user=user,
        caller_name="Ann",
        phone="+12125550147",
        **fields(outcome="callback_scheduled"),
    )
    assert said == {"callback": [CALLBACK_NEEDED]}
    page = reception_client.post("/calls/new/", form_data(outcome="callback_scheduled"))
    assert page.context["form"].errors == {"callback": [CALLBACK_NEEDED]}
    assert not Call.objects.exists() and not Caller.objects.exists()


def test_a_new_callback_and_attaching_to_one_at_once_is_refused():
    said = refusal(
        call_log,
        user=receptionist_user(),
        caller_name="Ann",
        phone="+12125550147",
        callback=True,
        attach_to=1,
        **fields(),
    )
    assert list(said) == ["attach_to"]


def test_who_is_calling_is_decided_by_the_number_and_the_name():
    user = receptionist_user()
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    # The one caller with this number, with no name typed or with theirs.
    assert call_log(user=user, phone="+12125550147", **fields()).caller == ann
    assert (
        call_log(user=user, phone="+12125550147", caller_name="ann lee", **fields()).caller == ann
    )
    # Another name on the same number is another person.
    bob = call_log(user=user, phone="+12125550147", caller_name="Bob Lee", **fields()).caller
    assert bob != ann and Caller.objects.count() == 2
    # Now two people share it: without a name nobody can tell who is calling.
    said = refusal(call_log, user=user, phone="(212) 555-0147", **fields())
    assert said == {"caller_name": [SEVERAL_CALLERS]}
    # A name that is one of theirs says who it is.
    assert (
        call_log(user=user, phone="+12125550147", caller_name="Bob Lee", **fields()).caller == bob
    )


def test_the_call_form_and_the_lookup_decide_alike(reception_client):
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    CallerFactory(name="Bob Lee", phone="+12125550147")
    lookup = reception_client.get("/callers/lookup/", {"phone": "212 555 0147"})
    assert lookup.context["chosen"] is None  # two share the number: pick one
    page = reception_client.post("/calls/new/", form_data(caller_name=""))
    assert page.context["form"].errors == {"caller_name": [SEVERAL_CALLERS]}
    named = reception_client.get(
        "/callers/lookup/", {"phone": "212 555 0147", "caller_name": "ann lee"}
    )
    assert named.context["chosen"] == ann
    assert reception_client.post("/calls/new/", form_data(caller_name="Ann Lee")).status_code == 302
    assert Call.objects.get().caller == ann


def test_a_picked_caller_typed_over_with_another_name_is_no_longer_picked(reception_client):
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    kept = reception_client.get(
        "/callers/lookup/", {"phone": "212 555 0147", "caller": ann.pk, "caller_name": "Ann Lee"}
    )
    assert kept.context["chosen"] == ann
    assert "HX-Trigger" not in kept  # nothing changed: the notice is not asked again
    other = reception_client.get(
        "/callers/lookup/", {"phone": "212 555 0147", "caller": ann.pk, "caller_name": "Zed"}
    )
    assert other.context["chosen"] is None
    assert other["HX-Trigger"] == "caller-picked"
    assert 'id="id_caller" value="" hx-swap-oob="true"' in other.content.decode()


# --- a form sent twice --------------------------------------------------------------------


def test_the_same_submission_logs_one_call():
    user = receptionist_user()
    key = uuid.uuid4()
    first = call_log(
        user=user, caller_name="Ann", phone="+12125550147", submission_key=key, **fields()
    )
    with pytest.raises(CallAlreadyLogged) as again:
        call_log(user=user, caller_name="Ann", phone="+12125550147", submission_key=key, **fields())
    assert again.value.call == first
    assert Call.objects.count() == 1 and Caller.objects.count() == 1


def test_the_call_form_sent_twice_logs_one_call(reception_client):
    page = reception_client.get("/calls/new/")
    key = page.context["form"].initial["submission_key"]
    assert f'name="submission_key" value="{key}"' in page.content.decode()
    data = form_data(submission_key=str(key))
    assert reception_client.post("/calls/new/", data).status_code == 302
    again = reception_client.post("/calls/new/", data, follow=True)
    assert "That form was sent twice" in again.content.decode()
    assert Call.objects.count() == 1 and Caller.objects.count() == 1


# --- times that make sense ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"started_at": datetime(2, 1, 1, tzinfo=UTC)},
            "started_at",
            "A call in this log cannot have started before 2000.",
        ),
        (
            {"started_at": timezone.now() + timedelta(hours=1)},
            "started_at",
            "The call cannot start in the future.",
        ),
        (
            {"ended_at": datetime(9999, 1, 1, tzinfo=UTC)},
            "ended_at",
            "The call cannot end in the future.",
        ),
        (
            {"ended_at": timezone.now() - timedelta(days=3)},
            "ended_at",
            "The call cannot end before it started.",
        ),
        (
            {
                "started_at": timezone.now() - timedelta(days=3),
                "ended_at": timezone.now() - timedelta(hours=1),
            },
            "ended_at",
            "A call cannot last more than a day: check the end time.",
        ),
    ],
)
def test_implausible_call_times_are_refused(changes, field, message):
    said = refusal(
        call_log,
        user=receptionist_user(),
        caller_name="Ann",
        phone="+12125550147",
        **fields(**changes),
    )
    assert said == {field: [message]}
    call = CallFactory()
    said = refusal(
        call_update, call_id=call.pk, expected_version=1, user=call.taken_by, changes=changes
    )
    assert said[field] == [message]


@pytest.mark.parametrize(
    ("started", "message"),
    [
        ("0001-01-01T09:00:00", "Pick a date between 2000 and 2099."),
        ("9999-12-31T23:59:59", "Pick a date between 2000 and 2099."),
        ("1999-06-30T23:00:00", "Pick a date between 2000 and 2099."),
    ],
)
def test_the_call_form_says_what_is_wrong_with_a_time(reception_client, started, message):
    response = reception_client.post("/calls/new/", form_data(started_at=started))
    assert response.status_code == 200
    assert response.context["form"].errors["started_at"] == [message]
    assert not Call.objects.exists()


# --- who may read an escalation -----------------------------------------------------------


def test_the_call_page_shows_a_debrief_only_to_those_who_may_read_the_escalation(client):
    taker, raiser, other = (receptionist_user(username=name) for name in ("tess", "ray", "otto"))
    call = CallFactory(taken_by=taker)
    escalation = escalation_raise(call=call, user=raiser, reason="Help", playbook_steps=[])
    escalation_resolve(
        escalation_id=escalation.pk,
        user=manager_user(),
        resolution="Sorted",
        debrief="You did well to stay calm",
    )
    seen = {}
    for user in (taker, raiser, other):
        client.force_login(user)
        page = client.get(f"/calls/{call.pk}/").content.decode()
        mine = client.get("/escalations/mine/").content.decode()
        seen[user.username] = (
            "You did well to stay calm" in page,
            "You did well to stay calm" in mine,
            client.get(f"/escalations/{escalation.pk}/").status_code,
        )
    assert seen == {
        "tess": (True, True, 200),
        "ray": (True, True, 200),  # who raised it reads it too, in "mine" as on its page
        "otto": (False, False, 403),
    }
    assert set(Escalation.objects.visible_to(other)) == set()
    assert set(Escalation.objects.visible_to(manager_user())) == {escalation}


def test_the_call_form_query_count_does_not_grow(reception_client):
    from tests.querycounts import count_queries

    few = count_queries(reception_client, "/calls/new/")
    for _ in range(10):
        CallFactory()
    assert count_queries(reception_client, "/calls/new/") == few
    assert few <= 8


# --- editing a call keeps its rules -------------------------------------------------------


def test_an_edit_to_callback_scheduled_needs_a_callback():
    call = CallFactory(outcome="message_taken")
    said = refusal(
        call_update,
        call_id=call.pk,
        expected_version=1,
        user=call.taken_by,
        changes={"outcome": "callback_scheduled"},
    )
    assert list(said) == ["outcome"]
    call.refresh_from_db()
    assert (call.outcome, call.version) == ("message_taken", 1)


def test_abuse_recorded_by_an_edit_goes_to_a_manager():
    call = CallFactory(mood="calm")
    call_update(
        call_id=call.pk, expected_version=1, user=call.taken_by, changes={"mood": "abusive"}
    )
    escalation = Escalation.objects.get(call=call)
    assert escalation.reason.startswith("Recorded as abusive after the call")
    # Saving it again, still abusive, raises no second one.
    call_update(call_id=call.pk, expected_version=2, user=call.taken_by, changes={"notes": "x"})
    assert Escalation.objects.filter(call=call).count() == 1


def test_an_edit_keeps_the_end_time(reception_client):
    from tests.calls.test_views import edit_data

    call = CallFactory()
    response = reception_client.post(
        f"/calls/{call.pk}/edit/", {**edit_data(ended_at=""), "version": "1"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["ended_at"] == ["Say when the call ended."]


def test_the_second_to_resolve_is_told_who_resolved_it():
    from calls.services import EscalationTaken, escalation_acknowledge

    maya, omar = manager_user(username="maya"), manager_user(username="omar")
    call = CallFactory()
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    escalation_acknowledge(escalation_id=escalation.pk, user=maya)
    escalation_resolve(escalation_id=escalation.pk, user=omar, resolution="Done")
    with pytest.raises(EscalationTaken) as taken:
        escalation_resolve(escalation_id=escalation.pk, user=maya, resolution="Me too")
    assert taken.value.by == omar


def test_a_conflict_keeps_the_other_edit_and_marks_what_both_changed(
    reception_client, manager_client
):
    from tests.calls.test_views import edit_data

    call = CallFactory()
    start = edit_data(summary="Original", notes="First notes")
    assert (
        reception_client.post(f"/calls/{call.pk}/edit/", {**start, "version": "1"}).status_code
        == 302
    )
    # Both open the edit form at version 2.
    page = reception_client.get(f"/calls/{call.pk}/edit/").content.decode()
    start.update(version="2", base=re.search(r'name="base" value="([^"]+)"', page).group(1))
    manager_client.post(
        f"/calls/{call.pk}/edit/",
        {**start, "notes": "Manager's notes", "summary": "Manager's summary"},
    )
    response = reception_client.post(
        f"/calls/{call.pk}/edit/", {**start, "summary": "Receptionist's summary"}
    )
    assert response.status_code == 409
    form = response.context["form"]
    assert form["notes"].value() == "Manager's notes"  # only they changed it
    assert form["summary"].value() == "Receptionist's summary"  # both did: hers stays
    assert response.context["clashes"] == ["Summary"]
    assert "You both changed:</strong> Summary" in response.content.decode()
    # Saving again keeps both.
    again = response.content.decode()
    start.update(
        version="3",
        base=re.search(r'name="base" value="([^"]+)"', again).group(1),
        notes="Manager's notes",
        summary="Receptionist's summary",
    )
    assert reception_client.post(f"/calls/{call.pk}/edit/", start).status_code == 302
    call.refresh_from_db()
    assert (call.summary, call.notes) == ("Receptionist's summary", "Manager's notes")


def test_without_a_base_every_difference_is_named_and_nothing_is_taken_silently():
    from receptionist.versions import read_base, three_way

    saved = CallFactory(summary="Theirs", notes="Same")
    merged, clashes = three_way(base=None, mine={"summary": "Mine", "notes": "Same"}, theirs=saved)
    assert merged == {"summary": "Mine", "notes": "Same"} and clashes == ["summary"]
    assert read_base("forged") is None


def test_an_edit_cannot_clear_the_end_time_in_the_service_either():
    call = CallFactory()
    said = refusal(
        call_update,
        call_id=call.pk,
        expected_version=1,
        user=call.taken_by,
        changes={"ended_at": None},
    )
    assert said == {"ended_at": ["Say when the call ended."]}


def test_an_escalation_reassigned_meanwhile_is_not_reassigned_again():
    from calls.services import EscalationReassigned

    call = CallFactory()
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    maya, omar, lee = manager_user(), manager_user(), manager_user()
    # Two managers open the page while nobody has it; the first to save wins.
    escalation_assign(escalation_id=escalation.pk, user=maya, assignee=omar, assigned_to_id=None)
    with pytest.raises(EscalationReassigned) as meanwhile:
        escalation_assign(escalation_id=escalation.pk, user=lee, assignee=lee, assigned_to_id=None)
    assert meanwhile.value.escalation.assigned_to == omar
    escalation.refresh_from_db()
    assert escalation.assigned_to == omar
    # Chosen knowing it is Omar's: it moves.
    escalation_assign(escalation_id=escalation.pk, user=lee, assignee=lee, assigned_to_id=omar.pk)
    escalation.refresh_from_db()
    assert escalation.assigned_to == lee
