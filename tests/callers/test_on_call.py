"""On-call schedules: the weekly rotation and dated exceptions on a business's own clock
(daylight-saving changes included), the rules of on_call_save, the contacts kept through a
business's edit, who is on call now (a fixed number of queries), and the on-call page."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from callers.models import Business, BusinessContact, OnCallPlace, OnCallShift
from callers.oncall import coverage, on_call_now, on_call_of, read_shifts
from callers.services import business_save, on_call_save
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from tests.factories import UserFactory, manager_user, receptionist_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(*args) -> datetime:
    """A moment on New York's clock."""
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def maya(db):
    return manager_user(username="maya-oc")


@pytest.fixture
def harbor(maya):
    business = Business.objects.create(name="Harbor Vet", time_zone="America/New_York")
    for name, email in (("Dr Hale", "hale@harbor.test"), ("Dr Lee", "lee@harbor.test")):
        BusinessContact.objects.create(business=business, name=name, email=email)
    BusinessContact.objects.create(business=business, name="Owner", email="", role="Owner")
    return business


def people(business) -> dict[str, int]:
    return {contact.name: contact.pk for contact in business.contacts.all()}


def names(contacts) -> list[str]:
    return [contact.name for contact in contacts]


def weekly_rotation(business, **extra):
    """Weekdays 08:00-18:00 Dr Lee then the owner; every night 18:00-08:00 Dr Hale, then
    Dr Lee, then the owner; weekends (Saturday 08:00 to Monday 08:00) Dr Hale alone."""
    p = people(business)
    weekly = [
        {"weekday": d, "starts": time(8), "ends": time(18), "contacts": [p["Dr Lee"], p["Owner"]]}
        for d in range(5)
    ] + [
        {
            "weekday": d,
            "starts": time(18),
            "ends": time(8),
            "contacts": [p["Dr Hale"], p["Dr Lee"], p["Owner"]],
        }
        for d in range(5)
    ]
    weekly += [
        {"weekday": 5, "starts": time(8), "ends": time(8), "contacts": [p["Dr Hale"]]},
        {"weekday": 6, "starts": time(8), "ends": time(8), "contacts": [p["Dr Hale"]]},
    ]
    return {"weekly": weekly, **extra}


# --- who is on call ----------------------------------------------------------------------


def test_the_rotation_day_and_night_and_an_overnight_slot(maya, harbor):
    on_call_save(user=maya, business=harbor, today=date(2026, 3, 1), **weekly_rotation(harbor))
    # Tuesday March 3, 2026.
    assert names(on_call_now(harbor, at(2026, 3, 3, 10, 0))) == ["Dr Lee", "Owner"]
    assert names(on_call_now(harbor, at(2026, 3, 3, 17, 59))) == ["Dr Lee", "Owner"]
    assert names(on_call_now(harbor, at(2026, 3, 3, 18, 0))) == ["Dr Hale", "Dr Lee", "Owner"]
    # Past midnight, Monday's night slot still holds (into Tuesday 08:00)...
    assert names(on_call_now(harbor, at(2026, 3, 3, 7, 59))) == ["Dr Hale", "Dr Lee", "Owner"]
    # ...and Friday's night runs into Saturday 08:00, when the weekend's starts.
    assert names(on_call_now(harbor, at(2026, 3, 7, 7, 0))) == ["Dr Hale", "Dr Lee", "Owner"]
    assert names(on_call_now(harbor, at(2026, 3, 7, 9, 0))) == ["Dr Hale"]


def test_a_gap_is_nobody(maya, harbor):
    p = people(harbor)
    on_call_save(
        user=maya,
        business=harbor,
        weekly=[{"weekday": 1, "starts": time(9), "ends": time(17), "contacts": [p["Dr Lee"]]}],
    )
    assert on_call_now(harbor, at(2026, 3, 3, 12, 0))[0].name == "Dr Lee"
    found = on_call_of([harbor], at(2026, 3, 3, 17, 30))[harbor.pk]
    assert found.contacts == [] and found.shift is None and found.scheduled


def test_no_schedule_is_nobody_and_says_so(harbor):
    found = on_call_of([harbor], at(2026, 3, 3, 12, 0))[harbor.pk]
    assert found.contacts == [] and not found.scheduled


