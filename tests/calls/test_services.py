from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from callers.models import Caller
from calls.models import Call
from calls.services import CallConflict, call_log, call_update
from tests.factories import CallerFactory, CallFactory, receptionist_user

pytestmark = pytest.mark.django_db


def fields(**overrides):
    now = timezone.now()
    return {
        "started_at": now - timedelta(minutes=2),
        "ended_at": None,
        "direction": "inbound",
        "nature": "appointment",
        "urgency": "normal",
        "mood": "calm",
        "summary": "Book a check-up",
        "wants": "",
        "promised": "",
        "notes": "",
        "outcome": "resolved",
        **overrides,
    }


def test_call_log_creates_a_new_caller_from_name_and_number():
    user = receptionist_user()
    call = call_log(user=user, caller_name="  New Person ", phone="+12125550147", **fields())
    assert call.caller.name == "New Person"
    assert [p.number.as_e164 for p in call.caller.phones.all()] == ["+12125550147"]
    assert call.taken_by == user
    assert call.business_id == call.caller.business_id
    assert call.ended_at is not None and call.ended_at >= call.started_at
    assert call.history.count() == 1


def test_call_log_for_a_known_caller_adds_a_new_number_once():
    caller = CallerFactory(phone="+12125550147")
    user = receptionist_user()
    call_log(user=user, caller=caller, phone="+13125550100", **fields())
    call_log(user=user, caller=caller, phone="+13125550100", **fields())
    assert caller.phones.count() == 2
    assert Caller.objects.count() == 1


def test_call_log_without_a_caller_or_name_is_refused():
    with pytest.raises(ValidationError) as refused:
        call_log(user=receptionist_user(), phone="+12125550147", **fields())
    assert refused.value.message_dict == {
        "caller_name": ["Nobody has this number yet: type the caller's name."]
    }
    assert not Call.objects.exists()


def test_call_update_bumps_the_version_and_records_history():
    call = CallFactory(summary="Before")
    updated = call_update(
        call_id=call.pk, expected_version=1, user=call.taken_by, changes={"summary": "After"}
    )
    assert updated.version == 2
    assert call.history.first().summary == "After"


def test_call_update_from_a_stale_version_is_a_conflict():
    call = CallFactory(summary="Before")
    call_update(
        call_id=call.pk, expected_version=1, user=call.taken_by, changes={"summary": "First"}
    )
    with pytest.raises(CallConflict) as excinfo:
        call_update(
            call_id=call.pk, expected_version=1, user=call.taken_by, changes={"summary": "Second"}
        )
    assert excinfo.value.current.summary == "First"
    call.refresh_from_db()
    assert call.summary == "First"
    assert call.version == 2


@pytest.mark.parametrize("number", ["212-555-0147 x5", "+1 212 555 0147 ext 5", "1-800-FLOWERS"])
def test_call_log_refuses_what_the_lookup_panel_calls_no_number(number):
    """Without any form (the API, a sweep): an extension or letters are no number."""
    user = receptionist_user()
    with pytest.raises(ValidationError) as refused:
        call_log(user=user, caller_name="Ann Lee", phone=number, **fields())
    assert "phone" in refused.value.message_dict
    assert not Call.objects.exists()
    arabic = "\u0662\u0661\u0662 \u0665\u0665\u0665 \u0660\u0661\u0664\u0667"
    assert call_log(user=user, caller_name="Ann Lee", phone=arabic, **fields()).phone == (
        "+12125550147"
    )


def test_call_update_refuses_what_the_lookup_panel_calls_no_number():
    call = CallFactory()
    before = (call.version, str(call.phone))
    with pytest.raises(ValidationError) as refused:
        call_update(
            call_id=call.pk,
            expected_version=call.version,
            user=call.taken_by,
            changes={"phone": "212-555-0147 x5"},
        )
    assert "phone" in refused.value.message_dict
    call.refresh_from_db()
    assert (call.version, str(call.phone)) == before


def test_a_submission_key_is_one_persons_call():
    """The same key again from the same person is their call, logged once; from someone
    else it is refused (not their call to be given, nor theirs to drop)."""
    import uuid

    from calls.services import KEY_OF_ANOTHER, CallAlreadyLogged

    key = uuid.uuid4()
    rita, sam = receptionist_user(), receptionist_user()
    first = call_log(
        user=rita, phone="+12125550147", caller_name="Ann", submission_key=key, **fields()
    )
    with pytest.raises(CallAlreadyLogged) as again:
        call_log(user=rita, phone="+12125550147", submission_key=key, **fields())
    assert again.value.call == first
    with pytest.raises(ValidationError) as refused:
        call_log(user=sam, phone="+12125550147", submission_key=key, **fields())
    assert refused.value.message_dict["submission_key"] == [KEY_OF_ANOTHER]


def test_an_edit_that_changes_nothing_makes_no_new_version():
    rita = receptionist_user()
    call = call_log(user=rita, phone="+12125550147", caller_name="Ann", **fields())
    same = call_update(
        call_id=call.pk,
        expected_version=1,
        user=rita,
        changes={"summary": call.summary, "nature": call.nature},
    )
    assert same.version == 1 and call.history.count() == 1
    changed = call_update(
        call_id=call.pk, expected_version=1, user=rita, changes={"summary": "Other"}
    )
    assert changed.version == 2
