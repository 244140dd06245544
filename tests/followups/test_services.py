from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from callers.models import Business
from calls.models import Nature, Urgency
from calls.services import call_log
from followups.models import AttemptResult, Callback, CallbackPolicy, CallbackStatus, Priority
from followups.services import (
    CallbackConflict,
    CallbackTaken,
    callback_assign,
    callback_attempt,
    callback_cancel,
    callback_claim,
    callback_due_at,
    callback_release,
    promise_words,
)
from tests.factories import CallbackFactory, CallerFactory, receptionist_user

pytestmark = pytest.mark.django_db


def log(user, **overrides):
    fields = {
        "started_at": timezone.now() - timedelta(minutes=2),
        "ended_at": None,
        "nature": Nature.URGENT,
        "urgency": Urgency.HIGH,
        "summary": "Dog ate chocolate",
        "outcome": "callback_scheduled",
    }
    fields.update(overrides)
    return call_log(user=user, caller_name="Ann Lee", phone="+12125550147", **fields)


# --- the promise --------------------------------------------------------------------------


def test_policy_defaults_then_the_admin_row_wins():
    business = Business.objects.default()
    now = timezone.now().replace(second=0, microsecond=0)
    due = callback_due_at(business_id=business.pk, nature="urgent", urgency="high", now=now)
    assert due - now == timedelta(minutes=15)
    due = callback_due_at(business_id=business.pk, nature="appointment", urgency="normal", now=now)
    assert due - now == timedelta(hours=4)
    CallbackPolicy.objects.update_or_create(
        business=business, nature="urgent", urgency="high", defaults={"due_within_minutes": 7}
    )
    due = callback_due_at(business_id=business.pk, nature="urgent", urgency="high", now=now)
    assert due - now == timedelta(minutes=7)


def test_a_business_without_policy_rows_gets_the_defaults():
    business = Business.objects.create(name="Answering service client")
    assert not CallbackPolicy.objects.filter(business=business).exists()
    now = timezone.now().replace(second=0, microsecond=0)
    for nature, urgency, minutes in (("urgent", "emergency", 5), ("sales", "low", 1440)):
        due = callback_due_at(business_id=business.pk, nature=nature, urgency=urgency, now=now)
        assert due - now == timedelta(minutes=minutes)


def test_the_migration_wrote_the_policy_table_for_the_default_business():
    business = Business.objects.default()
    assert CallbackPolicy.objects.filter(business=business).count() == 16
    assert (
        CallbackPolicy.objects.get(
            business=business, nature="urgent", urgency="emergency"
        ).due_within_minutes
        == 5
    )


def test_due_time_is_rounded_up_to_the_minute():
    business = Business.objects.default()
    now = timezone.now().replace(second=37, microsecond=5)
    due = callback_due_at(business_id=business.pk, nature="urgent", urgency="high", now=now)
    assert due.second == 0 and due.microsecond == 0 and due > now


def test_promise_words(settings):
    settings.TIME_ZONE = "America/New_York"
    timezone.activate("America/New_York")
    try:
        tz = timezone.get_current_timezone()
        now = timezone.make_aware(datetime(2026, 11, 23, 10, 0), tz)  # a Monday
        assert promise_words(now.replace(hour=15, minute=15), now) == (
            "We'll call you back by 3:15 pm."
        )
        assert promise_words(now + timedelta(days=1), now) == (
            "We'll call you back tomorrow by 10:00 am."
        )
        assert promise_words(now + timedelta(days=3), now) == (
            "We'll call you back on Thursday by 10:00 am."
        )
        assert promise_words(now.replace(hour=0, minute=5) + timedelta(days=14), now) == (
            "We'll call you back on Monday, December 7 by 12:05 am."
        )
        assert promise_words(now.replace(hour=12, minute=30), now) == (
            "We'll call you back by 12:30 pm."
        )
    finally:
        timezone.deactivate()


