"""Editing a caller goes through caller_update: a version, its numbers, and its rules."""

import re

import pytest
from django.core.exceptions import ValidationError

from callers.models import Caller, CallerPhone
from callers.services import CallerConflict, CallerGone, caller_merge, caller_update
from tests.callers.test_views import phone_formset
from tests.factories import CallerFactory, CallFactory, manager_user, receptionist_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return CallerFactory(name="Ann Lee", phone="+12125550147")


def opened(client, url) -> str:
    """The base an edit form was opened with (its hidden, signed `base`)."""
    return re.search(r'name="base" value="([^"]+)"', client.get(url).content.decode()).group(1)


def numbers(caller) -> dict[str, str]:
    return {p.number.as_e164: p.label for p in caller.phones.all()}


def test_caller_update_saves_the_fields_and_exactly_the_numbers_given(ann):
    CallerFactory  # noqa: B018 (the fixture made Ann with one number)
    caller_update(
        caller_id=ann.pk,
        expected_version=1,
        user=receptionist_user(),
        changes={"organisation": " Acme ", "is_vip": True},
        phones=[("+12125550147", "work"), ("(312) 555-0100", "home")],
    )
    ann.refresh_from_db()
    assert (ann.organisation, ann.is_vip, ann.version) == ("Acme", True, 2)
    assert numbers(ann) == {"+12125550147": "work", "+13125550100": "home"}
    caller_update(
        caller_id=ann.pk,
        expected_version=2,
        user=receptionist_user(),
        changes={},
        phones=[("+13125550100", "home")],
    )
    assert numbers(ann) == {"+13125550100": "home"}
    assert ann.phones.model.history.filter(history_type="-").count() == 1  # in the trail


def test_caller_update_from_a_stale_version_is_a_conflict(ann):
    caller_update(caller_id=ann.pk, expected_version=1, user=ann, changes={"name": "Ann B"})
    with pytest.raises(CallerConflict) as conflict:
        caller_update(caller_id=ann.pk, expected_version=1, user=ann, changes={"name": "Ann C"})
    assert conflict.value.current.name == "Ann B"
    ann.refresh_from_db()
    assert (ann.name, ann.version) == ("Ann B", 2)


@pytest.mark.parametrize(
    ("changes", "phones", "field", "message"),
    [
        (
            {"caution_note": "Shouts"},
            None,
            "caution_note",
            "A handling note only goes with the caution flag.",
        ),
        ({"name": "  "}, None, "name", "This field cannot be blank."),
        ({}, [("+12125550147", "mobile"), ("212 555 0147", "work")], "phones", None),
        ({}, [("12", "mobile")], "phones", "12 is not a phone number."),
    ],
)
def test_caller_update_refuses_what_a_caller_cannot_be(ann, changes, phones, field, message):
    with pytest.raises(ValidationError) as refused:
        caller_update(
            caller_id=ann.pk,
            expected_version=1,
            user=manager_user(),
            changes=changes,
            phones=phones,
        )
    assert list(refused.value.message_dict) == [field]
    if message:
        assert refused.value.message_dict[field] == [message]
    ann.refresh_from_db()
    assert ann.version == 1


def test_only_a_manager_may_change_the_caution_flag(ann):
    with pytest.raises(ValidationError) as refused:
        caller_update(
            caller_id=ann.pk,
            expected_version=1,
            user=receptionist_user(),
            changes={"caution": True, "caution_note": "Shouts"},
        )
    assert list(refused.value.message_dict) == ["caution"]
    # The same values as saved are no change: a receptionist's edit may carry them.
    caller_update(
        caller_id=ann.pk,
        expected_version=1,
        user=receptionist_user(),
        changes={"caution": False, "caution_note": "", "name": "Ann Lee"},
    )