def test_an_exception_replaces_the_rotation_while_it_lasts(maya, harbor):
    p = people(harbor)
    on_call_save(
        user=maya,
        business=harbor,
        today=date(2026, 3, 1),
        exceptions=[
            {
                # A swap: Wednesday night is the owner's, then Dr Lee's.
                "starts_on": date(2026, 3, 4),
                "starts": time(18),
                "ends_on": date(2026, 3, 5),
                "ends": time(8),
                "contacts": [p["Owner"], p["Dr Lee"]],
                "note": "Dr Hale away",
            },
            {
                # A holiday afternoon with nobody on call.
                "starts_on": date(2026, 3, 6),
                "starts": time(12),
                "ends_on": date(2026, 3, 6),
                "ends": time(18),
                "contacts": [],
                "note": "Staff party",
            },
        ],
        **weekly_rotation(harbor),
    )
    assert names(on_call_now(harbor, at(2026, 3, 4, 23, 0))) == ["Owner", "Dr Lee"]
    assert names(on_call_now(harbor, at(2026, 3, 5, 8, 0))) == ["Dr Lee", "Owner"]  # over
    assert names(on_call_now(harbor, at(2026, 3, 3, 23, 0))) == ["Dr Hale", "Dr Lee", "Owner"]
    nobody = on_call_of([harbor], at(2026, 3, 6, 13, 0))[harbor.pk]
    assert nobody.contacts == [] and nobody.shift.note == "Staff party"


def test_the_rotation_across_the_spring_daylight_saving_change(maya, harbor):
    """New York moves its clocks from 2:00 to 3:00 on Sunday March 8, 2026: the weekend
    slot from Saturday 08:00 runs to Sunday 08:00 on the clock, 23 hours."""
    on_call_save(user=maya, business=harbor, today=date(2026, 3, 1), **weekly_rotation(harbor))
    saturday = on_call_of([harbor], at(2026, 3, 7, 9, 0))[harbor.pk].shift
    sunday_morning = datetime(2026, 3, 8, 11, 59, tzinfo=UTC)  # 07:59 EDT
    assert on_call_of([harbor], sunday_morning)[harbor.pk].shift == saturday
    after = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT: Sunday's slot
    assert on_call_of([harbor], after)[harbor.pk].shift.weekday == 6
    # In UTC the slot lasted 23 hours: 13:00 Saturday to 12:00 Sunday.
    assert on_call_of([harbor], datetime(2026, 3, 7, 12, 59, tzinfo=UTC))[harbor.pk].shift != (
        saturday
    )


def test_an_exception_across_the_autumn_change_lasts_25_hours(maya, harbor):
    """Clocks go back from 2:00 to 1:00 on Sunday November 1, 2026: an exception from
    Sunday 00:00 to Monday 00:00 holds 25 hours, and covers both 1:30s."""
    p = people(harbor)
    on_call_save(
        user=maya,
        business=harbor,
        today=date(2026, 10, 25),
        exceptions=[
            {
                "starts_on": date(2026, 11, 1),
                "starts": time(0),
                "ends_on": date(2026, 11, 2),
                "ends": time(0),
                "contacts": [p["Owner"]],
                "note": "",
            }
        ],
        **weekly_rotation(harbor),
    )
    start = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    end = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # 00:00 EST, 25 hours later
    assert names(on_call_now(harbor, start)) == ["Owner"]
    assert names(on_call_now(harbor, datetime(2026, 11, 1, 5, 30, tzinfo=UTC))) == ["Owner"]
    assert names(on_call_now(harbor, datetime(2026, 11, 1, 6, 30, tzinfo=UTC))) == ["Owner"]
    assert names(on_call_now(harbor, end - timedelta(minutes=1))) == ["Owner"]
    # Then the rotation again: Sunday's weekend slot, into Monday 08:00.
    assert names(on_call_now(harbor, end)) == ["Dr Hale"]
    days = coverage(
        harbor,
        read_shifts([harbor.pk], date(2026, 10, 31))[harbor.pk],
        first=date(2026, 11, 1),
        days=2,
    )
    sunday = days[0].stretches
    assert [(s.starts, s.ends, names(s.contacts)) for s in sunday] == [
        ("00:00", "24:00", ["Owner"])
    ]
    assert sunday[0].end - sunday[0].start == timedelta(hours=25)


