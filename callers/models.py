"""Businesses, callers and their phone numbers."""

import re
import string
import time
import zoneinfo
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.db.models import F, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Upper
from django.urls import reverse
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from callers import phones


class BillingRule(models.TextChoices):
    """How an answering service turns talk time into billable minutes (a minute is 60 s)."""

    CALL_MINUTE = "call_minute", "Each call rounded up to the next minute"
    CALL_6S = "call_6s", "Each call rounded up to the next 6 seconds"
    MONTH_MINUTE = "month_minute", "The month's total rounded up to the next minute, once"


# The longest a person on call has to confirm an urgent message before the next is told.
CONFIRM_MOST_MINUTES = 24 * 60


class BusinessQuerySet(models.QuerySet):
    def for_user(self, user):
        """The businesses a user may work for."""
        ids = self.ids_for(user)
        return self.all() if ids is None else self.filter(pk__in=ids)

    def ids_for(self, user) -> list[int] | None:
        """The ids of the businesses `user` may work for, or None when that is every
        business (someone limited to none: a single office, an answering service's
        managers). Read with the person on every page (receptionist.auth), else once per
        user object."""
        if not user.is_authenticated:
            return []
        if user.is_superuser:
            return None
        if not hasattr(user, "_business_ids"):
            from receptionist.models import StaffBusiness

            ids = sorted(
                StaffBusiness.objects.filter(user=user).values_list("business_id", flat=True)
            )
            user._business_ids = ids or None
        return user._business_ids

    def of_client(self, user):
        """The one business a client (someone at a business, in its portal) belongs to, or
        None when they belong to no single one (a misconfigured account, or staff who
        work for several or every business): the portal then shows nothing."""
        ids = self.ids_for(user)
        if ids is None or len(ids) != 1:
            return None
        return self.filter(pk=ids[0]).first()

    def limit(self, queryset, user, business: str = "business"):
        """`queryset` limited to the rows of the businesses `user` may work for, through
        the `business` lookup ("business", "call__business").

        The one scoping rule of every list. When the user may work for every business the
        rows are not filtered at all: a filter by "every business" (a subquery) cost
        PostgreSQL as long to plan as the rest of the page's query (README, "Speed")."""
        ids = self.ids_for(user)
        if ids is None:
            return queryset
        return queryset.filter(**{f"{business}__in": ids})

    def default(self):
        """The business of a single office: the first active one (a migration creates
        it; one made inactive takes no new calls), else the first one."""
        business = self.order_by("-active", "pk").first()
        if business is None:
            business, _ = self.get_or_create(name="Front desk")
        return business


def validate_one_line(value: str) -> None:
    """A name is one line: no line breaks or other control characters (it heads e-mails)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("A name is one line: no line breaks or control characters.")


def validate_time_zone(value: str) -> None:
    """An IANA time zone name ("America/New_York")."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(
            "“%(value)s” is no time zone: pick one such as America/New_York or Europe/London.",
            params={"value": value},
            code="time_zone",
        ) from None


def default_time_zone() -> str:
    """A new business's time zone: the office's own (settings.TIME_ZONE)."""
    return settings.TIME_ZONE


# What a greeting may fill in: the first name of the receptionist who reads it.
GREETING_FIELDS = ("receptionist",)


