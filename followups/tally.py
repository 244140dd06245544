"""The tallies: each business's days counted once, so that a report never reads every call.

A 90-day dashboard at a million calls covers about 500,000 calls; PostgreSQL needs a
quarter of a second to group them, forty times the page's budget. So the figures are kept
per business and day (the business's own calendar day) in followups.models.Tally (and
per person in PersonTally),
and a page adds up a few hundred of those rows.

They are recounted, never incremented: when a call, an escalation or a callback is saved
or deleted, the day it belongs to (the call's start, the escalation's raising, the
promise's making, in the business's time zone) is recounted from the rows themselves once
the change commits, every figure by the database (one grouped query per kind). A recount
holds a lock on the business (PostgreSQL), so two of them never interleave: the last one
reads everything committed before it started. Rows written around the models (the demo
loader's bulk inserts) are counted by `recount` over their whole range, which
`manage.py tally` also runs for anyone who wants to rebuild them.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Func, IntegerField, Q, Sum
from django.db.models.functions import ExtractHour, TruncDate

from callers.models import Business
from calls.models import Call, Escalation, EscalationStatus, Mood, Nature, Urgency
from followups.models import (
    ACK_BOUNDS,
    ACK_WITHIN,
    BACK_BOUNDS,
    BACK_WITHIN,
    KEPT_ON_TIME,
    TALK_BOUNDS,
    TALK_WITHIN,
    Callback,
    CallbackStatus,
    MonthPersonTally,
    MonthTally,
    PersonTally,
    Tally,
    counted,
)

NATURES = [str(nature) for nature in Nature]
SUMMED = (
    "calls",
    "seconds",
    "minutes_up",
    "sixths_up",
    "ended",
    *NATURES,
    *(str(urgency) for urgency in Urgency),
    *(str(mood) for mood in Mood),
    *TALK_WITHIN,
)


PERSON_FIGURES = ("calls", "ended", "escalations", "kept_on_time", *TALK_WITHIN)


class Seconds(Func):
    """Whole seconds from the second time to the first (rounded to the second), in SQL."""

    arity = 2
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND(EXTRACT(EPOCH FROM (%(expressions)s))) AS integer)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND((julianday(%(expressions)s)) * 86400) AS integer)",
            arg_joiner=") - julianday(",
            **extra,
        )


def day_bounds(first: date, last: date, zone) -> tuple[datetime, datetime]:
    """From the start of `first` to the start of the day after `last`, in `zone`."""
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )


def _calls(business_id, start, end, zone):
    talk = Seconds("ended_at", "started_at")
    return (
        Call.objects.filter(business_id=business_id, started_at__gte=start, started_at__lt=end)
        .order_by()
        .alias(talk=talk)
        .annotate(
            local_day=TruncDate("started_at", tzinfo=zone),
            hour=ExtractHour("started_at", tzinfo=zone),
        )
        .values_list("local_day", "taken_by_id", "hour", "nature")
        .annotate(
            calls=Count("pk"),
            seconds=Sum("talk"),
            minutes_up=Sum((F("talk") + 59) / 60),
            sixths_up=Sum((F("talk") + 5) / 6),
            ended=Count("talk"),
            **{str(urgency): Count("pk", filter=Q(urgency=urgency)) for urgency in Urgency},
            **{str(mood): Count("pk", filter=Q(mood=mood)) for mood in Mood},
            **{
                name: Count("pk", filter=Q(talk__lte=bound))
                for name, bound in zip(TALK_WITHIN, TALK_BOUNDS, strict=True)
            },
        )
    )


def _escalations(business_id, start, end, zone):
    return (
        Escalation.objects.filter(business_id=business_id, raised_at__gte=start, raised_at__lt=end)
        .order_by()
        .annotate(local_day=TruncDate("raised_at", tzinfo=zone))
        .values_list("local_day", "raised_by_id")
        .annotate(
            escalations=Count("pk"),
            acknowledged=Count("acknowledged_at"),
            acknowledged_in_time=Count("pk", filter=Q(acknowledged_at__lte=F("ack_deadline"))),
            resolved=Count("pk", filter=Q(status=EscalationStatus.RESOLVED)),
            **{
                name: Count(
                    "pk", filter=Q(acknowledged_at__lte=F("raised_at") + timedelta(seconds=bound))
                )
                for name, bound in zip(ACK_WITHIN, ACK_BOUNDS, strict=True)
            },
        )
    )


def _promises(business_id, start, end, zone):
    return (
        Callback.objects.filter(business_id=business_id, created_at__gte=start, created_at__lt=end)
        .order_by()
        .annotate(local_day=TruncDate("created_at", tzinfo=zone))
        .values_list("local_day", "created_by_id")
        .annotate(promised=Count("pk"))
    )


def _closings(business_id, start, end, zone):
    done = Q(status=CallbackStatus.DONE)
    return (
        Callback.objects.filter(
            business_id=business_id,
            created_at__gte=start,
            created_at__lt=end,
            status__in=[CallbackStatus.DONE, CallbackStatus.CANCELLED],
        )
        .order_by()
        .annotate(local_day=TruncDate("created_at", tzinfo=zone))
        .values_list("local_day", "closed_by_id")
        .annotate(
            kept=Count("pk", filter=done),
            kept_on_time=Count("pk", filter=KEPT_ON_TIME),
            cancelled=Count("pk", filter=Q(status=CallbackStatus.CANCELLED)),
            **{
                name: Count(
                    "pk", filter=done & Q(closed_at__lte=F("created_at") + timedelta(seconds=bound))
                )
                for name, bound in zip(BACK_WITHIN, BACK_BOUNDS, strict=True)
            },
        )
    )


def as_date(value) -> date:
    # TruncDate gives a date on PostgreSQL and an ISO text on SQLite through values_list.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _lock(business_id: int) -> None:
    """One recount of a business at a time (PostgreSQL; SQLite writes one at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7_335_001, business_id])


