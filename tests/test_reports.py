"""The tallies, the dashboard, "my day", the minutes report and the CSV exports (issue 12).

The data sets are built by hand with known answers: a business in New York, whose
2026-11-01 has 25 hours (daylight saving time ends at 02:00), a call that runs past
midnight, and calls of 0, 59, 60 and 61 seconds for the billing rules.
"""

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from callers.models import BillingRule, Business
from callers.services import business_save
from calls.models import Call, Escalation
from followups import reports
from followups.models import (
    ACK_BOUNDS,
    TALK_BOUNDS,
    Callback,
    Export,
    MonthPersonTally,
    MonthTally,
    PersonTally,
    Tally,
)
from followups.tally import recount, recount_all
from receptionist.models import StaffBusiness
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    manager_user,
    receptionist_user,
)
from tests.querycounts import count_queries

NEW_YORK = ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    """A wall-clock time in New York ("2026-11-01 01:30 EDT" or "... EST")."""
    stamp, zone = text.rsplit(" ", 1)
    local = datetime.fromisoformat(stamp)
    fold = 1 if zone == "EST" and local.date() == date(2026, 11, 1) and local.hour == 1 else 0
    # In UTC: adding seconds to a New York time would lose the fold (and an hour).
    return local.replace(tzinfo=NEW_YORK, fold=fold).astimezone(UTC)


@pytest.fixture
def york(db, django_capture_on_commit_callbacks):
    """The hand-built data set, its tallies counted as the app counts them: after commit."""
    maya = manager_user(username="maya-r")
    business = business_save(user=maya, name="York Dental", time_zone="America/New_York")
    rita = receptionist_user(username="rita-r", first_name="Rita", last_name="Reyes")
    sam = receptionist_user(username="sam-r", first_name="Sam", last_name="Stone")
    caller = CallerFactory(name="Yolanda York", business=business)
    again = CallerFactory(name="Another Caller", business=business)
    calls = [
        # (start, seconds or None, nature, urgency, mood, taker)
        ("2026-11-01 01:30 EDT", 59, "sales", "low", "calm", rita),
        ("2026-11-01 01:30 EST", 60, "appointment", "normal", "calm", rita),
        ("2026-11-01 23:00 EST", 61, "urgent", "high", "angry", sam),
        ("2026-11-02 23:59 EST", 120, "other", "emergency", "abusive", sam),
        ("2026-11-02 10:00 EST", 0, "sales", "normal", "upset", rita),
        ("2026-11-02 11:00 EST", None, "sales", "normal", "calm", rita),
    ]
    made = []
    with django_capture_on_commit_callbacks(execute=True):
        for start, seconds, nature, urgency, mood, taker in calls:
            started = at(start)
            made.append(
                CallFactory(
                    caller=caller if len(made) < 4 else again,
                    business=business,
                    started_at=started,
                    ended_at=None if seconds is None else started + timedelta(seconds=seconds),
                    nature=nature,
                    urgency=urgency,
                    mood=mood,
                    taken_by=taker,
                )
            )
        raised = at("2026-11-01 23:05 EST")
        Escalation.objects.create(
            call=made[2],
            business=business,
            raised_by=sam,
            reason="Shouting",
            raised_at=raised,
            ack_deadline=raised + timedelta(minutes=15),
            acknowledged_at=raised + timedelta(minutes=4),
            acknowledged_by=maya,
            status="resolved",
            resolved_at=raised + timedelta(minutes=30),
            resolved_by=maya,
            resolution="Calmed down",
        )
        late = at("2026-11-02 23:59 EST")
        Escalation.objects.create(
            call=made[3],
            business=business,
            raised_by=sam,
            reason="Abuse",
            raised_at=late,
            ack_deadline=late + timedelta(minutes=15),
            acknowledged_at=late + timedelta(minutes=20),
            acknowledged_by=maya,
            status="acknowledged",
        )
    return {"business": business, "maya": maya, "rita": rita, "sam": sam, "calls": made}


def tally_of(business, day) -> Tally:
    return Tally.objects.get(business=business, day=day)