def greeting_fields(text: str) -> list[str]:
    """The {fields} a greeting asks to fill in, as written (with any conversion or format:
    "{receptionist!r}" is no {receptionist}); a stray brace is a field "{"."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return ["{"]
    return [
        name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        for _, name, spec, conversion in parts
        if name is not None
    ]


def validate_greeting(value: str) -> None:
    """A greeting fills in {receptionist} and nothing else ({{ and }} are braces)."""
    unknown = [name for name in greeting_fields(value) if name not in GREETING_FIELDS]
    if unknown:
        raise ValidationError(
            "A greeting can fill in {receptionist} only (the first name of who answers); "
            "write {{ or }} for a brace.",
            code="greeting",
        )


class Business(models.Model):
    """A business whose phone is answered: a single office has one, an answering service many."""

    name = models.CharField(max_length=200, unique=True, validators=[validate_one_line])
    greeting = models.TextField(
        blank=True,
        max_length=500,
        validators=[validate_greeting],
        help_text="What the receptionist says on picking up. {receptionist} is their first "
        "name: “Thank you for calling Harbor Vet, this is {receptionist}, how may I help?”",
    )
    instructions = models.TextField(
        "instructions for receptionists",
        blank=True,
        max_length=5000,
        help_text="What to say, what never to promise, the questions callers often ask.",
    )
    after_hours_instructions = models.TextField(
        blank=True,
        max_length=5000,
        help_text="What to say when the business is closed (outside its opening hours).",
    )
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Its opening hours and the times promised to its callers are in this zone.",
    )
    message_text_in_email = models.BooleanField(
        "put the message in the e-mail",
        default=False,
        help_text="Off, the e-mail to its contacts only says a message was taken and links "
        "to the portal, where they read it after logging in (private details stay there).",
    )
    always_confirm = models.BooleanField(
        "confirm every message",
        default=False,
        help_text="Every message taken for it is delivered until someone on call confirms "
        "it; otherwise only messages of high or emergency urgency.",
    )
    confirm_minutes_emergency = models.PositiveSmallIntegerField(
        "minutes to confirm an emergency",
        default=10,
        validators=[
            MinValueValidator(1, "At least one minute."),
            MaxValueValidator(CONFIRM_MOST_MINUTES, "At most a day (1,440 minutes)."),
        ],
        help_text="When the person notified has not confirmed an emergency message by then, "
        "the next person on call is.",
    )
    confirm_minutes_high = models.PositiveSmallIntegerField(
        "minutes to confirm any other",
        default=30,
        validators=[
            MinValueValidator(1, "At least one minute."),
            MaxValueValidator(CONFIRM_MOST_MINUTES, "At most a day (1,440 minutes)."),
        ],
        help_text="The same for a message of high urgency (or any message, when every one "
        "is confirmed).",
    )
    billing_rule = models.CharField(
        "billing",
        max_length=12,
        choices=BillingRule.choices,
        default=BillingRule.CALL_MINUTE,
        help_text="How the seconds spent on its calls become billable minutes (the minutes "
        "report).",
    )
    active = models.BooleanField(
        default=True, help_text="An inactive business takes no new calls; its records stay."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "businesses"
        constraints = [
            # "Harbor Vet" and "harbor vet" are one business (business_save says so; this
            # holds when two managers add them at the same moment).
            models.UniqueConstraint(Upper("name"), name="business_name_unique_in_any_case"),
            models.CheckConstraint(
                condition=Q(confirm_minutes_emergency__gte=1)
                & Q(confirm_minutes_emergency__lte=CONFIRM_MOST_MINUTES)
                & Q(confirm_minutes_high__gte=1)
                & Q(confirm_minutes_high__lte=CONFIRM_MOST_MINUTES),
                name="business_confirm_minutes_within_a_day",
            ),
        ]

    def __str__(self):
        return self.name

    def greeting_for(self, user) -> str:
        """The greeting with the receptionist's first name filled in (their username when
        they have none). Only {receptionist} is filled: anything else stays as written."""
        name = (getattr(user, "first_name", "") or getattr(user, "username", "")).strip()
        out = []
        try:
            parts = list(string.Formatter().parse(self.greeting))
        except ValueError:
            return self.greeting
        for literal, field, spec, conversion in parts:
            out.append(literal)
            if field == "receptionist" and not spec and not conversion:
                out.append(name)
            elif field is not None:
                out.append("{" + field + (f"!{conversion}" if conversion else "") + "}")
        return "".join(out)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_time(self, at=None) -> datetime:
        """`at` (now by default) on the business's own clock."""
        return (at or timezone.now()).astimezone(self.zone)

    def is_open(self, at=None, hours=None, closed=None) -> bool | None:
        """Whether the business is open at `at` (now by default) by its opening hours and
        its closed days (holidays), on its own clock (a daylight-saving change included);
        None when it has no hours set. `hours`: its OpeningHours, `closed`: its ClosedDay
        rows (or their dates), when already read."""
        hours = list(self.hours.all() if hours is None else hours)
        if not hours:
            return None
        local = self.local_time(at)
        closed = self.closed_days.all() if closed is None else closed
        if local.date() in {day if isinstance(day, date) else day.day for day in closed}:
            return False
        moment = local.time().replace(tzinfo=None)
        return any(h.weekday == local.weekday() and h.opens <= moment < h.closes for h in hours)