def test_the_page_and_the_service_refuse_a_note_without_the_flag_alike(manager_client, ann):
    data = {"name": "Ann Lee", "caution_note": "Shouts", **phone_formset(ann)}
    response = manager_client.post(f"/callers/{ann.pk}/edit/", data)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "caution_note": ["A handling note only goes with the caution flag."]
    }
    assert "Shouts" in response.content.decode()


def test_two_people_editing_a_caller_do_not_overwrite_each_other(
    reception_client, manager_client, ann
):
    base = opened(reception_client, f"/callers/{ann.pk}/edit/")
    manager_client.post(
        f"/callers/{ann.pk}/edit/",
        {"name": "Ann Lee", "things_to_remember": "Manager's note", **phone_formset(ann)},
    )
    # The receptionist opened the form at version 1 too, and adds a number.
    mine = {
        "name": "Ann Lee",
        "things_to_remember": "Receptionist's note",
        **phone_formset(ann, extra_number="(312) 555-0100"),
        "version": "1",
        "base": base,
    }
    response = reception_client.post(f"/callers/{ann.pk}/edit/", mine)
    assert response.status_code == 409
    content = response.content.decode()
    assert "Saved by someone else meanwhile" in content
    assert "Manager&#x27;s note" in content  # what is saved now
    assert "Receptionist&#x27;s note" in content  # what this person typed
    assert 'value="+13125550100"' in content  # the number added stays, to save again
    assert 'name="version" value="2"' in content
    ann.refresh_from_db()
    assert ann.things_to_remember == "Manager's note"
    assert ann.phones.count() == 1
    # Saving again on top of the version shown goes through.
    again = reception_client.post(
        f"/callers/{ann.pk}/edit/",
        {**mine, "version": "2", "base": re.search(r'name="base" value="([^"]+)"', content)[1]},
    )
    assert again.status_code == 302
    ann.refresh_from_db()
    assert ann.things_to_remember == "Receptionist's note"
    assert ann.phones.count() == 2


def test_an_edit_after_a_merge_says_so(reception_client, ann):
    data = {"name": "Ann Lee", **phone_formset(ann)}
    caller_merge(source=ann, target=CallerFactory(), user=manager_user())
    assert reception_client.post(f"/callers/{ann.pk}/edit/", data).status_code == 404
    with pytest.raises(CallerGone):
        caller_update(caller_id=ann.pk, expected_version=1, user=ann, changes={})


def test_caller_edit_query_counts_do_not_grow(reception_client, ann):
    url = f"/callers/{ann.pk}/edit/"
    few = count_queries(reception_client, url)
    for _ in range(20):
        CallFactory(caller=ann)
    assert count_queries(reception_client, url) == few
    assert few <= 9


def test_caller_edit_save_query_count(reception_client, ann, django_assert_max_num_queries):
    data = {"name": "Ann Lee", **phone_formset(ann, extra_number="(312) 555-0100")}
    with django_assert_max_num_queries(30):
        response = reception_client.post(f"/callers/{ann.pk}/edit/", data)
    assert response.status_code == 302


def test_merge_page_query_counts_do_not_grow(manager_client, ann):
    other = CallerFactory(name="Ann Lea", phone="+12125550148")
    pick = f"/callers/{ann.pk}/merge/?q=ann"
    confirm = f"/callers/{ann.pk}/merge/?into={other.pk}"
    few = (count_queries(manager_client, pick), count_queries(manager_client, confirm))
    for i in range(15):
        CallerFactory(name=f"Ann {i}", phone=f"+1212555{i:04d}")
    assert (count_queries(manager_client, pick), count_queries(manager_client, confirm)) == few
    assert max(few) <= 12
    assert Caller.objects.count() == 17


def test_a_caution_flag_needs_a_handling_note_on_the_edit_page_too(manager_client, ann):
    data = {"name": "Ann Lee", "caution": "on", "caution_note": " ", **phone_formset(ann)}
    response = manager_client.post(f"/callers/{ann.pk}/edit/", data)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "caution_note": ["Say how to handle this caller next time."]
    }
    ann.refresh_from_db()
    assert not ann.caution


