"""Who is on call for a business, when: its weekly rotation and its dated exceptions, on
its own clock (callers.models.OnCallShift). The call form, the screen pop and the delivery
ladder of urgent messages (followups.deliveries) ask `on_call_of` / `on_call_now`; the
on-call page draws `coverage`.

An exception (a holiday, a swap) replaces the rotation while it lasts; a time no shift
covers, or an exception that names nobody, is a gap: nobody is on call. A business with
no weekly rotation keeps a schedule only while one of its exceptions holds."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import NamedTuple

from django.db.models import Prefetch, Q
from django.utils import timezone

from callers.models import Business, BusinessContact, OnCallPlace, OnCallShift


class OnCall(NamedTuple):
    """Who is on call at a moment: `contacts` first first ([] in a gap), the shift that
    says so (None in a gap), and whether the schedule speaks for that moment (`scheduled`):
    the business keeps a weekly rotation, or one of its exceptions holds then. A business
    with exceptions only (a holiday ahead, say) keeps no schedule outside them: its urgent
    messages go to its contacts in turn (followups.deliveries.ladder_for), as for one with
    no schedule at all, rather than straight to the managers."""

    contacts: list[BusinessContact]
    shift: OnCallShift | None
    scheduled: bool


def local(day: date, at: time, zone) -> datetime:
    """A time of a business's calendar as a UTC instant (a time the clocks skip is read as
    the moment they jump: 02:30 on the night they go forward is 03:30)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def weekly_span(shift: OnCallShift, day: date, zone) -> tuple[datetime, datetime]:
    """When a weekly slot holds on `day` (a day of its weekday): from its start to its end,
    the next day when the end is not after the start."""
    end_day = day if shift.ends > shift.starts else day + timedelta(days=1)
    return local(day, shift.starts, zone), local(end_day, shift.ends, zone)


def exception_span(shift: OnCallShift, zone) -> tuple[datetime, datetime]:
    return local(shift.starts_on, shift.starts, zone), local(shift.ends_on, shift.ends, zone)


def _spans(shifts, first: date, last: date, zone):
    """(start, end, shift, is_exception) of every shift holding between the days `first`
    and `last` of the business's calendar (a slot of the day before may run into it)."""
    for shift in shifts:
        if shift.is_exception:
            start, end = exception_span(shift, zone)
            yield start, end, shift, True
            continue
        day = first - timedelta(days=1)
        while day <= last:
            if day.weekday() == shift.weekday:
                start, end = weekly_span(shift, day, zone)
                yield start, end, shift, False
            day += timedelta(days=1)


def covering(shifts, at: datetime, zone) -> OnCallShift | None:
    """The shift that says who is on call at `at`: an exception holding then, else a slot
    of the rotation; None: nobody (a gap)."""
    day = at.astimezone(zone).date()
    weekly = None
    for start, end, shift, is_exception in _spans(shifts, day, day, zone):
        if start <= at < end:
            if is_exception:
                return shift
            weekly = weekly or shift
    return weekly


def read_shifts(business_ids, since: date) -> dict[int, list[OnCallShift]]:
    """The on-call shifts of these businesses that matter from the day `since` on (the
    whole rotation, the exceptions not over before it), each with its places and their
    contacts in order: two queries, however many businesses."""
    # Into a list of each shift's own (to_attr): through the relation's manager, Django
    # built a QuerySet per shift, which took longer than the two queries (4 ms for 14).
    places = Prefetch(
        "places",
        queryset=OnCallPlace.objects.select_related("contact").order_by("position"),
        to_attr="places_in_order",
    )
    found: dict[int, list[OnCallShift]] = {pk: [] for pk in business_ids}
    shifts = (
        OnCallShift.objects.filter(business_id__in=list(found))
        .filter(Q(weekday__isnull=False) | Q(ends_on__gte=since))
        .prefetch_related(places)
        .order_by("starts_on", "weekday", "starts", "pk")
    )
    for shift in shifts:
        found[shift.business_id].append(shift)
    return found


def shifts_since(at: datetime) -> date:
    """The day from which the shifts that may hold at `at` are read (two days before it, in
    UTC: the day before the earliest business's date then)."""
    return at.astimezone(UTC).date() - timedelta(days=2)


