import pytest
from django.core.exceptions import ValidationError

from callers.models import Caller, CallerPhone
from callers.services import caller_merge
from calls.models import Call
from tests.factories import CallerFactory, CallFactory, manager_user

pytestmark = pytest.mark.django_db


def test_merge_moves_calls_and_numbers_and_keeps_everything():
    manager = manager_user()
    kept = CallerFactory(name="Ann Lee", phone="+12125550147", things_to_remember="Likes mornings")
    dup = CallerFactory(
        name="Anne Lee",
        phone="+12125550148",
        things_to_remember="Dog is called Rex",
        email="ann@example.com",
        is_vip=True,
    )
    CallerPhone.objects.create(caller=dup, number="+12125550147")  # shared number, not doubled
    calls = CallFactory.create_batch(3, caller=dup)
    CallFactory(caller=kept)

    result = caller_merge(source=dup, target=kept, user=manager)

    assert result.pk == kept.pk
    assert not Caller.objects.filter(pk=dup.pk).exists()
    assert Call.objects.filter(caller=kept).count() == 4
    assert {c.pk for c in calls} <= set(
        Call.objects.filter(caller=kept).values_list("pk", flat=True)
    )
    assert sorted(p.number.as_e164 for p in kept.phones.all()) == [
        "+12125550147",
        "+12125550148",
    ]
    kept.refresh_from_db()
    assert "Likes mornings" in kept.things_to_remember
    assert "Dog is called Rex" in kept.things_to_remember
    assert kept.email == "ann@example.com"
    assert kept.is_vip


def test_merge_is_in_the_audit_trail():
    manager = manager_user()
    kept, dup = CallerFactory(), CallerFactory(name="Duplicate")
    caller_merge(source=dup, target=kept, user=manager)
    latest = kept.history.first()
    assert f"Merged caller #{dup.pk}" in latest.history_change_reason
    assert latest.history_user == manager
    deleted = Caller.history.filter(id=dup.pk, history_type="-").get()
    assert deleted.name == "Duplicate"
    assert f"Merged into caller #{kept.pk}" in deleted.history_change_reason


def test_a_caller_cannot_be_merged_into_itself():
    caller = CallerFactory()
    with pytest.raises(ValidationError) as refused:
        caller_merge(source=caller, target=caller, user=manager_user())
    assert refused.value.message_dict == {"into": ["A caller cannot be merged into itself."]}


def test_a_new_callers_number_is_one_by_the_call_forms_rule():
    from callers.phones import NOT_A_NUMBER
    from callers.services import caller_create

    manager = manager_user()
    business = CallerFactory().business
    for typed in ("abc", "12", "++++", "212 555 0199 x12", "1-800-FLOWERS"):
        with pytest.raises(ValidationError) as refused:
            caller_create(business=business, name="Bad phone", phone=typed, user=manager)
        assert refused.value.message_dict["phone"] == [NOT_A_NUMBER]
    assert not Caller.objects.filter(name="Bad phone").exists()
    made = caller_create(business=business, name="Good", phone="(212) 555-0199", user=manager)
    assert [p.number.as_e164 for p in made.phones.all()] == ["+12125550199"]


def test_only_a_manager_sets_the_caution_flag_of_a_new_caller():
    from callers.services import caller_create
    from tests.factories import receptionist_user

    business = CallerFactory().business
    for fields in ({"caution": True}, {"caution_note": "Shouts"}):
        with pytest.raises(ValidationError) as refused:
            caller_create(business=business, name="X", user=receptionist_user(), **fields)
        assert "Only a manager" in refused.value.message_dict["caution"][0]
    made = caller_create(
        business=business, name="Y", user=manager_user(), caution=True, caution_note="Shouts"
    )
    assert made.caution and made.caution_note == "Shouts"
