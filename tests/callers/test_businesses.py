"""Businesses managed in the app: the rules of business_save and business_set_active, the
greeting, opening hours on the business's own clock, and the /businesses/ pages."""

from datetime import UTC, datetime, time

import pytest
from django.core.exceptions import ValidationError

from callers.models import Business, InboundNumber
from callers.services import LAST_ACTIVE, business_save, business_set_active
from tests.factories import manager_user, receptionist_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db

HARBOR = {
    "name": "Harbor Vet",
    "greeting": "Thank you for calling Harbor Vet, this is {receptionist}, how may I help?",
    "instructions": "Never promise a same-day appointment.",
    "after_hours_instructions": "For emergencies, call the animal hospital.",
    "time_zone": "America/New_York",
}
WEEKDAYS_9_TO_5 = [(day, time(9), time(17)) for day in range(5)]


@pytest.fixture
def maya(db):
    return manager_user(username="maya-b")


def test_a_business_is_added_with_its_numbers_hours_and_contacts(maya):
    business = business_save(
        user=maya,
        numbers=["(212) 555-0100", "+1 212 555 0100", "212.555.0101", ""],
        hours=WEEKDAYS_9_TO_5,
        contacts=[{"name": "Dr Lee", "email": "lee@harbor.test", "phone": "", "role": "Owner"}],
        **HARBOR,
    )
    assert [n.number.as_e164 for n in business.inbound_numbers.all()] == [
        "+12125550100",
        "+12125550101",
    ]
    assert business.hours.count() == 5
    assert [c.name for c in business.contacts.all()] == ["Dr Lee"]
    assert business.history.first().history_user == maya


def test_a_number_rings_for_one_business_only(maya):
    business_save(user=maya, numbers=["212 555 0100"], **HARBOR)
    with pytest.raises(ValidationError) as refused:
        business_save(user=maya, name="Bay Dental", numbers=["(212) 555-0100"], time_zone="UTC")
    assert refused.value.message_dict["inbound_numbers"] == [
        "(212) 555-0100 already rings for Harbor Vet."
    ]
    assert not Business.objects.filter(name="Bay Dental").exists()


def test_what_is_no_number_greeting_or_time_zone_is_refused_by_name(maya):
    with pytest.raises(ValidationError) as refused:
        business_save(
            user=maya,
            name="Bay Dental",
            greeting="Hello, {receptionist.__class__} here, {0}",
            time_zone="Mars/Olympus",
            numbers=["555-01", "call me"],
        )
    errors = refused.value.message_dict
    assert "can fill in {receptionist} only" in errors["greeting"][0]
    assert "“Mars/Olympus” is no time zone" in errors["time_zone"][0]
    assert errors["inbound_numbers"] == [
        "“555-01” is not a phone number.",
        "“call me” is not a phone number.",
    ]
    assert not Business.objects.filter(name="Bay Dental").exists()


def test_hours_close_after_they_open_and_do_not_overlap(maya):
    with pytest.raises(ValidationError) as refused:
        business_save(
            user=maya,
            hours=[(0, time(9), time(13)), (0, time(12), time(17)), (2, time(18), time(9))],
            **HARBOR,
        )
    errors = refused.value.message_dict
    assert errors["hours_2"] == [
        "Closes must be after it opens. Hours past midnight: add the next day from 00:00."
    ]
    with pytest.raises(ValidationError) as refused:
        business_save(user=maya, hours=[(0, time(9), time(13)), (0, time(12), time(17))], **HARBOR)
    assert refused.value.message_dict == {"hours_0": ["Monday's hours overlap."]}


def test_the_last_active_business_stays_active(maya):
    only = Business.objects.default()
    Business.objects.exclude(pk=only.pk).update(active=False)
    with pytest.raises(ValidationError) as refused:
        business_set_active(business=only, active=False, user=maya)
    assert refused.value.messages == [LAST_ACTIVE]
    with pytest.raises(ValidationError):
        business_save(user=maya, business=only, active=False)
    other = business_save(user=maya, **HARBOR)
    business_set_active(business=only, active=False, user=maya)
    only.refresh_from_db()
    assert not only.active and other.active


