"""The businesses' migrations run forwards and backwards on a database that has calls:
the default business the calls belong to, its profile (callers 0008, 0009) and the
messages of calls (calls 0011) come and go without losing a call."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("callers", "0007_caller_name_idx_covers_search"),
    ("calls", "0010_call_autovacuum_inserts"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_the_business_migrations_keep_every_call_both_ways(settings):
    settings.TIME_ZONE = "America/New_York"
    try:
        old = migrate(BEFORE)
        Business = old.get_model("callers", "Business")
        Caller = old.get_model("callers", "Caller")
        Call = old.get_model("calls", "Call")
        User = old.get_model("auth", "User")
        # callers 0002 made it (a flush after an earlier transactional test removed it).
        office, _ = Business.objects.get_or_create(name="Front desk")
        Business.objects.filter(pk=office.pk).update(time_zone="UTC")
        rita = User.objects.create(username="rita-m")
        caller = Caller.objects.create(business=office, name="Ann Lee")
        started = datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
        for n in range(3):
            Call.objects.create(
                business=office,
                caller=caller,
                taken_by=rita,
                started_at=started,
                summary=f"Call {n}",
                outcome="message_taken",
            )

        new = migrate(latest())
        Business = new.get_model("callers", "Business")
        Call = new.get_model("calls", "Call")
        office = Business.objects.get(pk=office.pk)
        # The office keeps the clock its promises were said in.
        assert office.time_zone == "America/New_York" and office.active
        assert not office.message_text_in_email
        calls = list(Call.objects.order_by("summary"))
        assert [c.summary for c in calls] == ["Call 0", "Call 1", "Call 2"]
        assert {(c.business_id, c.message, c.message_status) for c in calls} == {
            (office.pk, "", "")
        }

        back = migrate(BEFORE)
        Call = back.get_model("calls", "Call")
        Business = back.get_model("callers", "Business")
        assert Call.objects.filter(business_id=office.pk).count() == 3
        assert Business.objects.filter(pk=office.pk, name="Front desk").exists()
    finally:
        migrate(latest())
