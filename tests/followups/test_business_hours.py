"""Callbacks "within business hours": the minutes of a promise run only while the business
is open (its opening hours, less its closed days), on its own clock; the sentence said on
the phone, the at-risk view, the counts and the reminders all go by that clock."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from callers.clock import open_clock
from callers.models import Business, ClosedDay, Hours
from callers.services import business_save
from calls.services import call_log
from followups.models import AttemptResult, Callback, CallbackPolicy, PromiseKeeping
from followups.services import (
    callback_attempt,
    callback_claim,
    callback_due_at,
    callbacks_sweep,
    policy_save,
    promise_words,
)
from tests.factories import CallbackFactory, manager_user, receptionist_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
WEEKDAYS_9_TO_6 = [(day, time(9), time(18)) for day in range(5)]


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        at = ny(2026, 3, 6, 17, 50)  # a Friday, ten minutes before closing

    monkeypatch.setattr(timezone, "now", lambda: Clock.at)
    return Clock


@pytest.fixture
def maya(db):
    return manager_user(username="maya-bh", email="maya@front.test")


@pytest.fixture
def harbor(maya, clock):
    """Harbor Vet, New York, open 9 to 6 on weekdays, closed on Thursday March 12, 2026;
    its urgent high-urgency callbacks are due within 30 minutes of open time."""
    business = business_save(
        user=maya,
        name="Harbor Vet",
        time_zone="America/New_York",
        hours=WEEKDAYS_9_TO_6,
        closed_days=[(date(2026, 3, 12), "Staff training")],
    )
    policy_save(
        user=maya,
        business=business,
        minutes={("urgent", "high"): 30},
        within_business_hours=True,
    )
    return business


def test_the_clock_counts_open_time_only():
    clock = open_clock(
        NEW_YORK,
        [Hours(day, opens, closes) for day, opens, closes in WEEKDAYS_9_TO_6],
        [date(2026, 3, 12)],
    )
    # Friday 5:50 pm, 30 minutes: 10 on Friday, 20 on Monday morning.
    assert clock.after(ny(2026, 3, 6, 17, 50), 30) == ny(2026, 3, 9, 9, 20)
    # Wednesday 5:50 pm, with Thursday a holiday: Friday 9:20.
    assert clock.after(ny(2026, 3, 11, 17, 50), 30) == ny(2026, 3, 13, 9, 20)
    # Before opening, from the opening; within the day, plain minutes.
    assert clock.after(ny(2026, 3, 9, 6, 0), 30) == ny(2026, 3, 9, 9, 30)
    assert clock.after(ny(2026, 3, 9, 10, 0), 30) == ny(2026, 3, 9, 10, 30)
    # Backwards: 30 open minutes before Monday 9:20 are Friday 5:50 pm.
    assert clock.before(ny(2026, 3, 9, 9, 20), 30) == ny(2026, 3, 6, 17, 50)
    assert clock.before(ny(2026, 3, 13, 9, 20), 30) == ny(2026, 3, 11, 17, 50)
    # Across the spring change (Sunday March 8): Monday's 9:00 is on summer time.
    monday_open = clock.after(ny(2026, 3, 6, 18, 0), 0)
    assert monday_open == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)


def test_a_clock_without_hours_is_none_and_a_closed_year_never_opens():
    assert open_clock(NEW_YORK, [], []) is None
    sunday_only = open_clock(NEW_YORK, [Hours(6, time(9), time(10))], [])
    assert sunday_only.after(ny(2026, 3, 9, 9, 0), 60) == ny(2026, 3, 15, 10, 0)
    shut = open_clock(
        NEW_YORK,
        [Hours(6, time(9), time(10))],
        [date(2026, 3, 15) + timedelta(weeks=n) for n in range(60)],
    )
    assert shut.after(ny(2026, 3, 9, 9, 0), 60) is None


def test_a_promise_at_5_50_pm_on_friday_is_due_monday_at_9_20(harbor, clock):
    now = clock.at
    due = callback_due_at(business_id=harbor.pk, nature="urgent", urgency="high", now=now)
    assert due == ny(2026, 3, 9, 9, 20)
    assert promise_words(due, now, harbor.zone) == "We'll call you back on Monday by 9:20 am."


def test_before_a_holiday_the_promise_skips_it(harbor, clock):
    now = clock.at = ny(2026, 3, 11, 17, 50)  # Wednesday; Thursday is closed
    due = callback_due_at(business_id=harbor.pk, nature="urgent", urgency="high", now=now)
    assert due == ny(2026, 3, 13, 9, 20)
    assert promise_words(due, now, harbor.zone) == "We'll call you back on Friday by 9:20 am."
    now = clock.at = ny(2026, 3, 10, 17, 50)  # Tuesday: tomorrow
    due = callback_due_at(business_id=harbor.pk, nature="urgent", urgency="high", now=now)
    assert promise_words(due, now, harbor.zone) == "We'll call you back tomorrow by 9:20 am."


def test_any_hour_unless_the_policy_says_so(harbor, clock, maya):
    policy_save(user=maya, business=harbor, minutes={}, within_business_hours=False)
    due = callback_due_at(business_id=harbor.pk, nature="urgent", urgency="high", now=clock.at)
    assert due == ny(2026, 3, 6, 18, 20)
    # Within business hours, but with no hours set: any hour too.
    plain = business_save(user=maya, name="No Hours", time_zone="America/New_York")
    PromiseKeeping.objects.create(business=plain, within_business_hours=True)
    due = callback_due_at(business_id=plain.pk, nature="urgent", urgency="high", now=clock.at)
    assert due == ny(2026, 3, 6, 18, 5)  # the default 15 minutes


def log_callback(business, user):
    return call_log(
        user=user,
        business=business,
        caller_name="Ann Lee",
        phone="+12125550147",
        nature="urgent",
        urgency="high",
        summary="Wants a call back",
        outcome="callback_scheduled",
        callback=True,
        started_at=timezone.now() - timedelta(minutes=2),
    )


def test_the_callback_the_call_form_makes_says_the_right_day(harbor, clock):
    call = log_callback(harbor, receptionist_user(username="rita-bh"))
    callback = Callback.objects.get(call=call)
    assert callback.due_at == ny(2026, 3, 9, 9, 20)
    assert callback.promise == "We'll call you back on Monday by 9:20 am."
    # At risk when 30 minutes of open time are left: now already.
    assert callback.at_risk_at == ny(2026, 3, 6, 17, 50)
    assert callback.remind_at == ny(2026, 3, 9, 9, 5)  # 15 open minutes before


def test_the_at_risk_view_and_the_counts_go_by_the_business_clock(harbor, clock):
    from django.test import Client

    rita = receptionist_user(username="rita-bh2")
    call = log_callback(harbor, rita)
    kept = Callback.objects.get(call=call)
    # A callback of another business due at the same moment, on the plain clock.
    plain = CallbackFactory(due_at=kept.due_at)
    at_risk = Callback.objects.at_risk(clock.at)
    assert list(at_risk) == [kept]
    assert Callback.objects.queue_counts(rita, clock.at)["at_risk"] == 1
    # Saturday: still at risk (nothing of the 30 minutes has run).
    clock.at = ny(2026, 3, 7, 12, 0)
    assert list(Callback.objects.at_risk(clock.at)) == [kept]
    reception_client = Client()
    reception_client.force_login(rita)
    page = reception_client.get("/callbacks/?view=at_risk").content.decode()
    assert f"/callbacks/{kept.pk}/" in page
    assert f"/callbacks/{plain.pk}/" not in page
    # Monday 8:55: both at risk, the plain one by its own clock (due in 25 minutes).
    clock.at = ny(2026, 3, 9, 8, 55)
    assert set(Callback.objects.at_risk(clock.at)) == {kept, plain}
    assert Callback.objects.queue_counts(rita, clock.at)["at_risk"] == 2


def test_the_reminders_go_by_the_business_clock(harbor, clock, settings, maya):
    settings.CALLBACK_REMIND_MINUTES = 25
    rita = receptionist_user(username="rita-bh3", email="rita@front.test")
    callback = Callback.objects.get(call=log_callback(harbor, rita))
    # 25 open minutes before Monday 9:20: Friday 5:55 pm.
    assert callback.remind_at == ny(2026, 3, 6, 17, 55)
    assert callbacks_sweep(now=ny(2026, 3, 6, 17, 54))["due"] == 0
    assert callbacks_sweep(now=ny(2026, 3, 6, 17, 55))["due"] == 1
    assert callbacks_sweep(now=ny(2026, 3, 7, 9, 0))["due"] == 0  # once
    # Rescheduled after no answer: its moments are worked out again on the same clock.
    clock.at = ny(2026, 3, 9, 9, 10)
    callback = callback_claim(callback_id=callback.pk, user=rita)
    callback_attempt(
        callback_id=callback.pk,
        user=rita,
        expected_version=callback.version,
        result=AttemptResult.NO_ANSWER,
        next_due_at=ny(2026, 3, 11, 9, 10),  # Wednesday
    )
    callback.refresh_from_db()
    assert callback.due_reminded_at is None
    assert callback.remind_at == ny(2026, 3, 10, 17, 45)  # 15 on Tuesday, 10 on Wednesday
    assert callback.at_risk_at == ny(2026, 3, 10, 17, 40)
    del mail.outbox[:]


def test_the_policy_page_saves_within_business_hours(harbor, maya):
    from django.test import Client

    client = Client()
    client.force_login(maya)
    url = f"/callbacks/policy/{harbor.pk}/"
    page = client.get(url).content.decode()
    assert 'name="within_business_hours"' in page and "checked" in page
    assert client.post(url, {"urgent_high": "30"}).status_code == 302
    assert PromiseKeeping.objects.of(harbor.pk) == ("team", False)
    assert client.post(url, {"urgent_high": "30", "within_business_hours": "on"}).status_code == 302
    assert PromiseKeeping.objects.of(harbor.pk) == ("team", True)
    assert count_queries(client, url) == 4
    assert CallbackPolicy.objects.get(business=harbor).due_within_minutes == 30


def test_the_call_form_s_preview_says_the_business_hours_promise(harbor, clock, reception_client):
    response = reception_client.get(
        "/callbacks/promise/",
        {"nature": "urgent", "urgency": "high", "callback": "on", "business": harbor.pk},
    )
    text = response.content.decode()
    assert "We&#x27;ll call you back on Monday by 9:20 am." in text
    assert "is closed then" not in text


def test_closed_days_are_typed_on_the_business_form_and_close_it(harbor, maya):
    from django.test import Client

    client = Client()
    client.force_login(maya)
    url = f"/businesses/{harbor.pk}/edit/"
    page = client.get(url).content.decode()
    assert "2026-03-12 Staff training" in page
    data = {
        "name": "Harbor Vet",
        "time_zone": "America/New_York",
        "hours_0": "09:00-18:00",
        "closed_days": "2026-12-25 Christmas Day\n2026-12-26\nnot a day <b>",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    text = response.content.decode()
    assert (
        "“not a day &lt;b&gt;” is no day" in text and "<b>" not in text.split("not a day")[1][:20]
    )
    data["closed_days"] = "2026-12-25 Christmas Day\n2026-12-26\n1999-01-01 Too old"
    response = client.post(url, data)
    assert response.status_code == 400 and "Pick a date between 2000 and 2099." in (
        response.content.decode()
    )
    data["closed_days"] = "2026-12-25 Christmas Day\n2026-12-26"
    assert client.post(url, data).status_code == 302
    assert list(ClosedDay.objects.filter(business=harbor).values_list("day", "name")) == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), ""),
    ]
    harbor = Business.objects.get(pk=harbor.pk)
    assert harbor.is_open(ny(2026, 12, 25, 10, 0)) is False
    assert harbor.is_open(ny(2026, 12, 28, 10, 0)) is True


# --- long policies within few hours: bounded ---------------------------------------------


def thirty_days_within(maya, hours, name="Few Hours"):
    business = business_save(user=maya, name=name, time_zone="America/New_York", hours=hours)
    policy_save(
        user=maya,
        business=business,
        minutes={("urgent", "high"): 30 * 24 * 60},
        within_business_hours=True,
    )
    return business


@pytest.mark.parametrize(
    "hours, due",
    [
        # Open 9 to 6 on weekdays: 30 days of open minutes would be 16 weeks away. At most
        # 30 days after it opens (now): the last open moment before then.
        (WEEKDAYS_9_TO_6, ny(2026, 4, 3, 18, 0)),
        # Open 1 h 57 a day: 369 days away, refused as "more than a year away".
        ([(day, time(9), time(10, 57)) for day in range(7)], ny(2026, 4, 6, 10, 0)),
        # Open an hour on Sundays: never within a year, so the plain clock, while closed.
        ([(6, time(9), time(10))], ny(2026, 4, 5, 10, 0)),
    ],
)
def test_a_30_day_policy_within_few_hours_is_due_within_30_days_of_opening(maya, clock, hours, due):
    business = thirty_days_within(maya, hours)
    call = log_callback(business, receptionist_user(username="rita-long"))
    callback = Callback.objects.get(call=call)
    assert callback.due_at == due
    assert callback.due_at - clock.at <= timedelta(days=32)
    zone_clock = open_clock(NEW_YORK, [Hours(*row) for row in hours])
    assert any(
        begin < callback.due_at <= end for begin, end in zone_clock.open_on(due.date())
    )  # while it is open


def test_a_business_closed_for_a_season_counts_from_when_it_reopens(maya, clock):
    # Closed from Monday March 9 to Thursday April 30.
    business = business_save(
        user=maya,
        name="Seasonal",
        time_zone="America/New_York",
        hours=WEEKDAYS_9_TO_6,
        closed_days=[(date(2026, 3, 9) + timedelta(days=n), "Closed") for n in range(53)],
    )
    policy_save(
        user=maya, business=business, minutes={("urgent", "high"): 30}, within_business_hours=True
    )
    saturday = ny(2026, 3, 7, 12, 0)
    due = callback_due_at(business_id=business.pk, nature="urgent", urgency="high", now=saturday)
    assert due == ny(2026, 5, 1, 9, 30)  # Friday May 1, its first day open again
    # Ten minutes before it closes for all that time: by its closing, not eight weeks on.
    due = callback_due_at(business_id=business.pk, nature="urgent", urgency="high", now=clock.at)
    assert due == ny(2026, 3, 6, 18, 0)