def test_the_greeting_fills_in_the_receptionists_first_name_only():
    business = Business(greeting="Hi, this is {receptionist} {{at}} {receptionist!r} {other}")
    rita = receptionist_user(username="rita-g", first_name="Rita")
    assert business.greeting_for(rita) == "Hi, this is Rita {at} {receptionist!r} {other}"
    nameless = receptionist_user(username="sam", first_name="")
    assert Business(greeting="This is {receptionist}.").greeting_for(nameless) == "This is sam."


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        # 2026-03-08: clocks in New York go from EST (UTC-5) to EDT (UTC-4) at 2:00. It is a
        # Sunday; the next day, Monday 09:30 EDT is 13:30 UTC (it would be 14:30 in EST).
        (datetime(2026, 3, 9, 13, 30, tzinfo=UTC), True),
        (datetime(2026, 3, 9, 12, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 9, 20, 59, tzinfo=UTC), True),
        (datetime(2026, 3, 9, 21, 0, tzinfo=UTC), False),
        # The Friday before, in EST: 09:00 is 14:00 UTC.
        (datetime(2026, 3, 6, 13, 30, tzinfo=UTC), False),
        (datetime(2026, 3, 6, 14, 0, tzinfo=UTC), True),
        # Sunday the 8th, the change day itself: no hours.
        (datetime(2026, 3, 8, 15, 0, tzinfo=UTC), False),
    ],
)
def test_open_or_closed_is_on_the_business_own_clock_across_a_daylight_saving_change(
    maya, at, open_
):
    business = business_save(user=maya, hours=WEEKDAYS_9_TO_5, **HARBOR)
    assert business.is_open(at) is open_


def test_a_business_with_no_hours_is_neither_open_nor_closed(maya):
    assert business_save(user=maya, **HARBOR).is_open() is None


# --- the pages ------------------------------------------------------------------------------


def test_only_managers_see_the_businesses(reception_client, manager_client):
    assert reception_client.get("/businesses/").status_code == 403
    assert reception_client.get("/businesses/new/").status_code == 403
    business = Business.objects.default()
    assert reception_client.post(f"/businesses/{business.pk}/active/").status_code == 403
    assert manager_client.get("/businesses/").status_code == 200


def test_a_manager_adds_a_business_through_the_form(manager_client):
    response = manager_client.post(
        "/businesses/new/",
        {
            **HARBOR,
            "inbound_numbers": "(212) 555-0100\n212 555 0101",
            "hours_0": "09:00-12:30, 14:00-18:00",
            "hours_5": "10:00-24:00",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-name": "Dr Lee",
            "contacts-0-email": "lee@harbor.test",
        },
    )
    assert response.status_code == 302
    business = Business.objects.get(name="Harbor Vet")
    assert InboundNumber.objects.filter(business=business).count() == 2
    assert [str(h) for h in business.hours.all()] == [
        "Monday 09:00-12:30",
        "Monday 14:00-18:00",
        "Saturday 10:00-23:59",
    ]
    page = manager_client.get(f"/businesses/{business.pk}/edit/").content.decode()
    assert "09:00-12:30, 14:00-18:00" in page and "10:00-24:00" in page
    assert "(212) 555-0100" in page and "lee@harbor.test" in page