def test_a_merge_that_would_cut_notes_is_refused_and_says_why(manager_client, ann):
    other = CallerFactory(name="Ann Lea", things_to_remember="b" * 1500)
    ann.things_to_remember = "a" * 1500
    ann.save()
    with pytest.raises(ValidationError) as refused:
        caller_merge(source=ann, target=other, user=manager_user())
    assert "shorten one of them first" in refused.value.message_dict["into"][0]
    response = manager_client.post(f"/callers/{ann.pk}/merge/", {"into": other.pk})
    assert response.status_code == 400
    assert "shorten one of them first" in response.content.decode()
    assert Caller.objects.filter(pk=ann.pk).exists()


def test_saving_again_after_a_conflict_keeps_what_the_other_person_changed(
    reception_client, manager_client, ann
):
    base = opened(reception_client, f"/callers/{ann.pk}/edit/")
    manager_client.post(
        f"/callers/{ann.pk}/edit/",
        {"name": "Ann Lee", "organisation": "Harbor Vet", **phone_formset(ann)},
    )
    # The receptionist started from version 1 and changed only the things to remember.
    mine = {"name": "Ann Lee", "things_to_remember": "Dog is Rex", **phone_formset(ann)}
    mine.update({"version": "1", "base": base})
    response = reception_client.post(f"/callers/{ann.pk}/edit/", mine)
    assert response.status_code == 409
    form = response.context["form"]
    assert form["organisation"].value() == "Harbor Vet"  # theirs: she had not touched it
    assert form["things_to_remember"].value() == "Dog is Rex"  # hers
    assert response.context["clashes"] == []
    again = {**mine, "organisation": "Harbor Vet", "version": "2"}
    assert reception_client.post(f"/callers/{ann.pk}/edit/", again).status_code == 302
    ann.refresh_from_db()
    assert (ann.organisation, ann.things_to_remember) == ("Harbor Vet", "Dog is Rex")


def test_numbers_changed_meanwhile_are_not_undone_by_saving_again(
    reception_client, manager_client, ann
):
    url = f"/callers/{ann.pk}/edit/"
    base = opened(reception_client, url)
    second = CallerPhone.objects.create(caller=ann, number="+13125550100")
    # The manager relabels the first number and deletes the second (version 1 -> 2).
    data = phone_formset(ann)
    data.update(
        {
            "name": "Ann Lee",
            "version": "1",
            "phones-0-label": "work",
            "phones-TOTAL_FORMS": "3",
            "phones-INITIAL_FORMS": "2",
            "phones-1-id": str(second.pk),
            "phones-1-caller": str(ann.pk),
            "phones-1-number": "+13125550100",
            "phones-1-label": "mobile",
            "phones-1-DELETE": "on",
            "phones-2-id": "",
            "phones-2-caller": str(ann.pk),
            "phones-2-number": "",
            "phones-2-label": "mobile",
        }
    )
    assert manager_client.post(url, data).status_code == 302
    assert numbers(ann) == {"+12125550147": "work"}
    # The receptionist's form still lists both numbers, and she only changes a note.
    mine = {**data, "things_to_remember": "Call after 4", "base": base}
    mine.pop("phones-1-DELETE")
    mine["phones-0-label"] = "mobile"
    response = reception_client.post(url, mine)
    assert response.status_code == 409  # not a form error about a row that is gone
    content = response.content.decode()
    again = {
        "name": "Ann Lee",
        "things_to_remember": "Call after 4",
        **phone_formset(ann),
        "phones-0-label": "work",  # as the form now shows it
        "version": "2",
        "base": re.search(r'name="base" value="([^"]+)"', content)[1],
    }
    assert "selected>Work</option>" in content or 'value="work" selected' in content
    assert reception_client.post(url, again).status_code == 302
    ann.refresh_from_db()
    assert numbers(ann) == {"+12125550147": "work"}
    assert ann.things_to_remember == "Call after 4"