def test_who_is_on_call_costs_two_queries_however_many_businesses(maya, harbor):
    on_call_save(user=maya, business=harbor, today=date(2026, 3, 1), **weekly_rotation(harbor))
    others = []
    for n in range(4):
        other = Business.objects.create(name=f"Other {n}")
        contact = BusinessContact.objects.create(business=other, name=f"Boss {n}")
        on_call_save(
            user=maya,
            business=other,
            weekly=[{"weekday": 1, "starts": time(0), "ends": time(0), "contacts": [contact.pk]}],
        )
        others.append(other)
    with CaptureQueriesContext(connection) as one:
        assert names(on_call_now(harbor, at(2026, 3, 3, 10, 0))) == ["Dr Lee", "Owner"]
    with CaptureQueriesContext(connection) as five:
        found = on_call_of([harbor, *others], at(2026, 3, 3, 10, 0))
    assert len(one.captured_queries) == len(five.captured_queries) == 2
    assert [names(found[o.pk].contacts) for o in others] == [[f"Boss {n}"] for n in range(4)]


def test_the_coverage_of_fourteen_days_marks_the_gaps(maya, harbor):
    p = people(harbor)
    on_call_save(
        user=maya,
        business=harbor,
        weekly=[{"weekday": 1, "starts": time(9), "ends": time(17), "contacts": [p["Dr Lee"]]}],
    )
    shifts = read_shifts([harbor.pk], date(2026, 3, 1))[harbor.pk]
    days = coverage(harbor, shifts, first=date(2026, 3, 2), days=14, now=at(2026, 3, 3, 10, 0))
    assert len(days) == 14
    tuesday = days[1]
    assert [(s.starts, s.ends, s.is_gap) for s in tuesday.stretches] == [
        ("00:00", "09:00", True),
        ("09:00", "17:00", False),
        ("17:00", "24:00", True),
    ]
    assert tuesday.stretches[1].now
    assert all(day.has_gap for day in days)
    # The spring change day (March 8) is 23 hours long, drawn 00:00 to 24:00 all the same.
    sunday = days[6]
    assert [(s.starts, s.ends) for s in sunday.stretches] == [("00:00", "24:00")]
    assert sunday.stretches[0].end - sunday.stretches[0].start == timedelta(hours=23)


# --- the rules ---------------------------------------------------------------------------


def refusals(**kwargs) -> dict:
    with pytest.raises(ValidationError) as refused:
        on_call_save(**kwargs)
    return refused.value.message_dict


def test_slots_of_the_rotation_do_not_overlap_even_across_the_week_end(maya, harbor):
    p = people(harbor)
    lee = [p["Dr Lee"]]
    errors = refusals(
        user=maya,
        business=harbor,
        weekly=[
            {"weekday": 0, "starts": time(8), "ends": time(18), "contacts": lee},
            {"weekday": 0, "starts": time(17), "ends": time(20), "contacts": lee},
        ],
    )
    assert errors == {"weekly_1": ["It overlaps another slot of the rotation."]}
    # Sunday night runs into Monday morning's slot.
    errors = refusals(
        user=maya,
        business=harbor,
        weekly=[
            {"weekday": 0, "starts": time(7), "ends": time(18), "contacts": lee},
            {"weekday": 6, "starts": time(20), "ends": time(8), "contacts": lee},
        ],
    )
    assert list(errors) == ["weekly_0"]
    assert not OnCallShift.objects.filter(business=harbor).exists()


def test_who_is_named_must_be_the_business_s_once_each_and_few(maya, harbor):
    p = people(harbor)
    stranger = BusinessContact.objects.create(
        business=Business.objects.create(name="Elsewhere"), name="Stranger"
    )
    errors = refusals(
        user=maya,
        business=harbor,
        weekly=[
            {"weekday": 0, "starts": time(8), "ends": time(9), "contacts": [stranger.pk]},
            {"weekday": 1, "starts": time(8), "ends": time(9), "contacts": [p["Dr Lee"]] * 2},
            {"weekday": 2, "starts": time(8), "ends": time(9), "contacts": []},
            {"weekday": 3, "starts": time(8), "ends": time(9), "contacts": list(p.values()) * 2},
            {"weekday": 9, "starts": time(8), "ends": "nine", "contacts": [p["Dr Lee"]]},
        ],
    )
    assert errors["weekly_0"] == ["That contact is not one of this business's: pick from the list."]
    assert errors["weekly_1"] == ["Dr Lee is named twice: once is enough."]
    assert errors["weekly_2"] == ["Pick who is on call first (then the backups, in order)."]
    assert "At most 4 people a shift." in errors["weekly_3"]
    assert errors["weekly_4"][:2] == [
        "Pick a day of the week.",
        "Give the time it starts and the time it ends (24-hour clock).",
    ]


