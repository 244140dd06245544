"""Calls from withheld or unknown numbers: the rule in call_log (the one gate), the form
that translates its refusals, the lookup panel, and the call log's filter."""

import pytest
from django.core.exceptions import ValidationError

from callers.models import UNKNOWN_CALLER_NAME, Business, Caller
from callers.services import caller_merge, caller_set_caution, caller_update
from calls.models import Call
from calls.services import (
    NOBODY_TO_CALL_BACK,
    NUMBER_AND_WITHHELD,
    NUMBER_NEEDED,
    SEVERAL_NAMED,
    call_log,
)
from tests.calls.test_services import fields
from tests.calls.test_views import form_data
from tests.factories import CallerFactory, CallFactory, receptionist_user
from tests.querycounts import count_queries, row_ids

pytestmark = pytest.mark.django_db


def refusal(**kwargs) -> dict:
    with pytest.raises(ValidationError) as refused:
        call_log(user=receptionist_user(), **{**fields(), **kwargs})
    assert not Call.objects.exists()
    return refused.value.message_dict


# --- the rule, in the service -------------------------------------------------------------


def test_withheld_with_a_known_name_goes_to_that_caller():
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    call = call_log(
        user=receptionist_user(), caller_name="ann lee", number_withheld=True, **fields()
    )
    assert call.caller == ann
    assert call.phone == "" and call.number_withheld
    assert [p.number.as_e164 for p in ann.phones.all()] == ["+12125550147"]


def test_withheld_with_a_new_name_creates_the_caller_without_a_number():
    call = call_log(
        user=receptionist_user(), caller_name="Nora Vale", number_withheld=True, **fields()
    )
    assert call.caller.name == "Nora Vale"
    assert not call.caller.phones.exists()
    assert not call.caller.unknown


def test_withheld_without_a_name_is_recorded_as_the_unknown_caller_once_per_business():
    user = receptionist_user()
    first = call_log(user=user, number_withheld=True, **fields())
    second = call_log(user=user, number_withheld=True, caller_name="  ", **fields())
    assert first.caller == second.caller
    assert first.caller.unknown and first.caller.name == UNKNOWN_CALLER_NAME
    assert first.caller.business == Business.objects.default()
    assert Caller.objects.filter(unknown=True).count() == 1


def test_no_number_and_not_withheld_is_refused():
    assert refusal(caller_name="Ann Lee") == {"phone": [NUMBER_NEEDED]}


def test_a_number_and_withheld_is_refused():
    said = refusal(caller_name="Ann Lee", phone="+12125550147", number_withheld=True)
    assert said == {"phone": [NUMBER_AND_WITHHELD]}


def test_withheld_with_a_name_two_callers_share_is_refused():
    CallerFactory(name="Sam Park")
    CallerFactory(name="Sam Park")
    assert refusal(caller_name="Sam Park", number_withheld=True) == {"caller_name": [SEVERAL_NAMED]}


def test_an_unknown_caller_cannot_be_promised_a_callback():
    said = refusal(number_withheld=True, callback=True, outcome="callback_scheduled")
    assert said == {"callback": [NOBODY_TO_CALL_BACK]}
    assert not Caller.objects.exists()


def test_the_unknown_caller_is_never_picked_and_never_gets_a_number():
    user = receptionist_user()
    unknown = call_log(user=user, number_withheld=True, **fields()).caller
    # A forged pick of the unknown caller with a number: the number decides, as for no pick.
    call = call_log(
        user=user, caller=unknown, caller_name="Bo Reyes", phone="+12125550188", **fields()
    )
    assert call.caller != unknown and call.caller.name == "Bo Reyes"
    assert not unknown.phones.exists()
    assert not Caller.objects.named(UNKNOWN_CALLER_NAME).exists()
    assert not Caller.objects.for_lookup(name="Unknown").exists()


def test_the_unknown_caller_cannot_be_edited_merged_or_flagged():
    user = receptionist_user()
    unknown = call_log(user=user, number_withheld=True, **fields()).caller
    ann = CallerFactory(name="Ann Lee")
    with pytest.raises(ValidationError) as edit:
        caller_update(caller_id=unknown.pk, expected_version=1, user=user, changes={"name": "Bob"})
    assert "not a person" in edit.value.message_dict["name"][0]
    for source, target in ((unknown, ann), (ann, unknown)):
        with pytest.raises(ValidationError) as merge:
            caller_merge(source=source, target=target, user=user)
        assert "not a person" in merge.value.message_dict["into"][0]
    with pytest.raises(ValidationError):
        caller_set_caution(caller_id=unknown.pk, user=user, caution=True, note="x", reason="t")
    assert Call.objects.get().caller == unknown