def test_a_refused_form_keeps_what_was_typed_and_says_why_on_the_field(manager_client):
    business_save(user=manager_user(), numbers=["212 555 0100"], **HARBOR)
    response = manager_client.post(
        "/businesses/new/",
        {
            "name": "<b>Bay</b> Dental",
            "greeting": "Bay Dental, {receptionist} speaking",
            "time_zone": "Europe/London",
            "inbound_numbers": "212 555 0100",
            "hours_1": "nine to five",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "“nine to five” is no time range" in page
    assert "&lt;b&gt;Bay&lt;/b&gt; Dental" in page
    assert "Bay Dental, {receptionist} speaking" in page
    assert not Business.objects.filter(name__contains="Bay").exists()


def test_the_business_list_costs_a_fixed_number_of_queries(manager_client):
    maya = manager_user()
    business_save(user=maya, numbers=["212 555 0100"], hours=WEEKDAYS_9_TO_5, **HARBOR)
    few = count_queries(manager_client, "/businesses/")
    for n in range(4):
        business_save(
            user=maya, name=f"B{n}", numbers=[f"212 555 02{n:02d}"], hours=WEEKDAYS_9_TO_5
        )
    assert count_queries(manager_client, "/businesses/") == few


def test_making_a_business_inactive_and_back(manager_client):
    other = business_save(user=manager_user(), **HARBOR)
    response = manager_client.post(f"/businesses/{other.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert not other.active
    manager_client.post(f"/businesses/{other.pk}/active/", {"active": "1"})
    other.refresh_from_db()
    assert other.active


def test_a_single_offices_calls_go_to_the_active_business(maya):
    first = Business.objects.default()
    other = business_save(user=maya, **HARBOR)
    assert Business.objects.default() == first
    business_set_active(business=first, active=False, user=maya)
    assert Business.objects.default() == other


# --- found by probing ---------------------------------------------------------------------


def test_a_manager_limited_to_one_business_manages_that_one_only(maya):
    from receptionist.models import StaffBusiness
    from tests.conftest import _client_for

    harbor = business_save(user=maya, **HARBOR)
    front = Business.objects.default()
    hal = manager_user(username="hal")
    StaffBusiness.objects.create(user=hal, business=harbor)
    client = _client_for(hal)
    page = client.get("/businesses/").content.decode()
    assert f'data-business="{harbor.pk}"' in page and f'data-business="{front.pk}"' not in page
    assert "Add a business" not in page
    assert client.get(f"/businesses/{front.pk}/edit/").status_code == 404
    assert client.post(f"/businesses/{front.pk}/active/", {"active": "0"}).status_code == 404
    assert client.get("/businesses/new/").status_code == 403
    assert client.get(f"/businesses/{harbor.pk}/edit/").status_code == 200
    front.refresh_from_db()
    assert front.active


def test_making_active_or_inactive_says_which(manager_client):
    business = Business.objects.default()
    assert manager_client.post(f"/businesses/{business.pk}/active/").status_code == 400
    response = manager_client.post(f"/businesses/{business.pk}/active/", {"active": "true"})
    assert response.status_code == 400
    business.refresh_from_db()
    assert business.active


@pytest.mark.parametrize(
    "greeting", ["hi {receptionist!r}", "{receptionist:>99}", "{receptionist:{receptionist}}"]
)
def test_a_greeting_fills_in_the_plain_name_only(maya, greeting):
    with pytest.raises(ValidationError) as refused:
        business_save(user=maya, **{**HARBOR, "greeting": greeting})
    assert "can fill in {receptionist} only" in refused.value.message_dict["greeting"][0]


def test_a_name_another_business_has_in_other_letters_is_refused(maya):
    business_save(user=maya, **HARBOR)
    with pytest.raises(ValidationError) as refused:
        business_save(user=maya, name="harbor VET")
    assert refused.value.message_dict["name"] == [
        "“Harbor Vet” is already a business: give this one another name."
    ]


def test_a_foreign_number_reads_back_as_it_was_saved(manager_client):
    business = business_save(user=manager_user(), numbers=["+44 20 7946 0958"], **HARBOR)
    page = manager_client.get(f"/businesses/{business.pk}/edit/")
    shown = page.context["form"].initial["inbound_numbers"]
    assert shown.startswith("+44")
    response = manager_client.post(
        f"/businesses/{business.pk}/edit/",
        {
            **HARBOR,
            "inbound_numbers": shown,
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert [n.number.as_e164 for n in business.inbound_numbers.all()] == ["+442079460958"]


def test_callers_of_two_businesses_are_not_merged(maya):
    from callers.services import caller_merge
    from tests.factories import CallerFactory

    harbor = business_save(user=maya, **HARBOR)
    ours = CallerFactory(name="Zelda")
    theirs = CallerFactory(name="Zelda", business=harbor)
    with pytest.raises(ValidationError) as refused:
        caller_merge(source=ours, target=theirs, user=maya)
    assert "two businesses" in refused.value.message_dict["into"][0]


def test_the_service_keeps_a_limited_manager_to_their_businesses(maya):
    from callers.services import ADD_IS_FOR_EVERY_BUSINESS, NOT_YOURS
    from receptionist.models import StaffBusiness

    harbor = business_save(user=maya, **HARBOR)
    front = Business.objects.default()
    hal = manager_user(username="hal-s")
    StaffBusiness.objects.create(user=hal, business=harbor)
    with pytest.raises(ValidationError) as refused:
        business_save(user=hal, name="Bay Dental")
    assert refused.value.message_dict["name"] == [ADD_IS_FOR_EVERY_BUSINESS]
    with pytest.raises(ValidationError) as refused:
        business_save(user=hal, business=front, greeting="Hi")
    assert refused.value.message_dict["name"] == [NOT_YOURS]
    with pytest.raises(ValidationError):
        business_set_active(business=front, active=False, user=hal)
    business_save(user=hal, business=harbor, greeting="Harbor Vet, {receptionist} here")
    front.refresh_from_db()
    assert front.active and front.greeting == ""


def test_the_database_holds_one_business_per_name_in_any_case(maya):
    from django.db import IntegrityError, transaction

    business_save(user=maya, **HARBOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        Business.objects.create(name="HARBOR VET")


def test_a_forged_count_of_contacts_deletes_none(manager_client):
    contacts = [{"name": "Dr Hale", "email": "hale@harbor.example", "phone": "", "role": ""}]
    business = business_save(user=manager_user(), contacts=contacts, **HARBOR)
    response = manager_client.post(
        f"/businesses/{business.pk}/edit/",
        {**HARBOR, "contacts-TOTAL_FORMS": "-1", "contacts-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 400
    assert "damaged" in response.content.decode()
    assert list(business.contacts.values_list("name", flat=True)) == ["Dr Hale"]


def test_a_business_form_says_every_refusal_at_once(manager_client):
    taken = business_save(user=manager_user(), name="Taken Vet", numbers=["(212) 555-8001"])
    response = manager_client.post(
        "/businesses/new/",
        {
            "name": "Harbor Vet",
            "greeting": "Thanks for calling {name}",
            "inbound_numbers": "(212) 555-8001",
            "time_zone": "America/New_York",
            "hours_0": "18:00-09:00",
            "hours_1": "nine to five",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-email": "dr@harbor.example",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    # The form's own (a day it cannot read) and business_save's (the greeting's unknown
    # field, a number another business has, hours that close before they open) together.
    assert {"hours_1", "greeting", "inbound_numbers", "hours_0"} <= set(errors), errors
    assert "Taken Vet" in " ".join(errors["inbound_numbers"])
    assert "This field is required." in response.content.decode()  # the contact's name
    assert not Business.objects.filter(name="Harbor Vet").exists()
    assert list(taken.inbound_numbers.values_list("number", flat=True)) == ["+12125558001"]


def test_at_most_fifty_contacts(manager_client):
    from callers.services import MOST_CONTACTS

    contacts = [{"name": f"c{i}", "email": "", "phone": "", "role": ""} for i in range(51)]
    with pytest.raises(ValidationError) as refused:
        business_save(user=manager_user(), contacts=contacts, **HARBOR)
    assert f"At most {MOST_CONTACTS}" in refused.value.message_dict["contacts"][0]
    business = business_save(user=manager_user(), **HARBOR)
    posted = {"contacts-TOTAL_FORMS": "60", "contacts-INITIAL_FORMS": "0"}
    posted |= {f"contacts-{i}-name": f"c{i}" for i in range(60)}
    response = manager_client.post(f"/businesses/{business.pk}/edit/", {**HARBOR, **posted})
    assert response.status_code == 400
    assert not business.contacts.exists()