def test_exceptions_end_after_they_start_within_a_month_and_this_century(maya, harbor):
    lee = [people(harbor)["Dr Lee"]]
    today = date(2026, 3, 1)

    def exception(starts_on, starts, ends_on, ends, note=""):
        return {
            "starts_on": starts_on,
            "starts": starts,
            "ends_on": ends_on,
            "ends": ends,
            "contacts": lee,
            "note": note,
        }

    errors = refusals(
        user=maya,
        business=harbor,
        today=today,
        exceptions=[
            exception(date(2026, 3, 5), time(18), date(2026, 3, 5), time(8)),
            exception(date(2026, 3, 5), time(18), date(2026, 5, 5), time(8)),
            exception(date(2026, 2, 1), time(18), date(2026, 2, 2), time(8)),
            exception(date(9999, 3, 5), time(18), date(9999, 3, 6), time(8)),
            exception(date(2026, 3, 9), time(8), date(2026, 3, 9), time(9), "Line\nbreak\x00"),
        ],
    )
    assert errors["exceptions_0"] == ["It must end after it starts."]
    assert errors["exceptions_1"] == ["At most 31 days: split a longer one in two."]
    assert errors["exceptions_2"] == ["It is over already: leave it out."]
    assert errors["exceptions_3"] == ["Pick a date between 2000 and 2099."]
    assert "no line breaks or control characters" in errors["exceptions_4"][0]
    errors = refusals(
        user=maya,
        business=harbor,
        today=today,
        exceptions=[
            exception(date(2026, 3, 5), time(18), date(2026, 3, 6), time(8)),
            exception(date(2026, 3, 6), time(7), date(2026, 3, 6), time(9)),
        ],
    )
    assert errors == {"exceptions_1": ["It overlaps another exception."]}


def test_only_managers_of_the_business_keep_its_schedule(harbor):
    with pytest.raises(PermissionDenied):
        on_call_save(user=receptionist_user(username="rita-oc"), business=harbor, weekly=[])
    elsewhere = Business.objects.create(name="Elsewhere")
    limited = manager_user(username="mo-oc")
    StaffBusiness.objects.create(user=limited, business=elsewhere)
    with pytest.raises(PermissionDenied):
        on_call_save(user=limited, business=harbor, weekly=[])


def test_the_confirmation_minutes_are_from_one_to_a_day(maya, harbor):
    errors = refusals(
        user=maya, business=harbor, confirm_minutes_emergency=0, confirm_minutes_high=1441
    )
    assert errors == {
        "confirm_minutes_emergency": ["At least one minute."],
        "confirm_minutes_high": ["At most a day (1,440 minutes)."],
    }
    on_call_save(user=maya, business=harbor, always_confirm=True, confirm_minutes_emergency=5)
    harbor.refresh_from_db()
    assert harbor.always_confirm and harbor.confirm_minutes_emergency == 5
    assert harbor.confirm_minutes_high == 30


def test_editing_the_business_keeps_its_contacts_on_call(maya, harbor):
    on_call_save(user=maya, business=harbor, today=date(2026, 3, 1), **weekly_rotation(harbor))
    p = people(harbor)
    lee = BusinessContact.objects.get(pk=p["Dr Lee"])
    # The form sends each contact with its id: Dr Lee renamed stays the same contact; the
    # owner, left out, goes, and with them their places on call.
    business_save(
        user=maya,
        business=harbor,
        contacts=[
            {
                "id": p["Dr Hale"],
                "name": "Dr Hale",
                "email": "hale@harbor.test",
                "phone": "",
                "role": "",
            },
            {
                "id": lee.pk,
                "name": "Dr Lee-Smith",
                "email": "lee@harbor.test",
                "phone": "",
                "role": "",
            },
            {"name": "Nurse Kim", "email": "kim@harbor.test", "phone": "", "role": "Nurse"},
        ],
    )
    assert people(harbor) == {
        "Dr Hale": p["Dr Hale"],
        "Dr Lee-Smith": lee.pk,
        "Nurse Kim": people(harbor)["Nurse Kim"],
    }
    assert names(on_call_now(harbor, at(2026, 3, 3, 23, 0))) == ["Dr Hale", "Dr Lee-Smith"]
    assert not OnCallPlace.objects.filter(contact_id=p["Owner"]).exists()
    # Without ids (the API, say), a contact is kept by its name.
    business_save(
        user=maya,
        business=harbor,
        contacts=[{"name": "dr hale", "email": "h@harbor.test", "phone": "", "role": ""}],
    )
    assert people(harbor) == {"dr hale": p["Dr Hale"]}


