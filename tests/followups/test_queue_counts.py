"""The size of each view of the callback queue (Callback.objects.queue_counts): written as
SQL for speed, so each count is checked here against the queue's own filters."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import Callback, CallbackStatus
from tests.factories import CallbackFactory

pytestmark = pytest.mark.django_db


def test_each_count_is_the_size_of_its_view(receptionist, manager, settings):
    now = timezone.now()
    soon = now + timedelta(minutes=settings.CALLBACK_AT_RISK_MINUTES - 5)
    CallbackFactory(due_at=now - timedelta(hours=1))  # overdue, unassigned
    CallbackFactory(due_at=soon)  # at risk, unassigned
    CallbackFactory(due_at=now + timedelta(days=1), assigned_to=receptionist)  # mine
    CallbackFactory(
        due_at=soon,
        status=CallbackStatus.CLAIMED,
        claimed_by=receptionist,
        claimed_at=now,
    )  # mine, claimed: not at risk of nobody calling
    CallbackFactory(due_at=now - timedelta(minutes=5), assigned_to=manager)  # overdue
    for closed in (CallbackStatus.DONE, CallbackStatus.CANCELLED):  # kept, or not needed
        CallbackFactory(
            due_at=now - timedelta(days=2), status=closed, outcome="Called", closed_at=now
        )

    counts = Callback.objects.queue_counts(receptionist, now)

    active = Callback.objects.active()
    assert counts == {
        "mine": Callback.objects.mine(receptionist).count(),
        "unassigned": Callback.objects.unassigned().count(),
        "team": active.count(),
        "overdue": Callback.objects.overdue(now).count(),
        "at_risk": active.filter(
            status=CallbackStatus.OPEN, due_at__gte=now, due_at__lt=soon + timedelta(minutes=5)
        ).count(),
    }
    assert counts == {"mine": 2, "unassigned": 2, "team": 5, "overdue": 2, "at_risk": 1}
    assert Callback.objects.queue_counts(manager, now)["mine"] == 1


def test_a_narrower_queryset_is_refused_rather_than_ignored(receptionist):
    with pytest.raises(TypeError, match="whole queue"):
        Callback.objects.filter(assigned_to=receptionist).queue_counts(receptionist)


def test_nobody_logged_in_counts_nothing():
    from django.contrib.auth.models import AnonymousUser

    CallbackFactory()
    assert set(Callback.objects.queue_counts(AnonymousUser()).values()) == {0}