def test_each_day_is_the_business_own_calendar_day_with_its_25_hours(york):
    first = tally_of(york["business"], date(2026, 11, 1))
    assert first.calls == 3  # the 23:00 call is 04:00 UTC on the 2nd, and counted on the 1st
    assert first.hours[1] == [1, 1, 0, 0]  # 01:30 EDT and 01:30 EST: the hour that came twice
    assert first.hours[23] == [0, 0, 1, 0]
    assert sum(map(sum, first.hours)) == 3
    assert (first.sales, first.appointment, first.urgent, first.other) == (1, 1, 1, 0)
    assert (first.low, first.normal, first.high, first.emergency) == (1, 1, 1, 0)
    assert (first.calm, first.angry) == (2, 1)
    second = tally_of(york["business"], date(2026, 11, 2))
    assert (second.calls, second.ended) == (3, 2)  # the call without an end counts, untimed


def test_talk_time_is_each_call_to_the_second_a_call_past_midnight_on_its_first_day(york):
    first = tally_of(york["business"], date(2026, 11, 1))
    assert (first.seconds, first.minutes_up, first.sixths_up) == (180, 1 + 1 + 2, 10 + 10 + 11)
    second = tally_of(york["business"], date(2026, 11, 2))
    # 23:59 to 00:01 the next day: 120 s on the 2nd; the 0-second call adds nothing.
    assert (second.seconds, second.minutes_up, second.sixths_up) == (120, 2, 20)
    assert not Tally.objects.filter(day=date(2026, 11, 3)).exists()


def test_escalations_count_on_the_day_raised_with_the_time_to_acknowledge(york):
    first = tally_of(york["business"], date(2026, 11, 1))
    assert (first.escalations, first.acknowledged, first.acknowledged_in_time) == (1, 1, 1)
    assert first.resolved == 1
    # Acknowledged after 4 minutes: within 5, 10, ... minutes, not within 1 or 2.
    assert [getattr(first, f"ack_within_{n}") for n in range(len(ACK_BOUNDS))] == [
        0,
        0,
        1,
        1,
        1,
        1,
        1,
    ]
    second = tally_of(york["business"], date(2026, 11, 2))
    assert (second.escalations, second.acknowledged_in_time, second.resolved) == (1, 0, 0)


def test_each_person_has_their_share(york):
    shares = {
        share.person_id: share
        for share in PersonTally.objects.filter(business=york["business"], day=date(2026, 11, 1))
    }
    assert shares[york["rita"].pk].calls == 2
    assert (shares[york["sam"].pk].calls, shares[york["sam"].pk].escalations) == (1, 1)


def test_an_edit_that_moves_a_call_recounts_both_days(york, django_capture_on_commit_callbacks):
    call = york["calls"][0]
    with django_capture_on_commit_callbacks(execute=True):
        call.started_at = at("2026-11-02 09:00 EST")
        call.ended_at = call.started_at + timedelta(seconds=59)
        call.save()
    assert tally_of(york["business"], date(2026, 11, 1)).calls == 2
    assert tally_of(york["business"], date(2026, 11, 2)).calls == 4


def test_a_deleted_call_leaves_its_day(york, django_capture_on_commit_callbacks):
    call = york["calls"][4]
    with django_capture_on_commit_callbacks(execute=True):
        Call.objects.get(pk=call.pk).delete()
    assert tally_of(york["business"], date(2026, 11, 2)).calls == 2