# The active businesses as the call form offers them, each with its hours and inbound
# numbers, read once per process and kept for settings.BUSINESSES_SECONDS: the call form
# would otherwise read them on every call. Saving a business clears them in this process
# (callers.apps); another process shows a change within that time. A business sent with a
# call is always checked in the database (calls.services.call_log).
_active_kept: list = []


def active_businesses() -> list[Business]:
    """The active businesses, by name, with their opening hours and inbound numbers read."""
    now = time.monotonic()
    if _active_kept and now - _active_kept[0] < settings.BUSINESSES_SECONDS:
        return _active_kept[1]
    found = list(
        Business.objects.filter(active=True)
        .order_by("name", "pk")
        .prefetch_related(
            "hours",
            "inbound_numbers",
            # From yesterday on (somewhere it may still be yesterday): whether it is open
            # now, and on a callback's due day.
            Prefetch(
                "closed_days",
                queryset=ClosedDay.objects.filter(
                    day__gte=timezone.now().date() - timedelta(days=1)
                ),
            ),
        )
    )
    _active_kept[:] = [now, found]
    return found


# Every business's name, and how many are active, kept as the active businesses are.
_names_kept: list = []


def business_names() -> dict[int, str]:
    """{id: name} of every business when several are active (an answering service: the
    lists name each row's business), else {} (a single office names none). One query,
    kept by each process for settings.BUSINESSES_SECONDS."""
    several, names = _names()
    return names if several else {}


def every_business_name() -> dict[int, str]:
    """{id: name} of every business, active or not (kept as business_names is)."""
    return _names()[1]


def _names() -> tuple[bool, dict[int, str]]:
    now = time.monotonic()
    if not _names_kept or now - _names_kept[0] >= settings.BUSINESSES_SECONDS:
        rows = list(Business.objects.values_list("pk", "name", "active"))
        several = sum(active for _, _, active in rows) > 1
        _names_kept[:] = [now, (several, {pk: name for pk, name, _ in rows})]
    return _names_kept[1]


def forget_active_businesses(**kwargs) -> None:
    """Read the active businesses again on next use (a business or its hours changed)."""
    _active_kept.clear()
    _names_kept.clear()


def business_dialed(dialed: str, businesses: list[Business]) -> Business | None:
    """Which of these businesses the number dialed rings for (any common format), or None."""
    number = phones.to_e164(str(dialed or ""))
    if number is None:
        return None
    for business in businesses:
        if any(n.number.as_e164 == number for n in business.inbound_numbers.all()):
            return business
    return None


class Hours(NamedTuple):
    """Opening hours as a plain row (what Business.is_open reads of OpeningHours)."""

    weekday: int
    opens: dt_time
    closes: dt_time


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """A time a business is open on a weekday, on its own clock (several a day for a break)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["business", "weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")), name="opening_hours_close_after_open"
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self):
        if self.opens is not None and self.closes is not None and self.closes <= self.opens:
            raise ValidationError(
                {
                    "closes": "Closes must be after it opens. Hours past midnight: add the "
                    "next day from 00:00."
                }
            )


class InboundNumber(models.Model):
    """A number that rings for a business: a call to it is that business's (`?dialed=`)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="inbound_numbers")
    number = PhoneNumberField(unique=True)

    class Meta:
        ordering = ["business", "number"]

    def __str__(self):
        return str(self.number)