def recount(business_id: int, first: date, last: date | None = None) -> int:
    """Count the business's days from `first` to `last` (included) again; the rows written."""
    last = last or first
    zone = Business.objects.get(pk=business_id).zone
    start, end = day_bounds(first, last, zone)
    rows = defaultdict(lambda: defaultdict(int))
    hours = defaultdict(lambda: [[0] * len(NATURES) for _ in range(24)])
    with transaction.atomic():
        _lock(business_id)
        for day, person, hour, nature, *figures in _calls(business_id, start, end, zone):
            row = rows[as_date(day), person]
            for name, value in zip(SUMMED[:5], figures[:5], strict=True):
                row[name] += value or 0
            row[nature] += figures[0]
            for name, value in zip(SUMMED[5 + len(NATURES) :], figures[5:], strict=True):
                row[name] += value
            hours[as_date(day), person][hour][NATURES.index(nature)] += figures[0]
        for query, names in (
            (_escalations, ("escalations", "acknowledged", "acknowledged_in_time", "resolved")),
            (_promises, ("promised",)),
            (_closings, ("kept", "kept_on_time", "cancelled")),
        ):
            names = (*names, *{_escalations: ACK_WITHIN, _closings: BACK_WITHIN}.get(query, ()))
            for day, person, *figures in query(business_id, start, end, zone):
                row = rows[as_date(day), person]
                for name, value in zip(names, figures, strict=True):
                    row[name] += value
        days = defaultdict(lambda: defaultdict(int))
        hours_of = {}
        people = []
        for (day, person), figures in rows.items():
            kept = figures.pop("kept", 0)
            figures["kept_late"] = kept - figures.get("kept_on_time", 0)
            for name, value in figures.items():
                days[day][name] += value
            grid = hours.get((day, person))
            if grid:
                total = hours_of.setdefault(day, [[0] * len(NATURES) for _ in range(24)])
                for hour, counts in enumerate(grid):
                    for n, count in enumerate(counts):
                        total[hour][n] += count
            people.append(
                PersonTally(
                    business_id=business_id,
                    day=day,
                    person_id=person,
                    **{name: figures.get(name, 0) for name in PERSON_FIGURES},
                )
            )
        tallies = [
            Tally(business_id=business_id, day=day, hours=hours_of.get(day, []), **figures)
            for day, figures in days.items()
        ]
        for model in (Tally, PersonTally):
            model.objects.filter(business_id=business_id, day__gte=first, day__lte=last).delete()
        Tally.objects.bulk_create(tallies, batch_size=1000)
        PersonTally.objects.bulk_create(people, batch_size=1000)
        sum_months(business_id, first, last)
    return len(tallies)