def test_a_rolled_back_change_recounts_nothing(york, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                CallFactory(
                    caller=york["calls"][0].caller,
                    business=york["business"],
                    started_at=at("2026-11-01 12:00 EST"),
                )
                raise RuntimeError("changed my mind")
        except RuntimeError:
            pass
    assert callbacks == []
    assert tally_of(york["business"], date(2026, 11, 1)).calls == 3


def test_several_changes_of_one_transaction_recount_their_day_once(
    york, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for minute in (1, 2, 3):
            CallFactory(
                caller=york["calls"][0].caller,
                business=york["business"],
                started_at=at(f"2026-11-01 12:0{minute} EST"),
            )
    assert len(callbacks) == 1
    assert tally_of(york["business"], date(2026, 11, 1)).calls == 6


def test_a_new_time_zone_counts_the_business_days_again(york, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        business_save(user=york["maya"], business=york["business"], time_zone="UTC")
    # In UTC the 23:00 EST call of the 1st is on the 2nd, and the 23:59 one on the 3rd.
    assert tally_of(york["business"], date(2026, 11, 1)).calls == 2
    assert tally_of(york["business"], date(2026, 11, 3)).calls == 1


def test_recount_all_gives_what_the_changes_gave(york):
    before = {
        (t.day, t.calls, t.seconds, t.escalations)
        for t in Tally.objects.filter(business=york["business"])
    }
    assert recount_all(york["business"].pk) == len(before)
    after = {
        (t.day, t.calls, t.seconds, t.escalations)
        for t in Tally.objects.filter(business=york["business"])
    }
    assert after == before


@pytest.mark.parametrize(
    ("seconds", "per_minute", "per_six", "month"),
    [(0, 0, 0, 0), (59, 1, 1.0, 1), (60, 1, 1.0, 1), (61, 2, 1.1, 2)],
)
def test_the_three_billing_rules_on_one_call(db, seconds, per_minute, per_six, month):
    business = Business.objects.default()
    started = timezone.now() - timedelta(days=2)
    CallFactory(
        business=business, started_at=started, ended_at=started + timedelta(seconds=seconds)
    )
    day = timezone.localdate(started, business.zone)
    recount(business.pk, day)
    tally = Tally.objects.get(business=business, day=day)
    figures = {
        "seconds": tally.seconds,
        "minutes_up": tally.minutes_up,
        "sixths_up": tally.sixths_up,
    }
    assert reports.billable_minutes(BillingRule.CALL_MINUTE, **figures) == per_minute
    assert reports.billable_minutes(BillingRule.CALL_6S, **figures) == per_six
    assert reports.billable_minutes(BillingRule.MONTH_MINUTE, **figures) == month


def test_the_month_rule_rounds_the_total_once_the_call_rules_each_call():
    # Two calls of 61 s: per call 2 + 2 minutes, or 1.1 + 1.1; the month's 122 s: 3 minutes.
    figures = {"seconds": 122, "minutes_up": 4, "sixths_up": 22}
    assert reports.billable_minutes(BillingRule.CALL_MINUTE, **figures) == 4
    assert reports.billable_minutes(BillingRule.CALL_6S, **figures) == 2.2
    assert reports.billable_minutes(BillingRule.MONTH_MINUTE, **figures) == 3
    with pytest.raises(ValueError):
        reports.billable_minutes("per_hour", **figures)


def test_median_is_read_inside_its_band():
    # Four calls of 10, 20, 40 and 50 s: two within 30 s, four within 60 s: median 30 s.
    assert reports.median(TALK_BOUNDS, [2, 4, 4, 4, 4, 4, 4], 4) == 30
    # Three calls of 70 s: all in the band 60-120 s; the median halfway in: 60 + 60 * 1.5 / 3.
    assert reports.median(TALK_BOUNDS, [0, 0, 3, 3, 3, 3, 3], 3) == 90
    assert reports.median(TALK_BOUNDS, [0] * 7, 2) == math.inf  # longer than 20 minutes
    assert reports.median(TALK_BOUNDS, [0] * 7, 0) is None


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (None, date(2026, 1, 1), "start"),
        (date(2026, 1, 2), date(2026, 1, 1), "end"),
        (date(2025, 1, 1), date(2026, 1, 2), "end"),
        (date(1999, 1, 1), date(1999, 1, 2), "start"),
        (date(2026, 1, 1), date(2101, 1, 1), "end"),
    ],
)
def test_a_range_the_reports_refuse(first, last, field):
    with pytest.raises(ValidationError) as refused:
        reports.check_range(first, last)
    assert field in refused.value.error_dict


def test_a_year_is_a_range():
    assert reports.check_range(date(2026, 1, 1), date(2026, 12, 31)) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )


def dashboard_of(client, **query):
    response = client.get("/dashboard/", query)
    assert response.status_code == 200
    return response


def test_the_dashboard_adds_up_the_range(york, client):
    client.force_login(york["maya"])
    response = dashboard_of(
        client, business=york["business"].pk, start="2026-11-01", end="2026-11-02"
    )
    figures = response.context["figures"]
    assert figures["total"]["calls"] == 6
    assert figures["days"] == [(date(2026, 11, 1), [1, 1, 1, 0]), (date(2026, 11, 2), [2, 0, 0, 1])]
    assert figures["escalations"] == {
        "raised": 2,
        "acknowledged": 2,
        "in_time": 1,
        "resolved": 1,
        "median_ack": pytest.approx(300),  # 4 min (band 2-5) and 20 min (band 15-30)
    }
    people = figures["people"]
    assert people[york["rita"].pk]["calls"] == 4
    assert people[york["sam"].pk]["escalations"] == 2
    assert people[york["sam"].pk]["waiting"] == 1  # the acknowledged one, not resolved yet
    html = response.content.decode()
    assert 'data-table="calls-by-day"' in html and "2026-11-02" in html
    assert "Rita Reyes" in html and "Sam Stone" in html