class BusinessContact(models.Model):
    """Someone at a business who receives its messages."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField("e-mail", blank=True)
    phone = PhoneNumberField(blank=True)
    role = models.CharField(max_length=100, blank=True, help_text="Practice manager, owner, ...")

    class Meta:
        ordering = ["business", "name", "pk"]

    def __str__(self):
        return self.name


class ClosedDay(models.Model):
    """A date a business is closed all day (a holiday), on its own calendar."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="closed_days")
    day = models.DateField()
    name = models.CharField(max_length=100, blank=True, validators=[validate_one_line])

    class Meta:
        ordering = ["business", "day"]
        constraints = [
            models.UniqueConstraint(fields=["business", "day"], name="closed_day_once"),
        ]

    def __str__(self):
        return f"{self.day:%Y-%m-%d} {self.name}".strip()


# The most people one on-call shift lists, in order (first, then the backups).
ON_CALL_MOST_PLACES = 4


class OnCallShift(models.Model):
    """A time someone is on call for a business, on its own clock: a weekly slot of its
    rotation (`weekday`), or a dated exception (`starts_on`: a holiday, a swap) that
    replaces the rotation while it lasts. Its people are its places, in order."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="on_call_shifts")
    # A weekly slot: from `starts` on this weekday to `ends`, on the next day when `ends`
    # is not after `starts` (18:00-08:00 is overnight, 00:00-00:00 the whole day).
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, null=True, blank=True)
    # A dated exception: from `starts` on `starts_on` to `ends` on `ends_on`.
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    starts = models.TimeField()
    ends = models.TimeField()
    note = models.CharField(max_length=200, blank=True, validators=[validate_one_line])

    class Meta:
        ordering = ["business", "weekday", "starts_on", "starts", "pk"]
        constraints = [
            # Weekly (a weekday, no dates) or dated (both dates, no weekday).
            models.CheckConstraint(
                condition=Q(weekday__isnull=False, starts_on__isnull=True, ends_on__isnull=True)
                | Q(weekday__isnull=True, starts_on__isnull=False, ends_on__isnull=False),
                name="on_call_shift_weekly_or_dated",
            ),
            models.CheckConstraint(
                condition=Q(weekday__isnull=True) | Q(weekday__lte=6),
                name="on_call_shift_weekday_valid",
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__gt=F("starts_on"))
                | Q(ends_on=F("starts_on"), ends__gt=F("starts")),
                name="on_call_shift_dated_ends_after_it_starts",
            ),
        ]
        indexes = [
            models.Index(
                fields=["business", "ends_on"],
                condition=Q(weekday__isnull=True),
                name="on_call_exception_idx",
            ),
        ]

    def __str__(self):
        if self.weekday is not None:
            return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"
        return f"{self.starts_on} {self.starts:%H:%M} to {self.ends_on} {self.ends:%H:%M}"

    def contacts_in_order(self) -> list:
        """Its people, first to tell first: as callers.oncall.read_shifts read them with the
        shift (`places_in_order`), else read now."""
        places = getattr(self, "places_in_order", None)
        if places is None:
            places = self.places.select_related("contact").order_by("position")
        return [place.contact for place in places]

    @property
    def is_exception(self) -> bool:
        return self.weekday is None


class OnCallPlace(models.Model):
    """A contact's place in an on-call shift's order: notified first, or as a backup."""

    shift = models.ForeignKey(OnCallShift, on_delete=models.CASCADE, related_name="places")
    contact = models.ForeignKey(
        BusinessContact, on_delete=models.CASCADE, related_name="on_call_places"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["shift", "position"]
        constraints = [
            models.UniqueConstraint(fields=["shift", "position"], name="on_call_place_once"),
            models.UniqueConstraint(fields=["shift", "contact"], name="on_call_contact_once"),
        ]

    def __str__(self):
        return f"{self.position}: {self.contact_id}"


DEFAULT_HANDLING_NOTE = "Difficult caller: involve a manager early."
# The name of each business's one record of calls from nobody known (see Caller.unknown).
UNKNOWN_CALLER_NAME = "Unknown caller"
HANDLING_NOTE_NEEDED = "Say how to handle this caller next time."


class CallerQuerySet(models.QuerySet):
    def for_user(self, user):
        """Callers of the businesses this user may work for."""
        return Business.objects.limit(self, user)

    def people(self):
        """Callers who are someone: not a business's record of unknown callers."""
        return self.filter(unknown=False)

    def with_phones(self):
        return self.prefetch_related(
            Prefetch("phones", queryset=CallerPhone.objects.order_by("pk"))
        )

    def search(self, text: str):
        """Callers whose number, name or organisation matches what was typed. A number
        matches from its start (3 digits on) or anywhere in it (4 digits on)."""
        text = (text or "").strip()
        if not text:
            return self
        number = self.number_typed(text)
        if number:
            return self.with_number(*number)
        return self.filter(self.name_contains(text))

    @staticmethod
    def number_typed(text: str) -> tuple[str, list[str]] | None:
        """How `search` reads a number typed: its E.164 start and its runs of digits
        (with_number's values); None when the text is no number (a name, then)."""
        prefix = phones.e164_prefix(text)
        return (prefix, sorted(phones.digit_runs(text))) if prefix else None

    def with_number(self, prefix: str, runs: list[str]):
        """Callers with a number that starts with `prefix` (E.164) or contains one of
        `runs` (digits): a number typed, as `search` reads it."""
        found = Q(number__startswith=prefix)
        for run in runs:
            found |= Q(number__contains=run)
        return self.filter(pk__in=CallerPhone.objects.filter(found).values("caller_id"))

    @staticmethod
    def name_contains(text: str) -> Q:
        """Name or organisation contains the text, in any case. SQLite's LIKE folds the
        case of A-Z only: there a regular expression (Python's, Unicode-aware) does it."""
        if connection.vendor == "sqlite":
            pattern = re.escape(text)
            return Q(name__iregex=pattern) | Q(organisation__iregex=pattern)
        return Q(name__icontains=text) | Q(organisation__icontains=text)

    def for_lookup(self, *, phone: str = "", name: str = ""):
        """The lookup panel's candidates as the number or name is typed, best first: callers
        with a caution flag, then VIPs, then by name. The number wins once it has 3 digits;
        a name needs 2 characters, and finds no one when more than LOOKUP_NAMED_MOST people
        have it (the panel then asks for more of it)."""
        text = self.lookup_text(phone=phone, name=name)
        if not text:
            return self.none()
        if self.number_typed(text):
            return self.search(text).lookup_order()
        ids = self.named_ids(text)
        if len(ids) > LOOKUP_NAMED_MOST:
            return self.none()
        return self.filter(pk__in=ids).lookup_order()

    def first_by_name(self, after: Q, n: int, *, few: bool = False) -> list[int]:
        """The ids of the first `n` of these callers (a search of them) by (name, id),
        after a cursor (`after`, receptionist.pagination.after_cursor; Q() on the first
        page). On PostgreSQL in two parts, the second read only when the first does not
        fill the page: the matches among the NAME_WINDOW callers next in name order, found
        by walking the name index (which holds the organisation too) and checking each
        entry; then the matches beyond those, found through the trigram indexes and sorted,
        in an order the planner cannot take from the name index. A surname ("smith") fills
        a page within a few thousand names; a first name ("olivia") lies where the names
        of those who have it begin, and walked to, the page read 74,000 callers (50 ms at
        100,000 callers), where finding and sorting its 1,500 takes 2 ms. The parts split
        the callers at a name, so together they are exactly the callers and the order of
        the plain query. `few`: the search finds few callers however many there are
        (finds_few: a number of six digits or more), read and sorted at once: walking the
        window first checked 3,000 callers' numbers in vain (10 ms) for a number 900 have."""
        ordered = self.filter(after).order_by("name", "pk")
        if connection.vendor != "postgresql":
            return list(ordered.values_list("pk", flat=True)[:n])
        hidden = Concat(F("name"), Value(""), output_field=models.CharField())
        if few:
            found = self.filter(after).alias(hidden_name=hidden).order_by("hidden_name", "pk")
            return list(found.values_list("pk", flat=True)[:n])
        every = Caller.objects.all()
        if not after:
            edge = first_name_edge()
            if edge is None:  # fewer callers than the window
                return list(ordered.values_list("pk", flat=True)[:n])
        else:
            edge = Coalesce(
                Subquery(
                    every.filter(after)
                    .order_by("name", "pk")
                    .values("name")[NAME_WINDOW : NAME_WINDOW + 1]
                ),
                Subquery(every.order_by("-name").values("name")[:1]),
            )
        near = ordered.filter(name__lte=edge).values_list("pk", flat=True)[:n]
        far = (
            self.filter(after, name__gt=edge)
            .alias(hidden_name=hidden)
            .order_by("hidden_name", "pk")
            .values_list("pk", flat=True)[:n]
        )
        # PostgreSQL reads the parts of UNION ALL in turn and stops at the limit.
        return list(near.union(far, all=True)[:n])

    def named_like(self, text: str):
        """The people whose name or organisation contains `text`, in no order: the lookup
        panel reads at most LOOKUP_NAMED_MOST + 1 of them (one more tells there are too
        many to look through)."""
        return self.people().filter(self.name_contains(text)).order_by()

    def named_ids(self, text: str) -> list[int]:
        """The ids of named_like's callers, at most LOOKUP_NAMED_MOST + 1."""
        found = self.named_like(text).values_list("pk", flat=True)
        return list(found[: LOOKUP_NAMED_MOST + 1])

    @staticmethod
    def lookup_text(*, phone: str = "", name: str = "") -> str:
        """What the lookup panel searches for (`search`): the number once it has 3 digits,
        else the name from 2 characters; "" while neither is typed."""
        if sum(ch.isdigit() for ch in phone) >= 3:
            return phone
        return name if len(name.strip()) >= 2 else ""

    def lookup_order(self):
        """The people among these callers, best first for the lookup panel."""
        return self.people().order_by("-caution", "-is_vip", "name", "pk")

    def matching(self, *, phone, name: str = ""):
        """Who is on the phone: the callers who have exactly this number, and this name when
        one was typed. The one rule behind the call form, the lookup panel and call_log:
        one match is the caller; none means a new caller; several means pick one."""
        e164 = phones.to_e164(str(phone or ""))
        if e164 is None:
            return self.none()
        found = self.filter(pk__in=CallerPhone.objects.filter(number=e164).values("caller_id"))
        if name.strip():
            found = found.filter(name__iexact=name.strip())
        return found

    def named(self, name: str):
        """Who is on the phone when the number is withheld: the callers with exactly this
        name, in any case (never the record of unknown callers)."""
        name = name.strip()
        if not name:
            return self.none()
        return self.people().filter(name__iexact=name)


