"""The figures of the dashboard, "my day" and the minutes report: the rules of a range and
of billing, and the sums of the tallies (followups.tally), each by the database.

A range is whole days, at most MOST_DAYS of them, in the years 2000 to 2100. The days are
each business's own: a figure for every business adds up each one's calendar days.
"""

import functools
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count

from calls.models import Call, Escalation, EscalationStatus, Mood, Nature, Urgency
from followups.models import (
    ACK_BOUNDS,
    ACK_WITHIN,
    ACTIVE,
    BACK_BOUNDS,
    BACK_WITHIN,
    TALK_BOUNDS,
    TALK_WITHIN,
    Callback,
    MonthPersonTally,
    MonthTally,
    PersonTally,
    Tally,
)
from followups.tally import NATURES, as_date, month_of

MONTHS = {Tally: MonthTally, PersonTally: MonthPersonTally}

MOST_DAYS = 366
REPEAT_CALLS = 3  # a repeat caller called this many times in the range, or more
SHOWN_REPEAT_CALLERS = 10
REPEAT_SECONDS = 300  # a report's repeat callers may be five minutes old
FIGURES = (
    "calls",
    "seconds",
    "minutes_up",
    "sixths_up",
    "ended",
    *NATURES,
    *(str(urgency) for urgency in Urgency),
    *(str(mood) for mood in Mood),
    *TALK_WITHIN,
    "escalations",
    "acknowledged",
    "acknowledged_in_time",
    "resolved",
    *ACK_WITHIN,
    "promised",
    "kept_on_time",
    "kept_late",
    "cancelled",
    *BACK_WITHIN,
)


def check_range(first: date | None, last: date | None) -> tuple[date, date]:
    """The range from `first` to `last`, both included; ValidationError naming the field."""
    errors = {}
    for name, day in (("start", first), ("end", last)):
        if day is None:
            errors[name] = "Give a day, like 2026-11-24."
        elif not 2000 <= day.year <= 2100:
            errors[name] = "Pick a day between the years 2000 and 2100."
    if not errors and last < first:
        errors["end"] = "The range ends on or after the day it starts."
    if not errors and (last - first).days + 1 > MOST_DAYS:
        errors["end"] = (
            f"A range is at most {MOST_DAYS} days: pick a later start or an earlier end."
        )
    if errors:
        raise ValidationError(errors)
    return first, last


def median(bounds: tuple, within: list[int], total: int) -> float | None:
    """The median of `total` times, from how many were within each bound (cumulative), by
    linear interpolation inside its bucket (the grouped median); math.inf when more than
    half took longer than the last bound, None when there were none."""
    if not total:
        return None
    half = total / 2
    lower, below = 0, 0
    for bound, count in zip(bounds, within, strict=True):
        if count >= half:
            inside = count - below
            return lower + (bound - lower) * (half - below) / inside if inside else float(bound)
        lower, below = bound, count
    return math.inf


def percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


@functools.lru_cache(maxsize=64)
def _sums_sql(
    names: tuple, group: str | None, businesses: int | None, table: str, months: str | None
) -> str:
    """SELECT [group,] the sums of `names` over the tallies of a range (and of `businesses`
    ids), written once per shape: Django took 6 ms to build the 56 sums' query each time,
    PostgreSQL 1 ms to answer it. With `months` (the month table of `table`): the days at
    either end of the range from `table` and its whole months from `months`."""
    quote = connection.ops.quote_name
    sums = ", ".join(f"COALESCE(SUM({quote(name)}), 0)" for name in names)
    grouped = f"{quote(group)}, " if group else ""
    scoped = "" if businesses is None else f" AND business_id IN ({', '.join(['%s'] * businesses)})"
    if months is None:
        sql = f"SELECT {grouped}{sums} FROM {quote(table)} WHERE day >= %s AND day <= %s{scoped}"
    else:
        columns = grouped + ", ".join(quote(name) for name in names)
        sql = (
            f"SELECT {grouped}{sums} FROM ("
            f"SELECT {columns} FROM {quote(table)} "
            f"WHERE ((day >= %s AND day <= %s) OR (day >= %s AND day <= %s)){scoped} "
            f"UNION ALL SELECT {columns} FROM {quote(months)} "
            f"WHERE day >= %s AND day <= %s{scoped}) tallies"
        )
    if group:
        sql += f" GROUP BY {quote(group)}"
    return sql