# --- the page ----------------------------------------------------------------------------


@pytest.fixture
def world(maya, harbor):
    elsewhere = Business.objects.create(name="Elsewhere")
    limited = manager_user(username="mo-page")
    StaffBusiness.objects.create(user=limited, business=elsewhere)
    clara = UserFactory(username="clara-oc", role=CLIENTS)
    StaffBusiness.objects.create(user=clara, business=harbor)
    return {
        "maya": maya,
        "harbor": harbor,
        "limited": limited,
        "clara": clara,
        "rita": receptionist_user(username="rita-page"),
    }


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_page_is_the_managers_of_the_business(client, world):
    url = f"/businesses/{world['harbor'].pk}/on-call/"
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.post(url).status_code == 302
    for who, status in (("rita", 403), ("clara", 403), ("limited", 404), ("maya", 200)):
        assert _client(world[who]).get(url).status_code == status, who
    for who, status in (("rita", 403), ("clara", 403), ("limited", 404)):
        assert _client(world[who]).post(url, {}).status_code == status, who
    assert _client(world["maya"]).get("/businesses/999999/on-call/").status_code == 404


def form_data(harbor, weekly=(), exceptions=(), **confirming) -> dict:
    data = {
        "weekly-TOTAL_FORMS": str(len(weekly)),
        "weekly-INITIAL_FORMS": "0",
        "exceptions-TOTAL_FORMS": str(len(exceptions)),
        "exceptions-INITIAL_FORMS": "0",
        "confirm_minutes_emergency": "10",
        "confirm_minutes_high": "30",
        **confirming,
    }
    for prefix, rows in (("weekly", weekly), ("exceptions", exceptions)):
        for n, row in enumerate(rows):
            data.update({f"{prefix}-{n}-{name}": value for name, value in row.items()})
    return data


def test_the_page_shows_fourteen_days_with_the_gaps_in_red_and_saves(world):
    harbor, client = world["harbor"], _client(world["maya"])
    p = people(harbor)
    url = f"/businesses/{harbor.pk}/on-call/"
    response = client.post(
        url,
        form_data(
            harbor,
            weekly=[
                {
                    "weekday": "0",
                    "starts": "00:00",
                    "ends": "00:00",
                    "first": p["Dr Hale"],
                    "second": p["Owner"],
                },
                {"weekday": "1", "starts": "08:00", "ends": "18:00", "first": p["Dr Lee"]},
            ],
            always_confirm="on",
        ),
    )
    assert response.status_code == 302 and response.url == url
    page = client.get(url).content.decode()
    assert page.count("data-day=") == 14
    assert "1. Dr Hale · 2. Owner" in page
    assert "data-gap" in page and "Nobody on call" in page and "text-bg-danger" in page
    harbor.refresh_from_db()
    assert harbor.always_confirm
    # The form shows the rotation as saved, in order.
    assert f'<option value="{p["Dr Hale"]}" selected>' in page


def test_the_page_costs_a_fixed_number_of_queries(world):
    harbor, client = world["harbor"], _client(world["maya"])
    url = f"/businesses/{harbor.pk}/on-call/"
    few = count_queries(client, url)
    on_call_save(
        user=world["maya"], business=harbor, today=date(2026, 3, 1), **weekly_rotation(harbor)
    )
    assert count_queries(client, url) == few + 1  # the places, once there are shifts
    for n in range(5):
        BusinessContact.objects.create(business=harbor, name=f"Extra {n}")
    assert count_queries(client, url) == few + 1