# --- the form translates the refusals -----------------------------------------------------


def test_the_form_logs_a_withheld_call_by_name(reception_client):
    response = reception_client.post(
        "/calls/new/", form_data(phone="", number_withheld="on", caller_name="Nora Vale")
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.phone, call.caller.name) == ("", "Nora Vale")


def test_the_form_logs_a_withheld_call_from_nobody_known(reception_client):
    response = reception_client.post(
        "/calls/new/", form_data(phone="", number_withheld="on", caller_name="")
    )
    assert response.status_code == 302
    assert Call.objects.get().caller.unknown
    page = reception_client.get(f"/calls/{Call.objects.get().pk}/").content.decode()
    assert "Withheld" in page


def test_the_form_says_what_a_withheld_call_lacks_on_the_field(reception_client):
    response = reception_client.post("/calls/new/", form_data(number_withheld="on"))
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [NUMBER_AND_WITHHELD]
    content = response.content.decode()
    # The number keeps the cursor and says why, for screen readers too.
    phone = content.split('name="phone"')[1].split(">")[0]
    assert 'aria-invalid="true"' in phone and 'aria-describedby="id_phone_error"' in phone
    assert "autofocus" in phone
    assert 'id="id_phone_error"' in content
    assert " checked" in content.split('name="number_withheld"')[1].split(">")[0]
    assert not Call.objects.exists()


# --- the lookup panel ---------------------------------------------------------------------


def test_the_panel_says_a_withheld_call_without_a_name_is_recorded_as_unknown(reception_client):
    content = reception_client.get(
        "/callers/lookup/", {"phone": "", "caller_name": "", "number_withheld": "on"}
    ).content.decode()
    assert "data-lookup-unknown" in content
    assert "New caller" not in content


def test_the_panel_ignores_a_number_typed_before_withheld_was_ticked(reception_client):
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    content = reception_client.get(
        "/callers/lookup/",
        {"phone": "212 555 0147", "caller_name": "Ann Lee", "number_withheld": "on"},
    ).content.decode()
    assert f'id="id_caller" value="{ann.pk}"' in content  # found by name
    assert "data-chosen" in content


def test_the_panel_says_letters_are_not_a_number_and_not_new_caller(reception_client):
    content = reception_client.get(
        "/callers/lookup/", {"phone": "abc123", "caller_name": ""}
    ).content.decode()
    assert "data-lookup-bad-number" in content
    assert "is not a phone number" in content
    assert "New caller" not in content


def test_the_panel_says_new_caller_only_of_a_whole_number(reception_client):
    partial = reception_client.get("/callers/lookup/", {"phone": "212 55"}).content.decode()
    whole = reception_client.get("/callers/lookup/", {"phone": "212 555 0199"}).content.decode()
    assert "New caller" not in partial and "data-lookup-partial" in partial
    assert "New caller" in whole


# --- the call log's filter ----------------------------------------------------------------


def test_the_call_log_filters_the_calls_logged_without_a_number(reception_client):
    user = receptionist_user()
    withheld = call_log(user=user, number_withheld=True, caller_name="Nora Vale", **fields())
    unknown = call_log(user=user, number_withheld=True, **fields())
    numbered = CallFactory()
    response = reception_client.get("/calls/", {"withheld": "on"})
    assert response.status_code == 200
    shown = row_ids(response, "data-call-row")
    assert set(shown) == {withheld.pk, unknown.pk}
    assert numbered.pk in row_ids(reception_client.get("/calls/"), "data-call-row")
    # The control is in the filter bar, ticked.
    assert 'name="withheld" id="id_withheld" checked' in response.content.decode()


def test_the_withheld_filter_query_count_does_not_grow(reception_client):
    user = receptionist_user()
    call_log(user=user, number_withheld=True, **fields())
    few = count_queries(reception_client, "/calls/?withheld=on")
    for _ in range(5):
        call_log(user=user, number_withheld=True, **fields())
        CallFactory()
    assert count_queries(reception_client, "/calls/?withheld=on") == few
    assert few <= count_queries(reception_client, "/calls/")