def whole_months(first: date, last: date) -> tuple[date, date] | None:
    """The first days of the first and last whole months from `first` to `last`; None
    when the range holds no whole month."""
    start = first if first.day == 1 else month_of(first)[1] + timedelta(days=1)
    end = last if last == month_of(last)[1] else month_of(last)[0] - timedelta(days=1)
    return (start, month_of(end)[0]) if start < end else None


def tally_sums(names, span: "Range", group: str | None = None, model=Tally) -> list[tuple]:
    """The sums of the tallies' `names` over the range, grouped by `group` when given: its
    whole months from the month tallies (not by day, which only the days have)."""
    ids = list(span.business_ids or [])
    months = None if group == "day" else MONTHS[model]
    found = whole_months(span.first, span.last) if months else None
    if found is None:
        months, days = None, [span.first, span.last, *ids]
    else:
        # The days before the first whole month and after the last, then those months.
        head = found[0] - timedelta(days=1)
        tail = month_of(found[1])[1] + timedelta(days=1)
        days = [span.first, head, tail, span.last, *ids, *found, *ids]
    sql = _sums_sql(
        tuple(names),
        group,
        None if span.business_ids is None else len(ids),
        model._meta.db_table,
        months and months._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, days)
        # PostgreSQL sums a bigint column as numeric: every figure here is a whole number.
        return [
            tuple(int(value) if isinstance(value, Decimal) else value for value in row)
            for row in cursor.fetchall()
        ]


# What the dashboard counts live (it changes with the clock, not with a day's rows), in
# SQL written once: building these two small queries through the ORM took longer than
# PostgreSQL took to answer them.
WAITING_SQL = (
    f"SELECT raised_by_id, COUNT(*) FROM {Escalation._meta.db_table} WHERE status <> %s"
    " {businesses} GROUP BY raised_by_id"
)
LIVE_CALLBACKS_SQL = (
    "SELECT COUNT(*), SUM(CASE WHEN due_at < %s THEN 1 ELSE 0 END) "
    f"FROM {Callback._meta.db_table} WHERE status IN (%s, %s) "
    "AND created_at >= %s AND created_at < %s {businesses}"
)


HOURS_SQL = f"SELECT hours FROM {Tally._meta.db_table} WHERE day = %s {{businesses}}"


def _hours_of(span: "Range") -> list[tuple]:
    """The hours of one day's tallies (JSON: a text on some databases, a list on others)."""
    return _live(HOURS_SQL, span, [span.first])


def _live(sql: str, span: "Range", params: list) -> list[tuple]:
    ids = span.business_ids
    scoped = "" if ids is None else f"AND business_id IN ({', '.join(['%s'] * len(ids))})"
    with connection.cursor() as cursor:
        cursor.execute(sql.format(businesses=scoped), [*params, *(ids or [])])
        return cursor.fetchall()


@dataclass
class Range:
    """What a report covers: some businesses (None: every one), days, and the same days as
    moments (for what is counted live: the callbacks still open, the repeat callers)."""

    business_ids: list[int] | None
    first: date
    last: date
    start: datetime
    end: datetime

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def of(self, rows, business="business_id"):
        if self.business_ids is None:
            return rows
        return rows.filter(**{f"{business}__in": self.business_ids})