def test_one_day_shows_its_hours(york, client):
    client.force_login(york["maya"])
    response = dashboard_of(
        client, business=york["business"].pk, start="2026-11-01", end="2026-11-01"
    )
    hours = response.context["figures"]["hours"]
    assert hours[1] == [1, 1, 0, 0] and hours[23] == [0, 0, 1, 0]
    assert 'data-table="calls-by-hour"' in response.content.decode()


def test_the_repeat_callers_of_the_range(york, client):
    client.force_login(york["maya"])
    response = client.get(
        "/dashboard/repeat-callers/",
        {"business": york["business"].pk, "start": "2026-11-01", "end": "2026-11-02"},
    )
    assert response.context["count"] == 1  # Yolanda called 4 times, the other caller twice
    assert "Yolanda York" in response.content.decode()


def test_callbacks_promised_today_kept_late_and_overdue(db, manager_client, manager):
    now = timezone.now()
    on_time = CallbackFactory(due_at=now + timedelta(hours=1))
    late = CallbackFactory(due_at=now - timedelta(hours=1))
    cancelled = CallbackFactory()
    CallbackFactory(due_at=now - timedelta(minutes=5))  # overdue
    CallbackFactory()  # open, due later
    for callback, status, closed in (
        (on_time, "done", now),
        (late, "done", now),
        (cancelled, "cancelled", now),
    ):
        callback.promised_due_at = callback.due_at
        callback.status, callback.closed_at, callback.closed_by = status, closed, manager
        callback.outcome = "Called back" if status == "done" else "No longer needed"
        callback.save()
    recount_all(Business.objects.default().pk)
    callbacks = dashboard_of(manager_client).context["figures"]["callbacks"]
    assert callbacks["promised"] == 5
    assert (callbacks["kept_on_time"], callbacks["kept_late"], callbacks["cancelled"]) == (1, 1, 1)
    assert (callbacks["still_open"], callbacks["overdue"]) == (2, 1)
    assert callbacks["kept_percent"] == 33  # on time, of the 3 whose time came


def test_a_bad_range_keeps_what_was_typed_and_shows_today(york, client):
    client.force_login(york["maya"])
    response = dashboard_of(client, start="2026-13-01", end="<script>")
    form = response.context["form"]
    assert form.errors["start"] and form.errors["end"]
    html = response.content.decode()
    assert (
        "&lt;script&gt;" in html and "<script>" not in html.split("</head>")[1].split("<script")[0]
    )
    assert response.context["span"].first == timezone.localdate()
    response = dashboard_of(client, start="2026-01-01", end="2027-06-01")
    assert "at most 366 days" in response.content.decode()