def test_call_log_creates_the_callback_in_the_same_transaction(receptionist):
    before = timezone.now()
    call = log(receptionist, callback=True, callback_window="after 5 pm")
    callback = Callback.objects.get()
    assert callback.call == call and callback.caller == call.caller
    assert callback.reason == "Dog ate chocolate"
    assert callback.priority == Priority.HIGH
    assert callback.status == CallbackStatus.OPEN and callback.assigned_to is None
    assert timedelta(minutes=14) < callback.due_at - before <= timedelta(minutes=16)
    assert callback.promise.startswith("We'll call you back by ")
    assert callback.preferred_window == "after 5 pm"
    assert callback.created_by == receptionist
    assert callback.history.count() == 1  # in the audit trail


def test_a_callback_due_in_the_past_is_refused_and_the_call_is_not_saved(receptionist):
    with pytest.raises(ValidationError) as excinfo:
        log(receptionist, callback=True, callback_due_at=timezone.now() - timedelta(minutes=1))
    assert "callback_due_at" in excinfo.value.message_dict
    assert not Callback.objects.exists()
    assert not receptionist.calls_taken.exists()


def test_a_new_call_attaches_to_the_open_callback_and_raises_its_priority(receptionist):
    log(receptionist, callback=True, urgency=Urgency.NORMAL)
    callback = Callback.objects.get()
    assert callback.priority == Priority.NORMAL
    again = call_log(
        user=receptionist,
        caller=callback.caller,
        started_at=timezone.now(),
        summary="Calling again about the dog",
        attach_to=callback.pk,
    )
    callback.refresh_from_db()
    assert Callback.objects.count() == 1
    assert list(callback.later_calls.all()) == [again]
    assert callback.priority == Priority.HIGH


def test_attaching_to_another_callers_callback_is_refused(receptionist):
    callback = CallbackFactory()
    with pytest.raises(ValidationError) as excinfo:
        call_log(
            user=receptionist,
            caller=CallerFactory(),
            started_at=timezone.now(),
            summary="x",
            attach_to=callback.pk,
        )
    assert "attach_to" in excinfo.value.message_dict


# --- claim, attempts, close ---------------------------------------------------------------


def test_claim_then_a_second_claim_is_told_who_has_it(receptionist):
    other = receptionist_user(username="bob")
    callback = CallbackFactory()
    callback_claim(callback_id=callback.pk, user=receptionist)
    with pytest.raises(CallbackTaken) as excinfo:
        callback_claim(callback_id=callback.pk, user=other)
    assert excinfo.value.by == receptionist
    # Claiming what you already hold is a no-op, not an error.
    assert callback_claim(callback_id=callback.pk, user=receptionist).claimed_by == receptionist


def test_no_answer_reschedules_and_gives_it_back_to_the_team(receptionist):
    callback = CallbackFactory()
    callback = callback_claim(callback_id=callback.pk, user=receptionist)
    next_try = timezone.now() + timedelta(hours=2)
    attempt = callback_attempt(
        callback_id=callback.pk,
        user=receptionist,
        expected_version=callback.version,
        result=AttemptResult.NO_ANSWER,
        next_due_at=next_try,
    )
    callback.refresh_from_db()
    assert attempt.rescheduled_to == next_try
    assert callback.status == CallbackStatus.OPEN and callback.claimed_by is None
    assert callback.due_at == next_try and callback.attempt_count == 1


def test_reached_needs_an_outcome_and_then_closes(receptionist):
    callback = CallbackFactory()
    with pytest.raises(ValidationError) as excinfo:
        callback_attempt(
            callback_id=callback.pk,
            user=receptionist,
            expected_version=callback.version,
            result=AttemptResult.REACHED,
        )
    assert "outcome" in excinfo.value.message_dict
    callback_attempt(
        callback_id=callback.pk,
        user=receptionist,
        expected_version=callback.version,
        result=AttemptResult.REACHED,
        outcome="Booked for Tuesday",
    )
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.DONE
    assert callback.outcome == "Booked for Tuesday" and callback.closed_by == receptionist


def test_no_answer_needs_a_next_time_in_the_future(receptionist):
    callback = CallbackFactory()
    for next_due_at in (None, timezone.now() - timedelta(minutes=5)):
        with pytest.raises(ValidationError) as excinfo:
            callback_attempt(
                callback_id=callback.pk,
                user=receptionist,
                expected_version=callback.version,
                result=AttemptResult.NO_ANSWER,
                next_due_at=next_due_at,
            )
        assert "next_due_at" in excinfo.value.message_dict
    assert callback.attempts.count() == 0