def dashboard(span: Range, now: datetime) -> dict:
    """Every figure of the manager's dashboard for the range: a fixed number of queries."""
    total = dict(zip(FIGURES, tally_sums(FIGURES, span)[0], strict=True))
    hours = None
    if span.first == span.last:
        # One day: its natures are the total's, and its hours are drawn instead.
        days = [(span.first, [total[nature] for nature in NATURES])]
        hours = [[0] * len(NATURES) for _ in range(24)]
        for (grid,) in _hours_of(span):
            for hour, counts in enumerate(json.loads(grid) if isinstance(grid, str) else grid):
                for n, count in enumerate(counts):
                    hours[hour][n] += count
    else:
        by_day = {as_date(day): list(counts) for day, *counts in tally_sums(NATURES, span, "day")}
        days = [(day, by_day.get(day, [0] * len(NATURES))) for day in span.days()]
    by_person = ("calls", "ended", *TALK_WITHIN, "escalations", "kept_on_time")
    people = [
        dict(zip(("person_id", *by_person), row, strict=True))
        for row in tally_sums(by_person, span, "person_id", PersonTally)
    ]
    waiting = dict(_live(WAITING_SQL, span, [EscalationStatus.RESOLVED]))
    adapt = connection.ops.adapt_datetimefield_value
    open_now, overdue = _live(
        LIVE_CALLBACKS_SQL,
        span,
        [adapt(now), *ACTIVE, adapt(span.start), adapt(span.end)],
    )[0]
    live = {"still_open": open_now or 0, "overdue": overdue or 0}
    kept = total["kept_on_time"] + total["kept_late"]
    callbacks = {
        "promised": total["promised"],
        "kept_on_time": total["kept_on_time"],
        "kept_late": total["kept_late"],
        "cancelled": total["cancelled"],
        **live,
        # Of the promises whose time has come: kept on time, kept late, or overdue.
        "kept_percent": percent(total["kept_on_time"], kept + live["overdue"]),
        "median_back": median(BACK_BOUNDS, [total[n] for n in BACK_WITHIN], kept),
    }
    escalations = {
        "raised": total["escalations"],
        "acknowledged": total["acknowledged"],
        "in_time": total["acknowledged_in_time"],
        "resolved": total["resolved"],
        "median_ack": median(ACK_BOUNDS, [total[n] for n in ACK_WITHIN], total["acknowledged"]),
    }
    person_rows = {}
    for row in people:
        person_rows[row["person_id"]] = {
            "calls": row["calls"],
            "median_talk": median(TALK_BOUNDS, [row[n] for n in TALK_WITHIN], row["ended"]),
            "escalations": row["escalations"],
            "kept_on_time": row["kept_on_time"],
            "waiting": waiting.get(row["person_id"], 0),
        }
    for person_id, n in waiting.items():
        person_rows.setdefault(
            person_id,
            {"calls": 0, "median_talk": None, "escalations": 0, "kept_on_time": 0, "waiting": n},
        )
    return {
        "total": total,
        "days": days,
        "hours": hours,
        "natures": [(str(n), n.label) for n in Nature],
        "urgencies": [(n.label, total[str(n)]) for n in Urgency],
        "moods": [(n.label, total[str(n)]) for n in Mood],
        "median_talk": median(TALK_BOUNDS, [total[n] for n in TALK_WITHIN], total["ended"]),
        "callbacks": callbacks,
        "escalations": escalations,
        "people": person_rows,
    }


def repeat_callers(span: Range) -> dict:
    """The callers who called REPEAT_CALLS times or more in the range: how many, and the
    SHOWN_REPEAT_CALLERS who called most. Counted from the calls (one grouped query): a
    count of callers over a range cannot be added up from days, and a long range costs
    its calls' time (90 days at a million calls: 0.2 s). So the dashboard asks for it
    apart, after the page (htmx), and keeps the answer REPEAT_SECONDS."""
    # The moments, not the days: the same days are other moments in another time zone.
    key = f"repeat-callers:{span.business_ids}:{span.start.isoformat()}:{span.end.isoformat()}"
    kept = cache.get(key)
    if kept is not None:
        return kept
    repeat = list(
        span.of(Call.objects.filter(started_at__gte=span.start, started_at__lt=span.end))
        .order_by()
        .values("caller_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=REPEAT_CALLS)
        .values_list("caller_id", "n")
    )
    repeat.sort(key=lambda pair: (-pair[1], pair[0]))
    found = {"count": len(repeat), "top": repeat[:SHOWN_REPEAT_CALLERS]}
    cache.set(key, found, REPEAT_SECONDS)
    return found


# Billing: how a business turns the seconds spent on its calls into billable minutes.
def minutes_text(minutes: float) -> str:
    """Billable minutes as written on a report and a statement: whole minutes, or tenths
    of a minute under the 6-second rule (1408094, 5.1)."""
    tenths = round(minutes * 10)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"


def billable_minutes(rule: str, *, seconds: int, minutes_up: int, sixths_up: int) -> float:
    """Billable minutes under `rule` (callers.models.BillingRule) from a month's tallies:
    each call rounded up to the minute, each call rounded up to 6 seconds (a tenth of a
    minute), or the month's seconds rounded up to the minute once."""
    if rule == "call_minute":
        return float(minutes_up)
    if rule == "call_6s":
        return sixths_up / 10
    if rule == "month_minute":
        return float(math.ceil(seconds / 60))
    raise ValueError(f"No billing rule {rule!r}.")


def minutes_by_day(business_id: int, first: date, last: date) -> list[dict]:
    """One business's days: calls, talk seconds and the per-call roundings' sums."""
    names = ("calls", "ended", "seconds", "minutes_up", "sixths_up")
    span = Range([business_id], first, last, None, None)
    rows = [
        {"day": as_date(day), **dict(zip(names, figures, strict=True))}
        for day, *figures in tally_sums(names, span, "day")
    ]
    return sorted(rows, key=lambda row: row["day"])