def test_a_limited_manager_sees_their_businesses_only(york, client):
    other = business_save(user=york["maya"], name="Elsewhere Ltd")
    limited = manager_user(username="lim-r")
    StaffBusiness.objects.create(user=limited, business=york["business"])
    client.force_login(limited)
    response = client.get(
        "/dashboard/", {"business": other.pk, "start": "2026-11-01", "end": "2026-11-02"}
    )
    assert response.context["form"].errors["business"]
    response = dashboard_of(client, start="2026-11-01", end="2026-11-02")
    assert response.context["span"].business_ids == [york["business"].pk]


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("manager", "/dashboard/", 200),
        ("receptionist", "/dashboard/", 200),
        ("client", "/dashboard/", 403),
        ("outsider", "/dashboard/", 403),
        ("manager", "/dashboard/repeat-callers/", 200),
        ("receptionist", "/dashboard/repeat-callers/", 403),
        ("manager", "/reports/minutes/", 200),
        ("receptionist", "/reports/minutes/", 403),
        ("manager", "/reports/minutes.csv", 200),
        ("receptionist", "/reports/minutes.csv", 403),
        ("manager", "/calls/export.csv", 200),
        ("receptionist", "/calls/export.csv", 403),
        ("client", "/calls/export.csv", 403),
        ("manager", "/callbacks/export.csv", 200),
        ("receptionist", "/callbacks/export.csv", 403),
    ],
)
def test_who_may_read_the_reports(db, client, who, url, status):
    from tests.factories import UserFactory
    from tests.test_portal import client_user

    person = {
        "manager": lambda: manager_user(username="m-perm"),
        "receptionist": lambda: receptionist_user(username="r-perm"),
        "client": lambda: client_user(Business.objects.default(), username="c-perm"),
        "outsider": lambda: UserFactory(username="o-perm"),
    }[who]()
    client.force_login(person)
    assert client.get(url).status_code == status
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_the_dashboard_queries_do_not_grow_with_the_data(db, manager_client):
    url = "/dashboard/?start=2026-10-01&end=2026-11-30"
    business = Business.objects.default()
    started = datetime(2026, 10, 1, 9, tzinfo=business.zone)
    CallFactory(business=business, started_at=started)
    recount_all(business.pk)
    few = count_queries(manager_client, url)
    for day in range(40):
        started = datetime(2026, 10, 1, 12, tzinfo=business.zone) + timedelta(days=day)
        CallFactory(business=business, started_at=started, ended_at=started + timedelta(seconds=90))
    recount_all(business.pk)
    assert Tally.objects.count() >= 40
    assert count_queries(manager_client, url) == few == 8
    # One day: its hours instead of its days, as many queries.
    assert count_queries(manager_client, "/dashboard/?start=2026-10-05&end=2026-10-05") == 8


@pytest.mark.parametrize("limited", [False, True])
def test_my_day_shows_a_receptionist_their_calls_callbacks_and_debriefs(db, client, limited):
    """Read by compiled statements for a person who works for every business, by the
    QuerySets with the business filter for one limited to some."""
    rita = receptionist_user(username="rita-d")
    maya = manager_user(username="maya-d")
    mine = CallFactory(taken_by=rita, summary="Mine today", started_at=timezone.now())
    CallFactory(summary="Someone else's", started_at=timezone.now())
    CallbackFactory(call=mine, assigned_to=rita, due_at=timezone.now() - timedelta(minutes=1))
    Escalation.objects.create(
        call=mine,
        business=mine.business,
        raised_by=rita,
        reason="Rude",
        ack_deadline=timezone.now(),
        status="resolved",
        resolved_by=maya,
        resolved_at=timezone.now(),
        resolution="Talked it through",
        debrief="You did well <b>staying calm</b>.",
    )
    if limited:
        StaffBusiness.objects.create(user=rita, business=mine.business)
        elsewhere = business_save(user=maya, name="Elsewhere Clinic")
        CallFactory(taken_by=rita, business=elsewhere, summary="Not hers now")
    client.force_login(rita)
    response = dashboard_of(client)
    html = response.content.decode()
    assert "Mine today" in html and "Someone else" not in html and "Not hers" not in html
    assert [callback.caller_name for callback in response.context["callbacks"]] == [
        mine.caller.name
    ]
    assert response.context["overdue"] == 1
    assert "staying calm" in html and "<b>staying" not in html
    assert count_queries(client, "/dashboard/") == 5


# The minutes report ---------------------------------------------------------------------


def test_the_minutes_report_shows_each_business_month_under_its_rule(york, client):
    business = york["business"]
    business_save(user=york["maya"], business=business, billing_rule=BillingRule.CALL_6S)
    client.force_login(york["maya"])
    response = client.get("/reports/minutes/", {"month": "2026-11"})
    row = next(row for row in response.context["rows"] if row["business"] == business)
    assert (row["calls"], row["seconds"], row["talk"]) == (6, 300, "0:05:00")
    assert row["billable"] == 5.1  # 1 + 1 + 1.1 + 2 + 0 tenths of minutes... per call to 6 s
    assert row["rule"] == "Each call rounded up to the next 6 seconds"
    assert "Each call rounded up to the next 6 seconds" in response.content.decode()


