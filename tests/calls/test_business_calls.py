"""A call for one business of an answering service: its callers only, a new caller its own,
an inactive business refused (calls.services.call_log with `business`)."""

import pytest
from django.core.exceptions import ValidationError

from callers.models import Business, active_businesses, business_dialed
from callers.services import business_save, business_set_active
from calls.services import BUSINESS_INACTIVE, call_log
from tests.calls.test_services import fields
from tests.factories import CallerFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(db):
    maya = manager_user(username="maya-c")
    first = Business.objects.default()
    harbor = business_save(user=maya, name="Harbor Vet", numbers=["(212) 555-0100"])
    return first, harbor


def test_the_same_number_is_two_callers_at_two_businesses(two):
    first, harbor = two
    rita = receptionist_user(username="rita-c")
    ann_here = CallerFactory(name="Ann Lee", phone="+12125550147", business=first)
    ann_there = CallerFactory(name="Ann Lee", phone="+12125550147", business=harbor)
    call = call_log(user=rita, phone="+12125550147", business=harbor, **fields())
    assert call.caller == ann_there and call.business == harbor
    call = call_log(user=rita, phone="+12125550147", business=first, **fields())
    assert call.caller == ann_here and call.business == first


def test_a_new_caller_and_the_unknown_caller_are_the_businesss(two):
    _, harbor = two
    rita = receptionist_user(username="rita-d")
    CallerFactory(name="Bo Park", phone="+12125550148")  # the other business's
    call = call_log(
        user=rita, phone="+12125550148", caller_name="Bo Park", business=harbor, **fields()
    )
    assert call.caller.business == harbor and call.business == harbor
    call = call_log(user=rita, number_withheld=True, business=harbor, **fields())
    assert call.caller.unknown and call.caller.business == harbor


def test_another_businesss_caller_cannot_be_picked(two):
    first, harbor = two
    rita = receptionist_user(username="rita-e")
    theirs = CallerFactory(name="Cy", phone="+12125550149", business=first)
    with pytest.raises(ValidationError) as refused:
        call_log(user=rita, caller=theirs, phone="+12125550149", business=harbor, **fields())
    assert refused.value.message_dict["caller"] == [
        "That caller is not one of Harbor Vet's: pick one of theirs."
    ]


def test_an_inactive_business_takes_no_calls(two):
    _, harbor = two
    business_set_active(business=harbor, active=False, user=manager_user(username="maya-d"))
    with pytest.raises(ValidationError) as refused:
        call_log(
            user=receptionist_user(username="rita-f"),
            phone="+12125550150",
            caller_name="Di",
            business=harbor,
            **fields(),
        )
    assert refused.value.message_dict["business"] == [BUSINESS_INACTIVE]


@pytest.mark.parametrize(
    "dialed", ["(212) 555-0100", "212.555.0100", "+1 212 555 0100", "12125550100", "2125550100"]
)
def test_the_number_dialed_in_any_common_format_finds_its_business(two, dialed):
    _, harbor = two
    assert business_dialed(dialed, active_businesses()) == harbor


@pytest.mark.parametrize("dialed", ["", "555", "(646) 555-0199", "<b>x</b>", "\\x00"])
def test_a_number_no_business_has_finds_none(two, dialed):
    assert business_dialed(dialed, active_businesses()) is None


def test_the_active_businesses_are_read_again_once_one_changes(two):
    first, harbor = two
    assert [b.name for b in active_businesses()] == sorted([first.name, "Harbor Vet"])
    business_set_active(business=harbor, active=False, user=manager_user(username="maya-e"))
    assert [b.name for b in active_businesses()] == [first.name]
