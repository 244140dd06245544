import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from followups.models import AttemptResult, Callback, CallbackStatus
from followups.services import CallbackTaken, callback_attempt, callback_claim, callbacks_sweep
from receptionist.models import StaffProfile
from tests.factories import CallbackFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return {
        "rita": receptionist_user(username="rita", email="rita@example.com"),
        "bob": receptionist_user(username="bob", email="bob@example.com"),
        "away": receptionist_user(username="away", email="away@example.com"),
        "maya": manager_user(username="maya", email="maya@example.com"),
    }


def recipients():
    return sorted(m.to[0] for m in mail.outbox)


def test_due_soon_reminds_the_team_then_overdue_adds_the_managers(
    people, django_capture_on_commit_callbacks
):
    StaffProfile.objects.create(user=people["away"], available=False)
    now = timezone.now()
    callback = CallbackFactory(due_at=now + timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert callbacks_sweep(now=now) == {"due": 1, "overdue": 0, "released": 0, "returned": 0}
    assert recipients() == ["bob@example.com", "rita@example.com"]
    assert f"/callbacks/{callback.pk}/" in mail.outbox[0].body
    assert callback.caller.name not in mail.outbox[0].body  # a link only
    mail.outbox.clear()
    later = now + timedelta(minutes=11)
    with django_capture_on_commit_callbacks(execute=True):
        assert callbacks_sweep(now=later) == {"due": 0, "overdue": 1, "released": 0, "returned": 0}
    assert recipients() == ["bob@example.com", "maya@example.com", "rita@example.com"]
    assert "overdue" in mail.outbox[0].subject


def test_sweep_is_idempotent(people, django_capture_on_commit_callbacks):
    now = timezone.now()
    CallbackFactory(due_at=now - timedelta(minutes=5), assigned_to=people["rita"])
    CallbackFactory(due_at=now + timedelta(minutes=5), assigned_to=people["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        first = callbacks_sweep(now=now)
        second = callbacks_sweep(now=now)
        third = callbacks_sweep(now=now + timedelta(seconds=30))
    assert first == {"due": 1, "overdue": 1, "released": 0, "returned": 0}
    assert second == third == {"due": 0, "overdue": 0, "released": 0, "returned": 0}
    # The assignee hears of their callback; overdue ones go to the managers as well.
    assert recipients() == ["bob@example.com", "maya@example.com", "rita@example.com"]


def test_an_overdue_callback_gets_no_due_soon_reminder_afterwards(people):
    now = timezone.now()
    callback = CallbackFactory(due_at=now - timedelta(minutes=1))
    callbacks_sweep(now=now)
    callback.refresh_from_db()
    assert callback.due_reminded_at is not None and callback.overdue_reminded_at is not None


def test_rescheduling_earns_new_reminders(people, django_capture_on_commit_callbacks):
    now = timezone.now()
    callback = CallbackFactory(due_at=now - timedelta(minutes=1))
    callbacks_sweep(now=now)
    callback = callback_claim(callback_id=callback.pk, user=people["rita"])
    callback_attempt(
        callback_id=callback.pk,
        user=people["rita"],
        expected_version=callback.version,
        result=AttemptResult.NO_ANSWER,
        next_due_at=now + timedelta(minutes=10),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert callbacks_sweep(now=now)["due"] == 1


def test_stale_claims_go_back_to_the_team(people, settings, django_capture_on_commit_callbacks):
    settings.CALLBACK_CLAIM_MINUTES = 30
    now = timezone.now()
    stale = CallbackFactory(assigned_to=people["rita"])
    fresh = CallbackFactory()
    tried = CallbackFactory()
    for callback in (stale, fresh, tried):
        callback_claim(callback_id=callback.pk, user=people["rita"])
    Callback.objects.filter(pk__in=[stale.pk, tried.pk]).update(
        claimed_at=now - timedelta(minutes=31)
    )
    Callback.objects.filter(pk=tried.pk).update(last_attempt_at=now - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert callbacks_sweep(now=now)["released"] == 1
        assert callbacks_sweep(now=now)["released"] == 0
    # The team hears that it is back in the queue, once.
    assert recipients() == ["away@example.com", "bob@example.com", "rita@example.com"]
    assert "back in the queue" in mail.outbox[0].subject
    stale.refresh_from_db()
    assert stale.status == CallbackStatus.OPEN
    assert stale.claimed_by is None and stale.assigned_to is None
    assert "released" in stale.history.first().history_change_reason
    assert Callback.objects.get(pk=fresh.pk).status == CallbackStatus.CLAIMED
    assert Callback.objects.get(pk=tried.pk).status == CallbackStatus.CLAIMED


def test_reminders_skip_callbacks_kept_in_the_meantime(people, django_capture_on_commit_callbacks):
    callback = CallbackFactory(due_at=timezone.now() + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        callbacks_sweep()
    Callback.objects.filter(pk=callback.pk).update(
        status="done", outcome="ok", closed_at=timezone.now()
    )
    for run in callbacks:
        run()
    assert mail.outbox == []


def test_the_command(people, capsys):
    CallbackFactory(due_at=timezone.now() - timedelta(minutes=5))
    call_command("callbacks_sweep")
    call_command("callbacks_sweep")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Reminders: 0 due soon, 1 overdue; claims released: 0; back to the team unclaimed: 0.",
        "Reminders: 0 due soon, 0 overdue; claims released: 0; back to the team unclaimed: 0.",
    ]


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_claims_have_one_winner():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serialises every writer)")
    people = [receptionist_user(username=f"r{i}") for i in range(20)]
    callback = CallbackFactory()
    barrier = threading.Barrier(len(people))
    winners, losers, errors = [], [], []

    def claim(user):
        try:
            barrier.wait()
            callback_claim(callback_id=callback.pk, user=user)
            winners.append(user)
        except CallbackTaken as exc:
            losers.append(exc.by)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(winners) == 1 and len(losers) == 19
    # Every loser was told who has it.
    assert set(losers) == {winners[0]}
    assert Callback.objects.get(pk=callback.pk).claimed_by == winners[0]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(settings):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    now = timezone.now()
    for i in range(30):
        CallbackFactory(due_at=now - timedelta(minutes=i + 1))
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(callbacks_sweep(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["overdue"] for r in results) == 30
    assert not Callback.objects.filter(overdue_reminded_at__isnull=True).exists()