def test_a_minutes_statement_is_a_csv_of_the_month_days(york, client):
    client.force_login(york["maya"])
    response = client.get(f"/reports/minutes/{york['business'].pk}/statement.csv?month=2026-11")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Business", "York Dental"]
    assert ["2026-11-01", "3", "180", "0:03:00"] in rows
    assert ["Total", "6", "300", "0:05:00"] in rows
    assert rows[-1] == ["Billable minutes", "6"]  # each call rounded up to the minute
    assert Export.objects.get().what == "minutes statement of York Dental for 2026-11"
    assert (
        client.get(
            f"/reports/minutes/{york['business'].pk}/statement.csv?month=2026-13"
        ).status_code
        == 400
    )
    assert client.get("/reports/minutes/999999/statement.csv?month=2026-11").status_code == 404


def test_a_bad_month_says_so_and_shows_this_month(db, manager_client):
    response = manager_client.get("/reports/minutes/", {"month": "<b>May</b>"}, follow=True)
    assert response.status_code == 200
    assert "A month is written like 2026-11" in response.content.decode()
    assert response.context["month"] == timezone.localdate().strftime("%Y-%m")


# The exports ----------------------------------------------------------------------------


def exported(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+1 555", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_would_be_a_formula_is_written_as_text(db, manager_client, text):
    CallFactory(summary="Formula", wants=text)
    rows = exported(manager_client.get("/calls/export.csv"))
    assert rows[0][:3] == ["Started", "Ended", "Business"]
    assert rows[1][9] == "'" + text
    assert rows[1][8] == "Formula"


def test_the_export_takes_the_call_log_filter_and_is_recorded(db, manager_client, manager):
    CallFactory(summary="Invoice question", nature="sales")
    CallFactory(summary="Dentist appointment", nature="appointment")
    rows = exported(manager_client.get("/calls/export.csv", {"nature": "sales"}))
    assert [row[8] for row in rows[1:]] == ["Invoice question"]
    assert rows[1][5] == "Sales"
    record = Export.objects.get()
    assert (record.person, record.what, record.filter) == (manager, "call log", "nature=sales")


def test_an_export_with_a_filter_that_cannot_be_read_says_why(db, manager_client):
    response = manager_client.get("/calls/export.csv", {"date_from": "yesterday-ish"})
    assert response.status_code == 400
    assert "date_from" in response.content.decode()
    assert not Export.objects.exists()


def test_a_limited_manager_exports_their_businesses_only(db, client):
    maya = manager_user(username="maya-x")
    other = business_save(user=maya, name="Not Yours Inc")
    CallFactory(summary="Ours")
    CallFactory(summary="Theirs", caller=CallerFactory(business=other), business=other)
    limited = manager_user(username="lim-x")
    StaffBusiness.objects.create(user=limited, business=Business.objects.default())
    client.force_login(limited)
    assert [row[8] for row in exported(client.get("/calls/export.csv"))[1:]] == ["Ours"]


def test_the_callbacks_export(db, manager_client):
    CallbackFactory(reason="Ring back about the bill")
    done = CallbackFactory(reason="Kept one")
    Callback.objects.filter(pk=done.pk).update(
        status="done", closed_at=timezone.now(), outcome="Called back"
    )
    rows = exported(manager_client.get("/callbacks/export.csv"))
    assert [row[5] for row in rows[1:]] == ["Ring back about the bill"]
    rows = exported(manager_client.get("/callbacks/export.csv", {"status": "all"}))
    assert len(rows) == 3
    assert manager_client.get("/callbacks/export.csv", {"status": "<x>"}).status_code == 400


def test_the_export_walks_the_log_a_chunk_at_a_time(db, manager_client, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from followups import export

    monkeypatch.setattr(export, "CHUNK", 2)
    same = timezone.now() - timedelta(hours=1)
    for n in range(5):  # three share a start time: the walk goes on by id
        started = same if n < 3 else same - timedelta(minutes=n)
        CallFactory(summary=f"Call {n}", started_at=started)
    response = manager_client.get("/calls/export.csv")
    with CaptureQueriesContext(connection) as queries:
        rows = exported(response)
    assert sorted(row[8] for row in rows[1:]) == [f"Call {n}" for n in range(5)]
    assert [row[8] for row in rows[1:]][3:] == ["Call 3", "Call 4"]  # newest first
    assert len(queries) == 3  # 2 + 2 + 1 rows


# What an attacker and a clumsy user found (issue 12's review) ---------------------------


def test_the_statement_header_is_no_formula_either(york, client):
    business_save(user=york["maya"], business=york["business"], name='=HYPERLINK("x","York")')
    client.force_login(york["maya"])
    response = client.get(f"/reports/minutes/{york['business'].pk}/statement.csv?month=2026-11")
    assert exported(response)[0] == ["Business", '\'=HYPERLINK("x","York")']


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0"), (6.0, "6"), (5.1, "5.1"), (1408094.0, "1408094"), (140809.4, "140809.4")],
)
def test_billable_minutes_are_written_whole_or_in_tenths(minutes, text):
    assert reports.minutes_text(minutes) == text


def test_repeat_callers_of_the_same_days_in_another_zone_are_counted_again(db):
    caller = CallerFactory()
    for _ in range(3):  # 11:00 UTC: October 1st in UTC, October 2nd at UTC+14
        CallFactory(caller=caller, started_at=datetime(2026, 10, 1, 11, tzinfo=UTC))
    day = date(2026, 10, 1)

    def span(zone):
        start = datetime(2026, 10, 1, tzinfo=zone)
        return reports.Range(None, day, day, start, start + timedelta(days=1))

    assert reports.repeat_callers(span(UTC))["count"] == 1
    assert reports.repeat_callers(span(ZoneInfo("Pacific/Kiritimati")))["count"] == 0


def test_one_business_without_a_range_is_named_and_its_range_kept(york, client):
    client.force_login(york["maya"])
    response = dashboard_of(client, business=york["business"].pk)
    assert response.context["business_label"] == york["business"]
    assert "York Dental" in response.content.decode().split("data-dashboard-span")[1][:200]
    response = dashboard_of(client, business=999999, start="2026-11-01", end="2026-11-02")
    assert (response.context["span"].first, response.context["span"].last) == (
        date(2026, 11, 1),
        date(2026, 11, 2),
    )
    assert "That business cannot be shown" in response.content.decode()


def test_a_limited_manager_reads_the_days_of_their_business(york, client):
    limited = manager_user(username="lim-zone")
    StaffBusiness.objects.create(user=limited, business=york["business"])
    client.force_login(limited)
    span = dashboard_of(client, start="2026-11-01", end="2026-11-01").context["span"]
    assert span.start == datetime(2026, 11, 1, tzinfo=NEW_YORK)


def test_the_repeat_callers_part_leaves_no_message_for_the_next_page(york, client):
    client.force_login(york["maya"])
    client.get("/dashboard/repeat-callers/", {"start": "2026-11-30", "end": "2026-11-01"})
    assert "cannot be shown" not in client.get("/callbacks/").content.decode()


def test_a_file_of_a_month_that_cannot_be_read_is_refused(db, manager_client):
    for month in ("2026-13", "\uff12\uff10\uff12\uff16-11", "2026-1", "<b>"):
        response = manager_client.get("/reports/minutes.csv", {"month": month})
        assert response.status_code == 400, month
    assert not Export.objects.exists()
    assert "A month is written" not in manager_client.get("/callbacks/").content.decode()


@pytest.mark.parametrize("method", ["head", "options", "post", "delete"])
def test_an_export_answers_get_only_and_records_nothing_else(db, manager_client, method):
    for url in ("/calls/export.csv", "/callbacks/export.csv"):
        assert getattr(manager_client, method)(url).status_code == 405
    assert not Export.objects.exists()


# What a new user tripped on (issue 12's trial) --------------------------------------------


def test_a_fresh_dashboard_shows_its_days_in_the_boxes(york, client):
    client.force_login(york["maya"])
    today = timezone.localdate(timezone.now(), NEW_YORK).isoformat()
    response = dashboard_of(client, business=york["business"].pk)
    form = response.context["form"]
    assert not form.errors
    assert (str(form["start"].value()), str(form["end"].value())) == (today, today)
    html = response.content.decode()
    assert f'value="{today}"' in html and "required" not in html.split('id="id_end"')[0][-200:]


def test_a_phone_number_or_a_plain_number_is_exported_as_it_is(db, manager_client):
    CallFactory(summary="-5 degrees outside", wants="+1 555 = ask", phone="+12125550147")
    row = exported(manager_client.get("/calls/export.csv"))[1]
    assert row[4] == "+12125550147"
    assert row[8] == "'-5 degrees outside"  # text after the sign: neutralised
    assert row[9] == "'+1 555 = ask"
    from followups.export import safe_cell

    assert [safe_cell(v) for v in ("-5", "+16175550147", "3.5", "-2+3", "+1 555")] == [
        "-5",
        "+16175550147",
        "3.5",
        "'-2+3",
        "'+1 555",
    ]


def test_the_minutes_report_stops_at_january_2000(db, manager_client):
    response = manager_client.get("/reports/minutes/", {"month": "2000-01"})
    assert response.context["previous"] is None
    assert 'aria-label="Previous month"' not in response.content.decode()


def test_long_times_are_written_in_hours():
    from followups.report_views import _talk

    assert (_talk(12800), _talk(95), _talk(40), _talk(None)) == (
        "3 h 33 min",
        "1 min 35 s",
        "40 s",
        "none yet",
    )


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        (date(2026, 11, 1), date(2026, 11, 1), None),  # one day
        (date(2026, 11, 2), date(2026, 11, 30), None),  # the month less its first day
        (date(2026, 11, 1), date(2026, 11, 30), (date(2026, 11, 1), date(2026, 11, 1))),
        (date(2026, 8, 27), date(2026, 11, 24), (date(2026, 9, 1), date(2026, 10, 1))),
        (date(2024, 2, 1), date(2024, 2, 29), (date(2024, 2, 1), date(2024, 2, 1))),  # leap
        (date(2025, 12, 15), date(2026, 2, 28), (date(2026, 1, 1), date(2026, 2, 1))),
    ],
)
def test_whole_months_of_a_range(first, last, months):
    assert reports.whole_months(first, last) == months


