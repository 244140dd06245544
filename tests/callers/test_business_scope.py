"""The one scoping rule of every list: the rows of the businesses a person may work for."""

import pytest
from django.contrib.auth.models import AnonymousUser

from callers.models import Business, BusinessQuerySet, Caller
from calls.models import Call, Escalation
from followups.models import Callback
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def test_a_visitor_who_is_not_logged_in_sees_no_rows():
    CallFactory()
    assert not Business.objects.limit(Call.objects.all(), AnonymousUser()).exists()
    assert not Call.objects.for_user(AnonymousUser()).exists()
    assert not Caller.objects.for_user(AnonymousUser()).exists()
    assert not Callback.objects.for_user(AnonymousUser()).exists()
    assert not Escalation.objects.for_user(AnonymousUser()).exists()


def test_a_person_who_works_for_every_business_sees_them_all_without_a_subquery(receptionist):
    other = Business.objects.create(name="Harbor Vet")
    here, there = CallFactory(), CallFactory(business=other, caller__business=other)
    calls = Call.objects.for_user(receptionist)
    assert set(calls) == {here, there}
    # Every business: no filter to plan (a subquery on the businesses doubled planning).
    assert "callers_business" not in str(calls.query)
    assert set(Caller.objects.for_user(receptionist)) == {here.caller, there.caller}


def test_a_person_limited_to_some_businesses_sees_only_theirs(receptionist, monkeypatch):
    other = Business.objects.create(name="Harbor Vet")
    here, there = CallFactory(), CallFactory(business=other, caller__business=other)
    # The businesses issue limits people to some businesses through ids_for.
    monkeypatch.setattr(BusinessQuerySet, "ids_for", lambda self, user: [other.pk])
    assert list(Call.objects.for_user(receptionist)) == [there]
    assert list(Caller.objects.for_user(receptionist)) == [there.caller]
    assert here not in Business.objects.limit(Call.objects.all(), receptionist)
