"""A row's caller's numbers read with the row (callers.models.NumbersOf), on both databases."""

import pytest

from callers.models import Caller, CallerPhone, NumbersOf
from tests.factories import CallbackFactory, CallerFactory
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db


def test_each_callers_numbers_oldest_first_and_none_for_a_caller_without():
    ann = CallerFactory(name="Ann", phone="+16175550100")
    CallerPhone.objects.create(caller=ann, number="+16175550199")
    CallerPhone.objects.create(caller=ann, number="+16175550142")
    bob = CallerFactory(name="Bob", phone=None)
    numbers = dict(Caller.objects.annotate(numbers=NumbersOf("pk")).values_list("pk", "numbers"))
    assert numbers[ann.pk] == ["+16175550100", "+16175550199", "+16175550142"]
    assert numbers[bob.pk] == []


def test_through_a_rows_caller(receptionist):
    callback = CallbackFactory()
    CallerPhone.objects.create(caller=callback.caller, number="+16175550123")
    expected = [phone.number.as_e164 for phone in callback.caller.phones.order_by("pk")]
    row = type(callback).objects.annotate(numbers=NumbersOf()).get(pk=callback.pk)
    assert row.numbers == expected and len(expected) >= 1


def test_the_lists_read_numbers_with_their_rows(reception_client):
    CallbackFactory.create_batch(3)
    # The session and person, the rows with their numbers, the counts of the tabs, the
    # businesses' names (kept by a serving process, read every time in tests).
    assert count_queries(reception_client, "/callbacks/") == 4
    CallerFactory(name="Ann", phone="+16175550100")
    # The session and person, the rows with their numbers.
    assert count_queries(reception_client, "/callers/") == 2
    assert "(617) 555-0100" in reception_client.get("/callers/").content.decode()


def test_each_callers_calls_today_and_this_week_read_with_the_caller():
    from datetime import timedelta

    from django.utils import timezone

    from calls.models import Call
    from tests.factories import CallFactory

    now = timezone.localtime().replace(hour=12, minute=0)  # well inside the day
    ann, bob = CallerFactory(name="Ann"), CallerFactory(name="Bob")
    CallFactory(caller=ann, started_at=now - timedelta(minutes=1))
    CallFactory(caller=ann, started_at=now - timedelta(days=3))
    CallFactory(caller=ann, started_at=now - timedelta(days=8))
    counted = {
        c.pk: (c.calls_today, c.calls_week)
        for c in Caller.objects.annotate(**Call.objects.counts_of_caller(now=now))
    }
    assert counted[ann.pk] == (1, 2)
    assert counted[bob.pk] == (0, 0)


def test_a_caller_page_asks_for_open_callbacks_only_when_there_are_some(reception_client):
    quiet = CallerFactory(name="Quiet")
    bare = count_queries(reception_client, f"/callers/{quiet.pk}/")
    waiting = CallbackFactory().caller
    response = reception_client.get(f"/callers/{waiting.pk}/")
    assert len(response.context["open_callbacks"]) == 1
    assert count_queries(reception_client, f"/callers/{waiting.pk}/") == bare + 1