def on_call_of(businesses, at: datetime | None = None, *, shifts=None) -> dict[int, OnCall]:
    """Who is on call for each of these businesses at `at` (now by default): two queries
    whatever their number. `shifts`: theirs as read_shifts read them (from two days before
    `at`), when already read (callers.oncall_shown keeps them for the pages)."""
    at = at or timezone.now()
    businesses = list(businesses)
    if not businesses:
        return {}
    if shifts is None:
        # The day before the earliest business's date now: every exception still holding.
        shifts = read_shifts([business.pk for business in businesses], shifts_since(at))
    answer = {}
    for business in businesses:
        own = shifts[business.pk]
        shift = covering(own, at, business.zone) if own else None
        contacts = shift.contacts_in_order() if shift else []
        rotation = any(not kept.is_exception for kept in own)
        answer[business.pk] = OnCall(
            contacts=contacts, shift=shift, scheduled=rotation or shift is not None
        )
    return answer


def on_call_now(business: Business, at: datetime | None = None) -> list[BusinessContact]:
    """Who is on call for `business` at `at` (now by default), in order: the first to tell,
    then the backups. [] when nobody is (a gap, or no schedule for that moment). Two
    queries."""
    return on_call_of([business], at)[business.pk].contacts


@dataclass
class Stretch:
    """A stretch of a day of the on-call page: who is on call from `start` to `end` (UTC
    instants; `starts`/`ends` as its clock shows them), or nobody (`shift` None, or an
    exception naming nobody): a gap. Not a gap but `unscheduled`: no shift, at a business
    that keeps no weekly rotation, whose urgent messages then go to its contacts in turn
    (OnCall.scheduled, followups.deliveries.ladder_for)."""

    start: datetime
    end: datetime
    starts: str
    ends: str
    shift: OnCallShift | None
    contacts: list = field(default_factory=list)
    now: bool = False
    unscheduled: bool = False

    @property
    def is_gap(self) -> bool:
        return not self.contacts and not self.unscheduled

    @property
    def is_exception(self) -> bool:
        return self.shift is not None and self.shift.is_exception


@dataclass
class Day:
    day: date
    stretches: list[Stretch]

    @property
    def has_gap(self) -> bool:
        return any(stretch.is_gap for stretch in self.stretches)


def coverage(
    business: Business, shifts, *, first: date, days: int, now=None, has_contacts=True
) -> list[Day]:
    """Who is on call on each of `days` days of the business's calendar from `first`, as
    stretches that each hold one shift (or none: a gap, or, at a business without a weekly
    rotation that `has_contacts` to tell in turn, no schedule), split at midnight."""
    zone = business.zone
    in_turn = has_contacts and not any(not shift.is_exception for shift in shifts)
    now = now or timezone.now()
    last = first + timedelta(days=days - 1)
    bounds = [local(first + timedelta(days=n), time(0), zone) for n in range(days + 1)]
    window_start, window_end = bounds[0], bounds[-1]
    midnights = set(bounds)
    spans = list(_spans(shifts, first, last, zone))
    cuts = set(midnights)
    for start, end, _, _ in spans:
        cuts.update(moment for moment in (start, end) if window_start < moment < window_end)
    cuts = sorted(cuts)
    # The spans holding at each cut, walked in time order (a few at any moment).
    spans.sort(key=lambda span: span[0])
    waiting, holding = iter(spans), []
    upcoming = next(waiting, None)
    pieces: list[list] = []
    for start, end in pairwise(cuts):
        while upcoming is not None and upcoming[0] <= start:
            holding.append(upcoming)
            upcoming = next(waiting, None)
        holding = [span for span in holding if span[1] > start]
        exception = next((span[2] for span in holding if span[3]), None)
        weekly = next((span[2] for span in holding if not span[3]), None)
        shift = exception or weekly
        if pieces and pieces[-1][2] is shift and start not in midnights:
            pieces[-1][1] = end
        else:
            pieces.append([start, end, shift])
    by_day: dict[date, list[Stretch]] = {first + timedelta(days=n): [] for n in range(days)}
    for start, end, shift in pieces:
        starts, ends = start.astimezone(zone), end.astimezone(zone)
        day = starts.date()
        if day not in by_day:
            continue
        stretch = Stretch(
            start=start,
            end=end,
            starts=f"{starts:%H:%M}",
            ends="24:00" if end in midnights else f"{ends:%H:%M}",
            shift=shift,
            contacts=shift.contacts_in_order() if shift else [],
            now=start <= now < end,
            unscheduled=shift is None and in_turn,
        )
        by_day[day].append(stretch)
    return [Day(day=day, stretches=stretches) for day, stretches in by_day.items()]
