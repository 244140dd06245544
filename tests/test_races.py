"""Two people clicking the same button at once, on PostgreSQL's real row locks: one wins,
the other is told why, and nothing is written twice."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone

from callers.models import Caller
from callers.services import CallerGone, caller_merge
from calls.models import Call, Escalation
from calls.services import CallAlreadyLogged, EscalationAlreadyOpen, call_log, escalation_raise
from tests.factories import CallerFactory, CallFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-enough-Pa55word"


@pytest.fixture
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serialises every writer)")


pytestmark = [pytestmark, pytest.mark.usefixtures("_postgresql_only")]


def at_once(*jobs) -> list:
    """Run the jobs in threads released together; what each returned or raised, in order."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("round_", range(5))
def test_two_people_flagging_a_call_at_once_get_one_escalation(round_):
    call = CallFactory(taken_by=receptionist_user())
    rita, bob = receptionist_user(username="rita"), receptionist_user(username="bob")
    results = at_once(
        *(
            lambda user=user: escalation_raise(
                call=call, user=user, reason=f"{user.username} says help", playbook_steps=[]
            )
            for user in (rita, bob)
        )
    )
    won = [r for r in results if isinstance(r, Escalation)]
    told = [r for r in results if isinstance(r, EscalationAlreadyOpen)]
    assert len(won) == 1 and len(told) == 1, results
    assert told[0].by == won[0].raised_by  # the loser is told who flagged it
    assert Escalation.objects.filter(call=call).count() == 1


def test_two_merges_of_the_same_callers_at_once_merge_once():
    keep = CallerFactory(name="Ann Lee", phone="+12125550147")
    duplicate = CallerFactory(name="Ann  Lee", phone="+12125550148")
    CallFactory(caller=duplicate)
    maya, omar = manager_user(username="maya"), manager_user(username="omar")
    results = at_once(
        lambda: caller_merge(source=duplicate, target=keep, user=maya),
        lambda: caller_merge(source=duplicate, target=keep, user=omar),
    )
    assert sorted(type(r).__name__ for r in results) == ["Caller", "CallerGone"], results
    assert [c.pk for c in Caller.objects.all()] == [keep.pk]
    assert Call.objects.get().caller_id == keep.pk


def test_merging_both_ways_at_once_leaves_one_caller():
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    anne = CallerFactory(name="Anne Lee", phone="+12125550148")
    results = at_once(
        lambda: caller_merge(source=ann, target=anne, user=manager_user(username="m1")),
        lambda: caller_merge(source=anne, target=ann, user=manager_user(username="m2")),
    )
    assert sum(isinstance(r, CallerGone) for r in results) == 1, results
    assert Caller.objects.count() == 1


def test_the_same_call_form_sent_twice_at_once_logs_one_call():
    user = receptionist_user()
    key = uuid.uuid4()

    def submit():
        return call_log(
            user=user,
            caller_name="New Person",
            phone="+12125550199",
            submission_key=key,
            started_at=timezone.now() - timedelta(minutes=2),
            nature="appointment",
            summary="Book a check-up",
        )

    results = at_once(submit, submit)
    logged = [r for r in results if isinstance(r, Call)]
    repeated = [r for r in results if isinstance(r, CallAlreadyLogged)]
    assert len(logged) == 1 and len(repeated) == 1, results
    assert repeated[0].call == logged[0]
    assert Call.objects.count() == 1
    assert Caller.objects.count() == 1  # the second one's new caller was rolled back