def test_a_stale_version_is_refused(receptionist):
    callback = CallbackFactory()
    stale = callback.version
    callback_claim(callback_id=callback.pk, user=receptionist)
    with pytest.raises(CallbackConflict) as excinfo:
        callback_attempt(
            callback_id=callback.pk,
            user=receptionist,
            expected_version=stale,
            result=AttemptResult.REACHED,
            outcome="Done",
        )
    assert excinfo.value.current.version == stale + 1


def test_someone_elses_claim_blocks_an_attempt(receptionist):
    callback = callback_claim(callback_id=CallbackFactory().pk, user=receptionist_user())
    with pytest.raises(CallbackTaken):
        callback_attempt(
            callback_id=callback.pk,
            user=receptionist,
            expected_version=callback.version,
            result=AttemptResult.REACHED,
            outcome="Done",
        )


def test_release_assign_and_cancel(receptionist, manager):
    callback = CallbackFactory()
    callback_claim(callback_id=callback.pk, user=receptionist)
    callback_release(callback_id=callback.pk, user=receptionist)
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.OPEN and callback.claimed_by is None

    bob = receptionist_user(username="bob")
    callback_claim(callback_id=callback.pk, user=receptionist)
    callback_assign(callback_id=callback.pk, user=manager, assignee=bob)
    callback.refresh_from_db()
    # Reassigned to Bob: Rita's claim goes, so Bob can claim it.
    assert callback.assigned_to == bob and callback.status == CallbackStatus.OPEN

    with pytest.raises(ValidationError):
        callback_cancel(callback_id=callback.pk, user=manager, reason="  ")
    callback_cancel(callback_id=callback.pk, user=manager, reason="Caller came in person")
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.CANCELLED
    assert callback.outcome == "Caller came in person" and callback.closed_by == manager
    with pytest.raises(CallbackTaken):
        callback_claim(callback_id=callback.pk, user=bob)


def test_the_database_refuses_a_closed_callback_without_outcome():
    callback = CallbackFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Callback.objects.filter(pk=callback.pk).update(status="done", closed_at=timezone.now())


def test_merging_callers_moves_their_callbacks(manager):
    from callers.services import caller_merge

    callback = CallbackFactory()
    kept = CallerFactory()
    caller_merge(source=callback.caller, target=kept, user=manager)
    callback.refresh_from_db()
    assert callback.caller == kept
    assert callback.call.caller == kept


# --- promises that cannot be meant --------------------------------------------------------

FAR = "That is more than a year away: check the date."


def test_a_callback_decades_ahead_is_refused_by_the_service_and_the_page(
    receptionist, reception_client
):
    with pytest.raises(ValidationError) as excinfo:
        log(receptionist, callback=True, callback_due_at=timezone.now() + timedelta(days=3650))
    assert excinfo.value.message_dict == {"callback_due_at": [FAR]}
    from tests.calls.test_views import form_data

    page = reception_client.post(
        "/calls/new/",
        form_data(callback="on", callback_due_at="2060-01-01T10:00", outcome="callback_scheduled"),
    )
    assert page.context["form"].errors == {"callback_due_at": [FAR]}
    assert not Callback.objects.exists()


def test_a_retry_decades_ahead_is_refused(receptionist):
    callback = CallbackFactory()
    with pytest.raises(ValidationError) as excinfo:
        callback_attempt(
            callback_id=callback.pk,
            user=receptionist,
            expected_version=1,
            result=AttemptResult.NO_ANSWER,
            next_due_at=timezone.now() + timedelta(days=400),
        )
    assert excinfo.value.message_dict == {"next_due_at": [FAR]}


def test_a_policy_of_millions_of_minutes_is_refused():
    business = Business.objects.default()
    policy = CallbackPolicy(
        business=business, nature=Nature.SALES, urgency=Urgency.LOW, due_within_minutes=10**6
    )
    with pytest.raises(ValidationError) as excinfo:
        policy.full_clean(validate_unique=False)
    assert excinfo.value.message_dict["due_within_minutes"] == ["At most 30 days (43,200 minutes)."]
    CallbackPolicy.objects.filter(business=business).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        policy.save()  # the database refuses it too