# How many callers, in name order, a search of the callers walks past, checking each one,
# before it looks for its other matches through the trigram indexes (first_by_name).
NAME_WINDOW = 3000
# A number typed with this many digits or more is one few callers have: an area code and
# an exchange are six, and an exchange's numbers are at most 10,000 (finds_few).
FEW_DIGITS = 6


def finds_few(text: str) -> bool:
    """Whether the search `text` (CallerQuerySet.search) finds few callers whatever their
    number: a number of FEW_DIGITS digits or more (first_by_name's `few`)."""
    return bool(Caller.objects.number_typed(text)) and (
        sum(ch.isdigit() for ch in text) >= FEW_DIGITS
    )


# How long a process keeps the name NAME_WINDOW callers from the first (first_name_edge).
NAME_EDGE_KEPT = 60.0
_name_edge_kept: dict[str, tuple[float, str | None]] = {}


def first_name_edge() -> str | None:
    """The name of the caller just past the first NAME_WINDOW by (name, id): where
    first_by_name's window ends on a first page, read once a minute per process instead
    of on every search (walking 5,000 index entries took half a millisecond of a 2 ms
    page). Any edge gives the same callers in the same order; None: fewer callers."""
    now = time.monotonic()
    kept = _name_edge_kept.get(connection.alias)
    if kept is not None and now - kept[0] < NAME_EDGE_KEPT:
        return kept[1]
    edge = (
        Caller.objects.order_by("name", "pk")
        .values_list("name", flat=True)[NAME_WINDOW : NAME_WINDOW + 1]
        .first()
    )
    _name_edge_kept[connection.alias] = (now, edge)
    return edge