def month_of(day: date) -> tuple[date, date]:
    """The first and last days of the month of `day`."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def sum_months(business_id: int, first: date, last: date) -> None:
    """Add up again the business's months that hold a day from `first` to `last`: each
    MonthTally and MonthPersonTally is the sum of its month's day rows (one INSERT ...
    SELECT a month and kind, by the database)."""
    quote = connection.ops.quote_name
    month, _ = month_of(first)
    with transaction.atomic(), connection.cursor() as cursor:
        while month <= last:
            start, end = month_of(month)
            for days, months, group in (
                (Tally, MonthTally, ""),
                (PersonTally, MonthPersonTally, "person_id"),
            ):
                names = [quote(name) for name in counted(days)]
                grouped = ["business_id", *([group] if group else [])]
                months.objects.filter(business_id=business_id, day=start).delete()
                cursor.execute(
                    f"INSERT INTO {quote(months._meta.db_table)} "
                    f"({', '.join([*grouped, 'day', *names])}) "
                    f"SELECT {', '.join(grouped)}, %s, "
                    f"{', '.join(f'SUM({name})' for name in names)} "
                    f"FROM {quote(days._meta.db_table)} "
                    "WHERE business_id = %s AND day >= %s AND day <= %s "
                    f"GROUP BY {', '.join(grouped)}",
                    [start, business_id, start, end],
                )
            month = end + timedelta(days=1)


def recount_all(business_id: int) -> int:
    """Every day of the business that has a call, an escalation or a promise."""
    first = [
        model.objects.filter(business_id=business_id)
        .order_by(field)
        .values_list(field, flat=True)[:1]
        for model, field in (
            (Call, "started_at"),
            (Escalation, "raised_at"),
            (Callback, "created_at"),
        )
    ]
    moments = [moment for query in first for moment in query]
    if not moments:
        for model in (Tally, PersonTally, MonthTally, MonthPersonTally):
            model.objects.filter(business_id=business_id).delete()
        return 0
    zone = Business.objects.get(pk=business_id).zone
    today = datetime.now(zone).date()
    start = min(moment.astimezone(zone).date() for moment in moments)
    written, day = 0, start
    # A month at a time, each replacing its own days in one transaction: the figures stay
    # whole meanwhile (a day is never shown empty), and each grouped query stays small.
    while day <= today:
        last = min(day + timedelta(days=30), today)
        written += recount(business_id, day, last)
        day = last + timedelta(days=1)
    for model in (Tally, PersonTally):  # days no longer the business's (another zone)
        model.objects.filter(business_id=business_id).exclude(
            day__gte=start, day__lte=today
        ).delete()
    for model in (MonthTally, MonthPersonTally):
        model.objects.filter(business_id=business_id).exclude(
            day__gte=month_of(start)[0], day__lte=today
        ).delete()
    return written


class _Recount:
    """The days to recount once the transaction that changed them commits."""

    def __init__(self):
        self.moments: set[tuple[int, datetime]] = set()
        self.ran = False
        # Django names a failing on_commit callback by its __qualname__ in the log.
        self.__qualname__ = "followups.tally recount"

    def __call__(self):
        self.ran = True
        if not self.moments:
            return
        zones = {
            pk: business.zone
            for pk, business in Business.objects.in_bulk(
                {business_id for business_id, _ in self.moments}
            ).items()
        }
        days = {
            (business_id, moment.astimezone(zones[business_id]).date())
            for business_id, moment in self.moments
            if business_id in zones
        }
        for business_id, day in sorted(days):
            recount(business_id, day)


def touch(business_id: int | None, moment: datetime | None) -> None:
    """Recount the business's day of `moment` after the current transaction commits (now,
    outside one). Several changes of one transaction recount each of their days once."""
    if business_id is None or moment is None:
        return
    current = transaction.get_connection()
    if current.in_atomic_block:
        # A recount queued in this same savepoint takes the day too; a rolled-back
        # savepoint drops its recount with its changes (Django's on_commit bookkeeping).
        for savepoints, callback, _robust in current.run_on_commit:
            if (
                isinstance(callback, _Recount)
                and not callback.ran
                and savepoints == set(current.savepoint_ids)
            ):
                callback.moments.add((business_id, moment))
                return
    pending = _Recount()
    pending.moments.add((business_id, moment))
    # Robust: a recount that fails is logged, and never turns a saved call into an error.
    transaction.on_commit(pending, robust=True)


def call_saved(sender, instance, **kwargs):
    touch(instance.business_id, instance.started_at)


def call_changing(sender, instance, **kwargs):
    """An edit may move a call to another day or business: recount the one it leaves."""
    if instance.pk is None or instance._state.adding:
        return
    before = Call.objects.filter(pk=instance.pk).values_list("business_id", "started_at").first()
    if before:
        touch(*before)


def escalation_saved(sender, instance, **kwargs):
    touch(instance.business_id, instance.raised_at)


def callback_saved(sender, instance, **kwargs):
    touch(instance.business_id, instance.created_at)


def business_changing(sender, instance, **kwargs):
    """A business moved to another time zone has other days: count them all again."""
    if instance.pk is None or instance._state.adding:
        return
    before = Business.objects.filter(pk=instance.pk).values_list("time_zone", flat=True).first()
    if before is not None and before != instance.time_zone:
        # Every day of the business, by the task worker: at a million calls that takes
        # seconds, which the manager saving the business should not wait for.
        from followups.tasks import recount_business

        business_id = instance.pk
        transaction.on_commit(lambda: recount_business.enqueue(business_id), robust=True)