def test_what_cannot_be_saved_is_said_on_its_row_and_nothing_is_lost(world):
    harbor, client = world["harbor"], _client(world["maya"])
    p = people(harbor)
    url = f"/businesses/{harbor.pk}/on-call/"
    response = client.post(
        url,
        form_data(
            harbor,
            weekly=[
                {"weekday": "0", "starts": "08:00", "ends": "18:00", "first": p["Dr Lee"]},
                {"weekday": "0", "starts": "17:00", "ends": "19:00", "first": p["Dr Hale"]},
            ],
            exceptions=[
                {
                    "starts_on": "9999-12-30",
                    "starts": "18:00",
                    "ends_on": "9999-12-31",
                    "ends": "08:00",
                    "first": p["Dr Lee"],
                    "note": "<script>alert(1)</script>",
                },
                {
                    "starts_on": "2026-13-45",
                    "starts": "25:99",
                    "ends_on": "\x00",
                    "ends": "x",
                    "first": "999999",
                    "note": "nul\x00",
                },
            ],
            confirm_minutes_emergency="99999999999999999999",
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "A date, e.g. 2026-12-24." in page
    assert "A time on the 24-hour clock, e.g. 18:00." in page
    assert "Pick one of the business&#39;s contacts." in page
    assert "Null characters are not allowed." in page
    assert not OnCallShift.objects.filter(business=harbor).exists()
    # With the rows' own errors mended, the service's refusals come on their rows.
    response = client.post(
        url,
        form_data(
            harbor,
            weekly=[
                {"weekday": "0", "starts": "08:00", "ends": "18:00", "first": p["Dr Lee"]},
                {"weekday": "0", "starts": "17:00", "ends": "19:00", "first": p["Dr Hale"]},
            ],
            exceptions=[
                {
                    "starts_on": "9999-12-30",
                    "starts": "18:00",
                    "ends_on": "9999-12-31",
                    "ends": "08:00",
                    "first": p["Dr Lee"],
                }
            ],
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "It overlaps another slot of the rotation." in page
    assert "Pick a date between 2000 and 2099." in page
    assert 'value="17:00"' in page  # what was typed stays
    assert not OnCallShift.objects.filter(business=harbor).exists()


def test_a_forged_count_of_rows_is_a_message(world):
    harbor, client = world["harbor"], _client(world["maya"])
    data = form_data(harbor)
    data["weekly-TOTAL_FORMS"] = "-1"
    response = client.post(f"/businesses/{harbor.pk}/on-call/", data)
    assert response.status_code == 400
    assert "This part of the form was damaged" in response.content.decode()
    data = form_data(harbor)
    del data["exceptions-TOTAL_FORMS"]
    response = client.post(f"/businesses/{harbor.pk}/on-call/", data)
    assert response.status_code == 400


def test_the_call_form_shows_who_is_on_call_now(world, reception_client):
    harbor = world["harbor"]
    p = people(harbor)
    on_call_save(
        user=world["maya"],
        business=harbor,
        weekly=[
            {
                "weekday": d,
                "starts": time(0),
                "ends": time(0),
                "contacts": [p["Dr Lee"], p["Owner"]],
            }
            for d in range(7)
        ],
    )
    page = reception_client.get("/calls/new/").content.decode()
    assert "On call now:" in page and "Dr Lee" in page and ", then Owner" in page
    # An exception naming nobody, around now: a gap, said in red.
    today = harbor.local_time().date()
    on_call_save(
        user=world["maya"],
        business=harbor,
        exceptions=[
            {
                "starts_on": today - timedelta(days=1),
                "starts": time(0),
                "ends_on": today + timedelta(days=1),
                "ends": time(0),
                "contacts": [],
                "note": "Closed for the move",
            }
        ],
    )
    page = reception_client.get("/calls/new/").content.decode()
    assert "Nobody on call now:" in page and "data-on-call-gap" in page


def test_a_refused_save_keeps_the_rows_ticked_for_removal(world):
    """Remove ticked on a saved row, and another row refused: the page comes back with the
    box still there and still ticked (it was lost, and the row then stayed on the next
    save), and a summary saying it was not saved."""
    harbor, client = world["harbor"], _client(world["maya"])
    p = people(harbor)
    data = form_data(
        harbor,
        weekly=[
            {"weekday": "0", "starts": "18:00", "ends": "08:00", "first": p["Dr Hale"]},
            {"weekday": "1", "starts": "09:00", "ends": "10:00", "first": p["Dr Lee"]},
            {"weekday": "1", "starts": "09:30", "ends": "11:00", "first": p["Dr Lee"]},
        ],
    )
    data.update({"weekly-INITIAL_FORMS": "1", "weekly-0-DELETE": "on"})
    response = client.post(f"/businesses/{harbor.pk}/on-call/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'name="weekly-0-DELETE" id="id_weekly-0-DELETE" checked' in page
    assert 'name="weekly-1-DELETE"' not in page  # a new row has nothing to remove
    assert "data-form-errors" in page and "Not saved" in page


def test_the_page_says_when_the_people_on_call_get_no_message_text(world):
    harbor, client = world["harbor"], _client(world["maya"])
    url = f"/businesses/{harbor.pk}/on-call/"
    harbor.message_text_in_email = False
    harbor.save()
    assert "data-no-text-in-email" in client.get(url).content.decode()
    harbor.message_text_in_email = True
    harbor.save()
    assert "data-no-text-in-email" not in client.get(url).content.decode()


def full_form(harbor) -> dict:
    """The on-call form at its limits, every field sent as the page sends it: 50 weekly
    slots and 100 exceptions, none ticked for removal."""
    p = people(harbor)
    named = {"first": p["Dr Hale"], "second": p["Dr Lee"], "third": p["Owner"], "fourth": ""}
    weekly = [
        {
            "weekday": str(n % 7),
            "starts": f"{2 * (n // 7):02d}:00",
            "ends": f"{2 * (n // 7):02d}:30",
            **named,
            "DELETE": "",
        }
        for n in range(50)
    ]
    exceptions = [
        {
            "starts_on": (date(2090, 1, 1) + timedelta(days=n)).isoformat(),
            "starts": "10:00",
            "ends_on": (date(2090, 1, 1) + timedelta(days=n)).isoformat(),
            "ends": "11:00",
            "note": f"Swap {n}",
            **named,
            "DELETE": "",
        }
        for n in range(100)
    ]
    data = form_data(harbor, weekly=weekly, exceptions=exceptions, always_confirm="")
    for prefix in ("weekly", "exceptions"):
        data.update({f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    return data


def test_the_schedule_at_its_limits_is_saved(world):
    harbor, client = world["harbor"], _client(world["maya"])
    data = full_form(harbor)
    assert len(data) == 1411  # and the CSRF token: Django's 1,000 refused it whole
    response = client.post(f"/businesses/{harbor.pk}/on-call/", data)
    assert response.status_code == 302
    shifts = OnCallShift.objects.filter(business=harbor)
    assert shifts.filter(weekday__isnull=False).count() == 50
    assert shifts.filter(weekday__isnull=True).count() == 100
    assert OnCallPlace.objects.filter(shift__business=harbor).count() == 150 * 3


def test_the_largest_form_is_within_the_fields_a_request_may_send(settings):
    from callers.forms import ConfirmingForm, ExceptionFormSet, WeeklyFormSet

    fields = 1 + len(ConfirmingForm.base_fields)  # and the CSRF token
    for formset in (WeeklyFormSet(prefix="weekly"), ExceptionFormSet(prefix="exceptions")):
        rows = formset.max_num * len(formset.empty_form.fields)
        fields += rows + len(formset.management_form.fields)
    assert fields == 1412
    assert fields <= settings.DATA_UPLOAD_MAX_NUMBER_FIELDS


def test_exceptions_alone_are_a_schedule_only_while_one_holds(maya, harbor):
    p = people(harbor)
    on_call_save(
        user=maya,
        business=harbor,
        today=date(2026, 3, 1),
        exceptions=[
            {
                "starts_on": date(2026, 3, 4),
                "starts": time(18),
                "ends_on": date(2026, 3, 5),
                "ends": time(8),
                "contacts": [p["Dr Lee"]],
            },
            {
                # Nobody on call over a holiday: a gap, said so.
                "starts_on": date(2026, 3, 6),
                "starts": time(0),
                "ends_on": date(2026, 3, 7),
                "ends": time(0),
                "contacts": [],
            },
        ],
    )
    before = on_call_of([harbor], at(2026, 3, 4, 12, 0))[harbor.pk]
    assert before.contacts == [] and not before.scheduled  # its contacts, by name
    during = on_call_of([harbor], at(2026, 3, 4, 20, 0))[harbor.pk]
    assert names(during.contacts) == ["Dr Lee"] and during.scheduled
    holiday = on_call_of([harbor], at(2026, 3, 6, 12, 0))[harbor.pk]
    assert holiday.contacts == [] and holiday.scheduled
    after = on_call_of([harbor], at(2026, 3, 7, 12, 0))[harbor.pk]
    assert not after.scheduled


def test_a_business_without_a_rotation_shows_no_gap_where_its_contacts_are_told(world):
    """Outside its exceptions, a business with no weekly rotation has its urgent messages
    sent to its contacts in turn (OnCall.scheduled): the page says so, not "nobody on
    call" in red. An exception naming nobody is a gap all the same, and with no contacts
    at all every moment is one (a message would go straight to the managers)."""
    harbor, maya = world["harbor"], world["maya"]
    p = people(harbor)
    today = harbor.local_time(datetime.now(UTC)).date()
    client = _client(maya)
    url = f"/businesses/{harbor.pk}/on-call/"
    page = client.get(url).content.decode()
    assert "data-gap" not in page and "data-gaps" not in page
    assert page.count("data-unscheduled") == 14
    assert "No schedule: its contacts in turn (1. Dr Hale" in page
    assert "With no schedule at all" in page
    on_call_save(
        user=maya,
        business=harbor,
        today=today,
        exceptions=[
            {
                "starts_on": today + timedelta(days=3),
                "starts": time(0),
                "ends_on": today + timedelta(days=4),
                "ends": time(0),
                "contacts": [],
            },
            {
                "starts_on": today + timedelta(days=5),
                "starts": time(0),
                "ends_on": today + timedelta(days=6),
                "ends": time(0),
                "contacts": [p["Dr Lee"]],
            },
        ],
    )
    page = client.get(url).content.decode()
    assert page.count("data-gap ") + page.count("data-gap>") == 1  # the holiday only
    assert "Nobody is on call at times on 1 of these days" in page
    assert "Without a weekly rotation, outside its exceptions" in page
    days = coverage(
        harbor,
        read_shifts([harbor.pk], today)[harbor.pk],
        first=today,
        days=14,
        has_contacts=False,
    )
    # Every day but the one Dr Lee holds all day.
    assert [day.has_gap for day in days] == [n != 5 for n in range(14)]


def test_who_is_on_call_as_pages_show_it_is_kept_for_the_minute(
    maya, harbor, monkeypatch, settings
):
    """callers.oncall_shown: the answer is worked out once a minute when every shift starts
    and ends on a whole minute; it is right on both sides of a shift's start; a shift with
    seconds (a time typed as 08:00:30) turns the keeping off."""
    from callers import oncall_shown

    settings.BUSINESSES_SECONDS = 60
    p = people(harbor)
    on_call_save(
        user=maya,
        business=harbor,
        weekly=[{"weekday": 1, "starts": time(9), "ends": time(17), "contacts": [p["Dr Lee"]]}],
    )
    oncall_shown.forget_on_call()
    worked = []
    real = oncall_shown.on_call_of
    monkeypatch.setattr(
        oncall_shown, "on_call_of", lambda *a, **k: worked.append(a[1]) or real(*a, **k)
    )
    before = at(2026, 3, 3, 8, 59, 1)  # a Tuesday, in New York
    assert oncall_shown.on_call_shown([harbor], before)[harbor.pk].contacts == []
    later_that_minute = at(2026, 3, 3, 8, 59, 59)
    assert oncall_shown.on_call_shown([harbor], later_that_minute)[harbor.pk].contacts == []
    assert worked == [before]
    nine = at(2026, 3, 3, 9, 0, 0)
    assert names(oncall_shown.on_call_shown([harbor], nine)[harbor.pk].contacts) == ["Dr Lee"]
    assert worked == [before, nine]
    on_call_save(
        user=maya,
        business=harbor,
        weekly=[
            {"weekday": 1, "starts": time(9, 0, 30), "ends": time(17), "contacts": [p["Dr Lee"]]}
        ],
    )
    oncall_shown.forget_on_call()
    assert oncall_shown.on_call_shown([harbor], nine)[harbor.pk].contacts == []
    half_past = at(2026, 3, 3, 9, 0, 30)
    assert names(oncall_shown.on_call_shown([harbor], half_past)[harbor.pk].contacts) == ["Dr Lee"]


def test_a_business_without_contacts_or_schedule_says_its_messages_go_to_the_managers(world):
    bare = Business.objects.create(name="Bare Office", time_zone="America/New_York")
    page = _client(world["maya"]).get(f"/businesses/{bare.pk}/on-call/").content.decode()
    assert "urgent messages go to the managers straight away" in page
    assert (
        "data-unscheduled" not in page and page.count("data-gap ") + page.count("data-gap>") == 14
    )