# A name typed into the lookup panel that more people have than this finds no one: the
# panel asks for more of the name, or the number. Sorting the 1,500 callers a first name
# finds at 100,000 callers, to show five of them, was most of the panel's time.
LOOKUP_NAMED_MOST = 50


class Caller(models.Model):
    """A person who phones the front desk, known by name and one or more numbers."""

    # The columns of the callers list's rows (jinja/callers/caller-rows.html).
    LIST_COLUMNS = (
        "business_id",
        "name",
        "organisation",
        "things_to_remember",
        "is_vip",
        "caution",
        "caution_note",
    )

    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="callers")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    things_to_remember = models.TextField(
        blank=True,
        max_length=2000,
        help_text="What matters to this caller: names, preferences, circumstances.",
    )
    is_vip = models.BooleanField("VIP", default=False)
    caution = models.BooleanField(
        default=False, help_text="Difficult caller: show the handling note on every call."
    )
    caution_note = models.TextField(
        "handling note", blank=True, max_length=2000, help_text="How to handle this caller."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Optimistic locking: an edit names the version it started from (see caller_update).
    version = models.PositiveIntegerField(default=1)
    # One per business: the caller of the calls logged with the number withheld and no name
    # given (callers.services.caller_unknown). Not a person: never matched, edited or merged.
    # The database default lets the demo loader's COPY leave the column out.
    unknown = models.BooleanField(default=False, db_default=False, editable=False)

    history = HistoricalRecords(excluded_fields=["version"])
    objects = CallerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        permissions = [
            ("merge_caller", "Can merge duplicate callers"),
            ("flag_caller", "Can set or clear a caller's caution flag"),
        ]
        indexes = [
            # By name, holding what a search checks (first_by_name walks it without
            # reading the table) and the business a person may be limited to.
            models.Index(
                fields=["name", "id"],
                include=["organisation", "business"],
                name="caller_name_idx",
            ),
            # A name typed whole, in any case (named(), name__iexact: a withheld number's
            # caller, the lookup panel's choice): without it PostgreSQL rechecked the
            # trigram index's 1,500 candidates for "olivia" in 935 table pages, 3 ms.
            models.Index(Upper("name"), name="caller_name_upper_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(caution=True) | Q(caution_note=""),
                name="caller_caution_note_only_with_caution",
            ),
            models.UniqueConstraint(
                fields=["business"],
                condition=Q(unknown=True),
                name="caller_one_unknown_per_business",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("callers:detail", args=[self.pk])

    def clean(self):
        if not self.caution and self.caution_note.strip():
            raise ValidationError(
                {"caution_note": "A handling note only goes with the caution flag."}
            )
        if self.caution and not self.caution_note.strip():
            raise ValidationError({"caution_note": HANDLING_NOTE_NEEDED})

    @property
    def handling_note(self) -> str:
        """What to do with a caller who has the caution flag (a default when no note)."""
        if not self.caution:
            return ""
        return self.caution_note or DEFAULT_HANDLING_NOTE

    @property
    def primary_phone(self):
        numbers = list(self.phones.all())
        return numbers[0].number if numbers else None


class _NumberList(models.Field):
    """What NumbersOf reads: a list of numbers as stored (E.164 text)."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return []
        if isinstance(value, str):  # SQLite: joined by the unit separator
            return value.split(NUMBER_SEPARATOR)
        return list(value)


# Joins a caller's numbers on databases without arrays; no phone number holds it.
NUMBER_SEPARATOR = "\x1f"


class NumbersOf(models.Expression):
    """The numbers of the caller a row points at (its `caller_id`, or another column
    holding a caller's id), as stored (E.164 text), oldest first: a list read with the row,
    in the row's own query. For rows that only show and dial the numbers (the `phone` and
    `tel` filters read the text; a PhoneNumber of each would parse it, ~15 µs a number).
    A second query for the numbers cost the callback queue a tenth of its time."""

    output_field = _NumberList()

    def __init__(self, caller: str = "caller_id", *, of: str = "number"):
        """`of`: another field of the numbers, in the same order (their labels)."""
        super().__init__()
        self.caller = F(caller)
        self.of = of

    def get_source_expressions(self):
        return [self.caller]

    def set_source_expressions(self, exprs):
        (self.caller,) = exprs

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.caller)
        q = connection.ops.quote_name
        phones = CallerPhone._meta
        table = q(phones.db_table)
        number = f"{table}.{q(phones.get_field(self.of).column)}"
        where = f"{table}.{q(phones.get_field('caller').column)} = {column}"
        order = f"{table}.{q(phones.pk.column)}"
        if connection.vendor == "postgresql":
            return (
                f"ARRAY(SELECT {number}::text FROM {table} WHERE {where} ORDER BY {order})",
                params,
            )
        return (
            f"(SELECT group_concat(n, %s) FROM (SELECT {number} AS n FROM {table} "
            f"WHERE {where} ORDER BY {order}))",
            [NUMBER_SEPARATOR, *params],
        )


class CallerPhoneQuerySet(models.QuerySet):
    def containing(self, text: str):
        """Numbers that contain a number typed in any format, whole or from 4 digits on."""
        return self.containing_runs(sorted(phones.digit_runs(text)))

    def containing_runs(self, runs: list[str]):
        """Numbers that contain one of these runs of digits (phones.digit_runs)."""
        if not runs:
            return self.none()
        found = Q()
        for run in runs:
            found |= Q(number__contains=run)
        return self.filter(found)


class CallerPhone(models.Model):
    """One phone number of a caller, stored in E.164."""

    class Label(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        HOME = "home", "Home"
        WORK = "work", "Work"
        OTHER = "other", "Other"

    caller = models.ForeignKey(Caller, on_delete=models.CASCADE, related_name="phones")
    number = PhoneNumberField()
    label = models.CharField(max_length=10, choices=Label.choices, default=Label.MOBILE)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = CallerPhoneQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["caller", "number"], name="callerphone_unique_number"),
            models.CheckConstraint(
                condition=Q(label__in=["mobile", "home", "work", "other"]),
                name="callerphone_label_valid",
            ),
        ]
        indexes = [
            # varchar_pattern_ops lets PostgreSQL use the index for "starts with" lookups
            # as the number is typed; other databases ignore the operator class.
            models.Index(
                fields=["number"], name="callerphone_number_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self):
        return str(self.number)


class CallerViewQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The openings of the pages of callers of the person's businesses."""
        allowed = Business.objects.ids_for(user)
        return self if allowed is None else self.filter(caller__business_id__in=allowed)


class CallerView(models.Model):
    """Someone opened a caller's page: who read whose record, and when (privacy).

    Written by callers.services.caller_viewed, read by managers per caller and per person
    (callers.views.caller_views). A merged caller's openings move to the caller kept."""

    caller = models.ForeignKey(Caller, on_delete=models.CASCADE, related_name="page_views")
    viewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="callers_viewed"
    )
    viewed_at = models.DateTimeField(default=timezone.now)

    objects = CallerViewQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["caller", "-viewed_at", "-id"], name="callerview_caller_idx"),
            models.Index(fields=["viewed_by", "-viewed_at", "-id"], name="callerview_person_idx"),
        ]

    def __str__(self):
        return f"{self.viewed_by_id} opened caller {self.caller_id} at {self.viewed_at}"
