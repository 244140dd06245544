"""A business's working clock: its opening hours and closed days (holidays) on its own time
zone, as a clock that runs only while the business is open. A callback promised "within
business hours" is due when its minutes have run on this clock (followups.services)."""

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

# How many days a clock looks through for open time before it gives up: a business whose
# every day for a year is closed has, for this purpose, no hours.
LOOK_DAYS = 370


@dataclass(frozen=True)
class OpenClock:
    """Opening hours as (weekday, opens, closes) on the clock of `zone`, less `closed`."""

    zone: zoneinfo.ZoneInfo
    hours: tuple[tuple[int, time, time], ...]
    closed: frozenset[date] = frozenset()

    def open_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The times the business is open on a day of its calendar, as UTC instants in
        order: a daylight-saving change within them is counted as it happens."""
        if day in self.closed:
            return []
        found = []
        for weekday, opens, closes in self.hours:
            if weekday != day.weekday():
                continue
            start = datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC)
            end = datetime.combine(day, closes, tzinfo=self.zone).astimezone(UTC)
            if end > start:
                found.append((start, end))
        return sorted(found)

    def after(
        self, start: datetime, minutes: float, *, until: datetime | None = None
    ) -> datetime | None:
        """The moment `minutes` of open time have run from `start` (a moment the business
        is closed counts from its next opening); None when it never opens again, or, with
        `until`, when that moment would be later than `until`."""
        remaining = timedelta(minutes=minutes)
        start = start.astimezone(UTC)
        first = start.astimezone(self.zone).date()
        last = until.astimezone(self.zone).date() if until is not None else None
        for offset in range(LOOK_DAYS):
            day = first + timedelta(days=offset)
            if last is not None and day > last:
                return None
            for begin, end in self.open_on(day):
                if end <= start:
                    continue
                begin = max(begin, start)
                if remaining <= end - begin:
                    due = begin + remaining
                    return due if until is None or due <= until else None
                remaining -= end - begin
        return None

    def before(self, end: datetime, minutes: float) -> datetime | None:
        """The moment from which `minutes` of open time are left until `end`; None when
        the business was never open before it (within LOOK_DAYS)."""
        remaining = timedelta(minutes=minutes)
        end = end.astimezone(UTC)
        last = end.astimezone(self.zone).date()
        for offset in range(LOOK_DAYS):
            for begin, finish in reversed(self.open_on(last - timedelta(days=offset))):
                if begin >= end:
                    continue
                finish = min(finish, end)
                if remaining <= finish - begin:
                    return finish - remaining
                remaining -= finish - begin
        return None


def open_clock(zone, hours: Iterable, closed: Iterable = ()) -> OpenClock | None:
    """The working clock of these OpeningHours (or Hours rows) and closed days (ClosedDay
    rows or dates) on the clock of `zone`; None when there are no hours (any hour counts)."""
    rows = tuple(sorted((row.weekday, row.opens, row.closes) for row in hours))
    if not rows:
        return None
    days = frozenset(day if isinstance(day, date) else day.day for day in closed)
    return OpenClock(zone=zone, hours=rows, closed=days)


def clock_of(business, now=None) -> OpenClock | None:
    """A business's working clock, its hours and closed days read (two queries; the
    closed days from the day before `now` on)."""
    from callers.models import ClosedDay, OpeningHours

    now = now or timezone.now()
    hours = list(OpeningHours.objects.filter(business_id=business.pk))
    if not hours:
        return None
    closed = ClosedDay.objects.filter(
        business_id=business.pk, day__gte=now.date() - timedelta(days=2)
    ).values_list("day", flat=True)
    return open_clock(business.zone, hours, list(closed))
