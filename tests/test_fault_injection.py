"""A failure in the middle of a service that writes several rows leaves nothing behind.

The fault is the database's own: a trigger makes one of the service's later writes fail
(as a full disk, a lost connection or a constraint would), after the service has already
written other rows. Every table of the project is counted before and after; the e-mails
and webhooks the service would have sent on commit are not sent."""

from contextlib import contextmanager

import pytest
from django.apps import apps
from django.core import mail
from django.db import DatabaseError, connection

from callers.services import caller_merge
from calls.models import Mood, Outcome
from calls.services import call_log, escalation_acknowledge, escalation_resolve
from followups.models import Callback
from tests.factories import CallerFactory, CallFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def failing(table: str, operation: str):
    """Every `operation` (INSERT, UPDATE or DELETE) on `table` fails until the block ends."""
    if connection.vendor == "postgresql":
        create = [
            "CREATE FUNCTION injected_fault() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER injected_fault BEFORE {operation} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION injected_fault()",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS injected_fault ON {table}",
            "DROP FUNCTION IF EXISTS injected_fault()",
        ]
    else:
        create = [
            f"CREATE TRIGGER injected_fault BEFORE {operation} ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS injected_fault"]
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)


def every_table() -> dict[str, int]:
    return {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"callers", "calls", "followups", "receptionist"}
        and not model._meta.proxy
    }


def test_a_call_whose_promise_fails_to_save_leaves_no_caller_call_or_escalation(
    django_capture_on_commit_callbacks,
):
    rita = receptionist_user(username="rita")
    before = every_table()
    with (
        failing(Callback._meta.db_table, "INSERT"),
        django_capture_on_commit_callbacks(execute=True) as on_commit,
        pytest.raises(DatabaseError, match="injected fault"),
    ):
        # A new caller, their number, the call, its history and its escalation are written
        # before the promise to call back fails.
        call_log(
            user=rita,
            caller_name="Ann Lee",
            phone="+12125550147",
            nature="urgent",
            urgency="high",
            mood=Mood.ABUSIVE,
            outcome=Outcome.CALLBACK_SCHEDULED,
            summary="Shouted about the invoice",
            callback=True,
        )
    assert every_table() == before
    assert on_commit == []
    assert mail.outbox == []


def test_a_resolution_whose_caution_fails_to_save_leaves_the_escalation_open():
    rita = receptionist_user(username="rita")
    maya = manager_user(username="maya")
    ann = CallerFactory(name="Ann Lee")
    call = call_log(
        user=rita,
        caller=ann,
        nature="other",
        urgency="normal",
        mood=Mood.ABUSIVE,
        outcome=Outcome.RESOLVED,
        summary="Shouted",
    )
    escalation = escalation_acknowledge(escalation_id=call.escalations.get().pk, user=maya)
    before = every_table()
    with failing("callers_caller", "UPDATE"), pytest.raises(DatabaseError, match="injected"):
        escalation_resolve(
            escalation_id=escalation.pk,
            user=maya,
            resolution="Called back, calm now",
            debrief="Well handled",
            caution_decision="set",
            caution_note="Hand over early",
        )
    assert every_table() == before
    escalation.refresh_from_db()
    ann.refresh_from_db()
    assert (escalation.status, escalation.resolution, ann.caution) == ("acknowledged", "", False)


def test_a_merge_whose_last_delete_fails_moves_nothing():
    maya = manager_user(username="maya")
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    copy = CallerFactory(name="Ann Lee", phone="+12125550148")
    calls = [CallFactory(caller=copy) for _ in range(3)]
    before = every_table()
    with failing("callers_caller", "DELETE"), pytest.raises(DatabaseError, match="injected"):
        caller_merge(source=copy, target=ann, user=maya)
    assert every_table() == before
    for call in calls:
        call.refresh_from_db()
        assert call.caller_id == copy.pk
    assert sorted(p.number.as_e164 for p in ann.phones.all()) == ["+12125550147"]
