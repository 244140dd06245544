from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from calls.models import Call
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nature", "gossip"),
        ("urgency", "meh"),
        ("mood", "sleepy"),
        ("outcome", "lost"),
        ("direction", "sideways"),
    ],
)
def test_database_refuses_unknown_vocabulary(field, value):
    call = CallFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(pk=call.pk).update(**{field: value})


def test_database_refuses_a_call_that_ends_before_it_starts():
    call = CallFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(pk=call.pk).update(ended_at=call.started_at - timedelta(seconds=1))


def test_database_refuses_an_empty_summary():
    call = CallFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(pk=call.pk).update(summary="")


def test_duration_is_derived():
    call = CallFactory()
    assert call.duration == timedelta(minutes=3)


def test_search_finds_words_in_summary_and_notes():
    hit = CallFactory(summary="Wants to reschedule the vaccination")
    note_hit = CallFactory(summary="Question", notes="Mentioned the vaccination again")
    CallFactory(summary="Invoice question")
    found = set(Call.objects.search("vaccination").values_list("pk", flat=True))
    assert found == {hit.pk, note_hit.pk}