def test_each_month_is_the_sum_of_its_days_and_follows_their_changes(
    york, django_capture_on_commit_callbacks
):
    business = york["business"]

    def month_row():
        return MonthTally.objects.get(business=business, day=date(2026, 11, 1))

    days = Tally.objects.filter(business=business, day__month=11)
    assert month_row().calls == sum(t.calls for t in days) == 6
    assert month_row().seconds == sum(t.seconds for t in days)
    by_person = {}
    for person, calls in PersonTally.objects.filter(business=business).values_list(
        "person__username", "calls"
    ):
        by_person[person] = by_person.get(person, 0) + calls
    month_people = dict(
        MonthPersonTally.objects.filter(business=business).values_list("person__username", "calls")
    )
    assert month_people == by_person and sum(month_people.values()) == 6
    with django_capture_on_commit_callbacks(execute=True):
        Call.objects.filter(business=business).order_by("started_at").first().delete()
    assert month_row().calls == 5


def test_a_range_reads_its_whole_months_and_its_days_alike(york):
    """The sums of a range that holds a whole month (read from MonthTally) are the sums of
    its days (read from Tally), for every business and for one."""
    business = york["business"]
    CallFactory(business=business, started_at=at("2026-09-30 12:00 EDT"))
    CallFactory(business=business, started_at=at("2026-10-15 09:00 EDT"))
    recount_all(business.pk)
    in_range = Call.objects.filter(
        started_at__gte=at("2026-09-30 00:00 EDT"), started_at__lt=at("2026-11-03 00:00 EST")
    ).count()
    names = ("calls", "seconds", "sales", "escalations", "kept_on_time")
    for ids in (None, [business.pk]):
        span = reports.Range(ids, date(2026, 9, 30), date(2026, 11, 2), None, None)
        assert reports.whole_months(span.first, span.last) is not None
        by_days = [
            sum(
                getattr(t, name)
                for t in Tally.objects.filter(day__gte=span.first, day__lte=span.last)
            )
            for name in names
        ]
        assert list(reports.tally_sums(names, span)[0]) == by_days
        people = {
            row[0]: row[1] for row in reports.tally_sums(("calls",), span, "person_id", PersonTally)
        }
        assert people == {
            person: sum(
                PersonTally.objects.filter(
                    person_id=person, day__gte=span.first, day__lte=span.last
                ).values_list("calls", flat=True)
            )
            for person in PersonTally.objects.values_list("person_id", flat=True)
        }
        assert sum(people.values()) == by_days[0] == in_range


def test_a_business_picked_that_is_gone_is_said_on_its_field(york, client):
    client.force_login(york["maya"])
    response = client.get("/dashboard/", {"business": "999999", "start": "2026-11-01"})
    assert response.status_code == 200
    assert "business" in response.context["form"].errors
