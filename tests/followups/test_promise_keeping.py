"""Who keeps a promise to call back: the team, or (per business) the person who promised,
until the callback comes at risk unclaimed and goes back to the team."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from callers.models import Business
from calls.models import Nature, Urgency
from calls.services import call_log
from followups.models import AttemptResult, Callback, KeptBy, PromiseKeeping
from followups.services import (
    callback_assign,
    callback_attempt,
    callback_claim,
    callback_create,
    callbacks_sweep,
    hand_back_at,
)
from tests.factories import CallFactory, UserFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_by_promiser(db):
    business = Business.objects.default()
    PromiseKeeping.objects.create(business=business, kept_by=KeptBy.PROMISER)
    return business


def promise(user, *, hours=3):
    call = CallFactory(taken_by=user, outcome="callback_scheduled")
    return callback_create(call=call, user=user, due_at=timezone.now() + timedelta(hours=hours))


def test_the_team_keeps_promises_unless_the_business_chose(receptionist):
    callback = promise(receptionist)
    assert callback.assigned_to is None and callback.returns_to_team_at is None
    assert PromiseKeeping.objects.kept_by(Business.objects.default().pk) == KeptBy.TEAM


def test_the_person_who_promised_keeps_it_in_their_mine(kept_by_promiser, receptionist):
    callback = promise(receptionist)
    assert callback.assigned_to == receptionist
    at_risk = callback.due_at - timedelta(minutes=30)
    assert abs(callback.returns_to_team_at - at_risk) < timedelta(seconds=1)
    assert list(Callback.objects.mine(receptionist)) == [callback]


def test_call_log_assigns_the_promise_to_whoever_logged_the_call(kept_by_promiser, receptionist):
    call = call_log(
        user=receptionist,
        caller_name="Ann Lee",
        phone="+12125550147",
        started_at=timezone.now() - timedelta(minutes=2),
        ended_at=None,
        nature=Nature.APPOINTMENT,
        urgency=Urgency.NORMAL,
        summary="Wants a booking",
        outcome="callback_scheduled",
        callback=True,
    )
    assert call.callbacks.get().assigned_to == receptionist


def test_someone_off_the_front_desk_does_not_keep_it(kept_by_promiser):
    callback = promise(UserFactory(username="temp"))
    assert callback.assigned_to is None and callback.returns_to_team_at is None


def test_a_promise_due_soon_is_theirs_for_half_the_time_left():
    now = timezone.now()
    assert hand_back_at(now + timedelta(minutes=20), now) == now + timedelta(minutes=10)
    assert hand_back_at(now + timedelta(hours=2), now) == now + timedelta(minutes=90)


def test_unclaimed_at_risk_it_goes_back_to_the_team_and_the_team_is_told(
    kept_by_promiser, receptionist, django_capture_on_commit_callbacks
):
    receptionist_user(username="bob", email="bob@example.com")
    callback = promise(receptionist, hours=3)
    before = callback.returns_to_team_at - timedelta(minutes=1)
    assert callbacks_sweep(now=before)["returned"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert callbacks_sweep(now=callback.returns_to_team_at)["returned"] == 1
    callback.refresh_from_db()
    assert callback.assigned_to is None and callback.returns_to_team_at is None
    assert "back to the team" in callback.history.first().history_change_reason
    assert any("back in the queue" in m.subject for m in mail.outbox)
    assert callbacks_sweep(now=callback.due_at)["returned"] == 0


def test_claimed_in_time_it_stays_with_them(kept_by_promiser, receptionist):
    callback = promise(receptionist, hours=40 / 60)  # back at 20 min: before the claim is stale
    callback_claim(callback_id=callback.pk, user=receptionist)
    assert callbacks_sweep(now=callback.returns_to_team_at)["returned"] == 0
    callback.refresh_from_db()
    assert callback.claimed_by == receptionist


def test_no_answer_keeps_it_theirs_until_the_new_time_is_at_risk(kept_by_promiser, receptionist):
    callback = promise(receptionist)
    callback_claim(callback_id=callback.pk, user=receptionist)
    callback.refresh_from_db()
    later = timezone.now() + timedelta(hours=6)
    callback_attempt(
        callback_id=callback.pk,
        user=receptionist,
        expected_version=callback.version,
        result=AttemptResult.NO_ANSWER,
        next_due_at=later,
    )
    callback.refresh_from_db()
    assert callback.assigned_to == receptionist
    assert abs(callback.returns_to_team_at - (later - timedelta(minutes=30))) < timedelta(seconds=1)


def test_a_managers_assignment_stands(kept_by_promiser, receptionist):
    callback = promise(receptionist)
    other = receptionist_user(username="bob")
    callback_assign(callback_id=callback.pk, user=manager_user(username="maya"), assignee=other)
    callback.refresh_from_db()
    assert callback.returns_to_team_at is None
    assert callbacks_sweep(now=callback.due_at - timedelta(minutes=1))["returned"] == 0
    callback.refresh_from_db()
    assert callback.assigned_to == other


def test_the_queue_says_when_it_goes_back_to_the_team(
    kept_by_promiser, receptionist, reception_client
):
    callback = promise(receptionist)
    response = reception_client.get("/callbacks/", {"view": "mine"})
    content = response.content.decode()
    assert f'data-callback-row="{callback.pk}"' in content
    assert "data-hand-back" in content
    assert timezone.localtime(callback.returns_to_team_at).strftime("%H:%M") in content