@pytest.mark.parametrize("round_", range(3))
def test_a_call_logged_for_a_caller_being_merged_is_kept_or_refused_never_lost(round_):
    source = CallerFactory(name="Ann Lee", phone="+12125550147")
    target = CallerFactory(name="Ann Lee", phone="+12125550148")
    for _ in range(30):
        CallFactory(caller=source)
    user = receptionist_user()

    def log():
        return call_log(
            user=user,
            caller=source,
            phone="+12125550199",
            started_at=timezone.now() - timedelta(minutes=1),
            summary="Logged during the merge",
        )

    results = at_once(lambda: caller_merge(source=source, target=target, user=manager_user()), log)
    merged, logged = results
    assert isinstance(merged, Caller), results
    if isinstance(logged, Call):
        # Logged first: the merge waited for it and moved it, with the new number.
        assert Call.objects.get(pk=logged.pk).caller_id == target.pk
        assert target.phones.filter(number="+12125550199").exists()
    else:
        # The merge went first: a message on the form, nothing half-written.
        assert "no longer exists" in str(logged), results
    assert not Caller.objects.filter(pk=source.pk).exists()
    assert Call.objects.filter(caller=target).count() == 30 + isinstance(logged, Call)


def test_two_managers_adding_sam_and_SAM_at_once_add_one():
    from receptionist.people import person_save

    maya = manager_user(username="maya-race")
    results = at_once(
        lambda: person_save(user=maya, username="sam", role="receptionist", password=PASSWORD),
        lambda: person_save(user=maya, username="SAM", role="receptionist", password=PASSWORD),
    )
    assert sorted(type(r).__name__ for r in results) == ["User", "ValidationError"]
    assert get_user_model().objects.filter(username__iexact="sam").count() == 1


def test_two_managers_saving_a_new_policy_at_once_both_succeed():
    from callers.models import Business
    from followups.models import CallbackPolicy
    from followups.services import policy_save

    maya = manager_user(username="maya-race2")
    business = Business.objects.create(name="Race Vet")
    results = at_once(
        lambda: policy_save(user=maya, business=business, minutes={("urgent", "low"): 5}),
        lambda: policy_save(user=maya, business=business, minutes={("urgent", "low"): 9}),
    )
    assert all(isinstance(r, dict) for r in results), results
    assert CallbackPolicy.objects.filter(business=business).count() == 1


def test_two_businesses_saved_at_once_with_crossing_numbers_give_one_refusal():
    from callers.models import Business, InboundNumber
    from callers.services import business_save

    maya = manager_user(username="maya-race3")
    first = Business.objects.create(name="Cross One")
    second = Business.objects.create(name="Cross Two")
    for _ in range(5):
        InboundNumber.objects.filter(business__in=[first, second]).delete()
        results = at_once(
            lambda: business_save(user=maya, business=first, numbers=["2125550111", "2125550222"]),
            lambda: business_save(user=maya, business=second, numbers=["2125550222", "2125550111"]),
        )
        kinds = sorted(type(r).__name__ for r in results)
        # One takes both numbers; the other is told (never a deadlock, never both).
        assert kinds == ["Business", "ValidationError"], results
        assert InboundNumber.objects.count() == 2


@pytest.mark.parametrize("round_", range(3))
def test_calls_saved_at_once_are_all_in_their_day_tally(round_):
    """Six calls of one business's day saved at once, each in its own transaction: the
    recounts after their commits wait for one another (the business's lock), so the last
    one reads them all."""
    from django.db import transaction

    from callers.models import Business
    from followups.models import PersonTally, Tally

    business = Business.objects.default()
    caller = CallerFactory(business=business)
    people = [receptionist_user(username=f"r{n}-{round_}") for n in range(6)]
    started = timezone.now() - timedelta(minutes=5)

    def save(person):
        def job():
            with transaction.atomic():
                return CallFactory(
                    caller=caller, business=business, taken_by=person, started_at=started
                ).pk

        return job

    results = at_once(*(save(person) for person in people))
    assert all(isinstance(pk, int) for pk in results), results
    day = timezone.localdate(started, business.zone)
    assert Tally.objects.get(business=business, day=day).calls == 6
    shares = PersonTally.objects.filter(business=business, day=day)
    assert sorted(share.calls for share in shares) == [1] * 6
