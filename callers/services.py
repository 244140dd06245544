"""Writes on callers (create, update with its numbers, the caution flag, merge) and on the
businesses they belong to (add, change, make inactive, who is on call when)."""

from datetime import date, datetime, time, timedelta
from itertools import pairwise

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from callers.models import (
    ON_CALL_MOST_PLACES,
    UNKNOWN_CALLER_NAME,
    Business,
    BusinessContact,
    Caller,
    CallerPhone,
    CallerView,
    ClosedDay,
    InboundNumber,
    OnCallPlace,
    OnCallShift,
    OpeningHours,
    Weekday,
    forget_active_businesses,
)
from callers.oncall_shown import forget_on_call
from callers.phones import NOT_A_NUMBER, to_e164
from receptionist.bounds import EARLIEST, LATEST, OUT_OF_RANGE
from receptionist.templatetags.words import phone as phone_as_read

# What an edit may change, in the order the form shows it; the caution flag and its note
# only with the flag permission.
EDITABLE_FIELDS = (
    "name",
    "email",
    "organisation",
    "things_to_remember",
    "is_vip",
    "caution",
    "caution_note",
)
CAUTION_FIELDS = {"caution", "caution_note"}


class CallerConflict(Exception):
    """Someone else saved the caller after this person opened it."""

    def __init__(self, current: Caller):
        super().__init__(f"Caller {current.pk} is at version {current.version}")
        self.current = current


class CallerGone(Exception):
    """The caller was merged into another one (or removed) meanwhile."""

    def __init__(self, pk: int):
        super().__init__(f"Caller {pk} no longer exists")
        self.pk = pk


@transaction.atomic
def caller_create(
    *, business: Business, name: str, user, phone: str | None = None, **fields
) -> Caller:
    """Create a caller with an optional first phone number (a number by the rule the call
    form and the lookup panel read numbers with: callers.phones.parse). The caution flag and
    its note are a manager's to set (`user`), as on an edit."""
    number = None
    if phone:
        number = to_e164(str(phone))
        if number is None:
            raise ValidationError({"phone": NOT_A_NUMBER})
    if any(fields.get(name) for name in CAUTION_FIELDS) and not user.has_perm(
        "callers.flag_caller"
    ):
        raise ValidationError(
            {"caution": "Only a manager can set or clear the caution flag or its note."}
        )
    caller = Caller(business=business, name=name.strip(), **fields)
    caller.full_clean(exclude=["business"])
    caller.save()
    if number:
        CallerPhone.objects.create(caller=caller, number=number)
    return caller


def caller_unknown(*, business: Business) -> Caller:
    """The business's record of unknown callers (created the first time it is needed): the
    caller of the calls logged with the number withheld and no name given."""
    found = Caller.objects.filter(business=business, unknown=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Caller.objects.create(business=business, name=UNKNOWN_CALLER_NAME, unknown=True)
    except IntegrityError:
        # Someone else's call created it at the same moment (the partial unique constraint).
        return Caller.objects.get(business=business, unknown=True)


NOT_A_PERSON = (
    "“{name}” keeps the calls of callers who gave no number and no name: it is not a person, "
    "so it cannot be {what}."
)


def caller_add_phone(*, caller: Caller, phone: str) -> CallerPhone:
    """Give a caller a number they do not have yet (idempotent)."""
    number, _ = CallerPhone.objects.get_or_create(caller=caller, number=phone)
    return number


@transaction.atomic
def caller_update(
    *,
    caller_id: int,
    expected_version: int,
    user,
    changes: dict,
    phones: list[tuple[str, str]] | None = None,
) -> Caller:
    """Save an edit of a caller and, when `phones` is given, set their numbers to exactly
    that list of (number, label), unless someone else saved the caller since
    `expected_version` was read (CallerConflict).

    The row lock (held until the transaction ends) makes check-and-bump atomic.
    """
    unknown = set(changes).difference(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    caller = Caller.objects.select_for_update().filter(pk=caller_id).first()
    if caller is None:
        raise CallerGone(caller_id)
    if caller.unknown:
        raise ValidationError({"name": NOT_A_PERSON.format(name=caller.name, what="edited")})
    if caller.version != expected_version:
        raise CallerConflict(caller)
    flagging = {
        name for name in CAUTION_FIELDS & set(changes) if changes[name] != getattr(caller, name)
    }
    if flagging and not user.has_perm("callers.flag_caller"):
        raise ValidationError(
            {"caution": "Only a manager can set or clear the caution flag or its note."}
        )
    for name, value in changes.items():
        setattr(caller, name, value.strip() if isinstance(value, str) else value)
    caller.version += 1
    caller._change_reason = "Edited"
    caller.full_clean(exclude=["business"])
    caller.save()
    if phones is not None:
        _set_phones(caller, phones)
    return caller


def _set_phones(caller: Caller, wanted: list[tuple[str, str]]) -> None:
    """Make the caller's numbers exactly `wanted`. The caller holds the caller's row lock."""
    by_number: dict[str, str] = {}
    for number, label in wanted:
        e164 = to_e164(str(number))
        if e164 is None:
            raise ValidationError({"phones": f"{number} is not a phone number."})
        if e164 in by_number:
            raise ValidationError({"phones": f"{number} is listed twice."})
        by_number[e164] = label
    for phone in list(caller.phones.all()):
        e164 = phone.number.as_e164
        if e164 not in by_number:
            phone.delete()  # through the instance, so the audit trail records it
        elif phone.label != by_number[e164]:
            phone.label = by_number[e164]
            phone.full_clean(exclude=["caller"])
            phone.save()
        by_number.pop(e164, None)
    for e164, label in by_number.items():
        phone = CallerPhone(caller=caller, number=e164, label=label)
        phone.full_clean(exclude=["caller"], validate_unique=False)
        phone.save()


def caller_viewed(*, caller_id: int, user) -> CallerView:
    """Record that `user` opened the record of caller `caller_id` (the caller's page, the
    API's caller): who read whose record and when, for managers to read (privacy). The
    caller was read within the person's businesses by the page that calls this. One
    INSERT, atomic by itself: no transaction around it (BEGIN and COMMIT were two more
    round trips on every caller's page)."""
    return CallerView.objects.create(caller_id=caller_id, viewed_by=user)


def caller_set_caution(
    *, caller_id: int, user, caution: bool, note: str = "", reason: str
) -> Caller:
    """Set (with a handling note) or clear a caller's caution flag, as a manager decided.

    Bumps the version, so that someone editing the caller meanwhile gets a conflict rather
    than silently putting the old flag back.
    """
    caller = Caller.objects.select_for_update().get(pk=caller_id)
    if caller.unknown and caution:
        raise ValidationError({"caution": NOT_A_PERSON.format(name=caller.name, what="flagged")})
    caller.caution, caller.caution_note = caution, note.strip() if caution else ""
    caller.full_clean(exclude=["business"])
    caller.version += 1
    caller._change_reason = reason
    caller.save()
    return caller


@transaction.atomic
def caller_merge(*, source: Caller, target: Caller, user) -> Caller:
    """Merge `source` into `target`: calls and numbers move over, then `source` is deleted.

    Nothing is lost: free-text fields are concatenated, flags are OR-ed, and both the
    change to `target` and the deletion of `source` land in the audit trail with a reason.
    Raises CallerGone when either was merged away meanwhile (two people merging at once).
    """
    if source.pk == target.pk:
        raise ValidationError({"into": "A caller cannot be merged into itself."})
    # Lock both rows in a fixed order so two merges of the same pair cannot interleave; the
    # second one through finds a caller gone.
    locked = {
        c.pk: c
        for c in Caller.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    for pk in (source.pk, target.pk):
        if pk not in locked:
            raise CallerGone(pk)
    source, target = locked[source.pk], locked[target.pk]
    for caller in (source, target):
        if caller.unknown:
            raise ValidationError({"into": NOT_A_PERSON.format(name=caller.name, what="merged")})
    if source.business_id != target.business_id:
        raise ValidationError(
            {
                "into": "These two callers are of two businesses: a caller is merged only with "
                "another of the same business."
            }
        )

    target_numbers = set(target.phones.values_list("number", flat=True))
    for phone in source.phones.all():
        if phone.number in target_numbers:
            continue
        CallerPhone.objects.create(caller=target, number=phone.number, label=phone.label)

    # Calls, callbacks and whatever else points at a caller belong to other apps: move them
    # through the reverse relations, so that this app imports none of them (and a new one is
    # never forgotten, or left to block the delete below). One UPDATE per relation keeps a
    # merge of a busy caller cheap.
    moved = {}
    for relation in Caller._meta.related_objects:
        if relation.one_to_many and relation.related_model is not CallerPhone:
            name = relation.field.name
            manager = relation.related_model._base_manager
            moved[relation.name] = manager.filter(**{name: source}).update(**{name: target})

    def joined(a: str, b: str) -> str:
        a, b = a.strip(), b.strip()
        if not b or b in a:
            return a
        return f"{a}\n{b}" if a else b

    target.things_to_remember = joined(target.things_to_remember, source.things_to_remember)
    target.caution_note = joined(target.caution_note, source.caution_note)
    for name in ("things_to_remember", "caution_note"):
        limit = Caller._meta.get_field(name).max_length
        if len(getattr(target, name)) > limit:
            # Nothing is cut: the person merging shortens one side first.
            label = Caller._meta.get_field(name).verbose_name
            raise ValidationError(
                {
                    "into": f"Together the two callers' “{label}” are longer than {limit:,} "
                    "characters: shorten one of them first, then merge."
                }
            )
    target.email = target.email or source.email
    target.organisation = target.organisation or source.organisation
    target.is_vip = target.is_vip or source.is_vip
    target.caution = target.caution or source.caution
    target.version += 1
    target._history_user = source._history_user = user
    target._change_reason = (
        f"Merged caller #{source.pk} ({source.name}): {moved.get('calls', 0)} call(s) moved"
    )
    target.save()

    source._change_reason = f"Merged into caller #{target.pk} ({target.name})"
    source.delete()
    return target


# --- businesses ---------------------------------------------------------------------------

LAST_ACTIVE = "At least one business must stay active: it is the one the calls are for."


def _numbers_wanted(business: Business | None, numbers) -> list[str]:
    """The inbound numbers typed, each made E.164 once, in order; a number that is none,
    or that rings for another business, is refused naming it."""
    wanted: list[str] = []
    errors = []
    for typed in numbers:
        typed = str(typed).strip()
        if not typed:
            continue
        number = to_e164(typed)
        if number is None:
            errors.append(f"“{typed}” is not a phone number.")
        elif number not in wanted:
            wanted.append(number)
    others = InboundNumber.objects.filter(number__in=wanted).select_related("business")
    if business is not None and business.pk is not None:
        others = others.exclude(business=business)
    for taken in others:
        errors.append(f"{phone_as_read(taken.number)} already rings for {taken.business.name}.")
    if errors:
        raise ValidationError({"inbound_numbers": errors})
    return wanted


def _hours_wanted(hours) -> list[OpeningHours]:
    """The opening hours given as (weekday, opens, closes), checked: each closes after it
    opens, and a day's hours do not overlap. A refusal names the day (`hours_0` is
    Monday's, ... `hours_6` Sunday's)."""
    rows = [OpeningHours(weekday=day, opens=opens, closes=closes) for day, opens, closes in hours]
    errors: dict[str, list[str]] = {}
    for row in rows:
        try:
            row.clean_fields(exclude=["business"])
            row.clean()
        except ValidationError as exc:
            errors.setdefault(f"hours_{row.weekday}", []).extend(exc.messages)
    if not errors:
        by_day = sorted(rows, key=lambda row: (row.weekday, row.opens))
        for before, after in pairwise(by_day):
            if before.weekday == after.weekday and after.opens < before.closes:
                errors.setdefault(f"hours_{before.weekday}", []).append(
                    f"{Weekday(before.weekday).label}'s hours overlap."
                )
    if errors:
        raise ValidationError(errors)
    return rows


# The most contacts a business has (the form offers no more).
MOST_CONTACTS = 50


def _contacts_wanted(contacts) -> list[BusinessContact]:
    contacts = list(contacts)
    if len(contacts) > MOST_CONTACTS:
        raise ValidationError({"contacts": [f"At most {MOST_CONTACTS} contacts a business."]})
    rows = []
    errors = []
    for place, given in enumerate(contacts, start=1):
        given = dict(given)
        kept = given.pop("id", None)
        contact = BusinessContact(**given)
        contact.kept_id = kept if isinstance(kept, int) else None
        try:
            contact.full_clean(exclude=["business"])
        except ValidationError as exc:
            errors += [f"Contact {place}: {message}" for message in exc.messages]
        rows.append(contact)
    if errors:
        raise ValidationError({"contacts": errors})
    return rows


def _replace(related, rows: list) -> None:
    """A business's rows of one kind (`related`: business.hours, say) made these."""
    related.all().delete()
    for row in rows:
        row.business = related.instance
    related.model.objects.bulk_create(rows)


def _keep_contacts(business: Business, rows: list[BusinessContact]) -> None:
    """A business's contacts made these, each kept as the row it was (by the id it came
    with, else by its name), so that the on-call schedule naming it still does. A contact
    not kept is deleted, and with it its places on call."""
    existing = {contact.pk: contact for contact in business.contacts.all()}
    by_name = {}
    for contact in existing.values():
        by_name.setdefault(contact.name.casefold(), contact)
    used = set()
    for row in rows:
        same = existing.get(row.kept_id) if row.kept_id not in used else None
        if same is None:
            same = by_name.get(row.name.casefold())
            same = same if same is not None and same.pk not in used else None
        row.business = business
        if same is not None:
            row.pk = same.pk
            used.add(same.pk)
    for pk in set(existing) - used:
        existing[pk].delete()
    for row in rows:
        row.save(force_insert=row.pk is None)


# At most this many closed days (holidays) a business, and each named in a line.
MOST_CLOSED_DAYS = 400


def _closed_days_wanted(closed_days) -> list[ClosedDay]:
    """The closed days given as (date, name): within 2000-2099, each date once."""
    rows, errors, seen = [], [], set()
    closed_days = list(closed_days)
    if len(closed_days) > MOST_CLOSED_DAYS:
        raise ValidationError({"closed_days": [f"At most {MOST_CLOSED_DAYS} closed days."]})
    for day, name in closed_days:
        name = (name or "").strip()
        if not isinstance(day, date) or not EARLIEST.date() <= day < LATEST.date():
            errors.append(f"{day}: {OUT_OF_RANGE}")
            continue
        if day in seen:
            errors.append(f"{day:%Y-%m-%d} is listed twice.")
            continue
        seen.add(day)
        row = ClosedDay(day=day, name=name)
        try:
            row.clean_fields(exclude=["business"])
        except ValidationError as exc:
            errors += [f"{day:%Y-%m-%d}: {message}" for message in exc.messages]
        rows.append(row)
    if errors:
        raise ValidationError({"closed_days": errors})
    return sorted(rows, key=lambda row: row.day)


NOT_YOURS = "That business is not one you work for."
ADD_IS_FOR_EVERY_BUSINESS = "Adding a business is for managers who work for every business."


def _check_works_for(user, business: Business | None) -> None:
    """Someone limited to some businesses changes those only, and adds none."""
    allowed = Business.objects.ids_for(user)
    if allowed is None:
        return
    if business is None:
        raise ValidationError({"name": ADD_IS_FOR_EVERY_BUSINESS})
    if business.pk not in allowed:
        raise ValidationError({"name": NOT_YOURS})


def _check_stays_active(business: Business) -> None:
    """The last active business cannot be made inactive."""
    others = Business.objects.filter(active=True).exclude(pk=business.pk)
    if not others.exists():
        raise ValidationError({"active": LAST_ACTIVE})


@transaction.atomic
def business_save(
    *,
    user,
    business: Business | None = None,
    numbers=None,
    hours=None,
    contacts=None,
    closed_days=None,
    **fields,
) -> Business:
    """Add a business (`business` None) or change one, with the numbers that ring for it
    (`numbers`: as typed, any format), its opening hours (`hours`: (weekday, opens,
    closes) on its own clock), its closed days (`closed_days`: (date, name)) and its
    contacts (`contacts`: dicts of name, email, phone, role, and the id of the contact it
    was, if any), each list, when given, replacing what the business had. All or nothing.

    The rules: someone limited to some businesses changes those only and adds none; a name
    no other business has, in any case; a time zone; a greeting that fills in
    {receptionist} only; a number rings for one business only; hours that close after
    they open and do not overlap; the last active business stays active."""
    _check_works_for(user, business)
    if business is None:
        business = Business()
    else:
        business = Business.objects.select_for_update().get(pk=business.pk)
    for name, value in fields.items():
        setattr(business, name, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list] = {}
    wanted: dict[str, list] = {}
    same_name = Business.objects.filter(name__iexact=business.name.strip())
    if business.pk is not None:
        same_name = same_name.exclude(pk=business.pk)
    taken = same_name.values_list("name", flat=True).first()
    if taken is not None:
        errors["name"] = [f"“{taken}” is already a business: give this one another name."]
    for name, check in (
        ("", business.full_clean),
        ("numbers", numbers is not None and (lambda: _numbers_wanted(business, numbers))),
        ("hours", hours is not None and (lambda: _hours_wanted(hours))),
        ("contacts", contacts is not None and (lambda: _contacts_wanted(contacts))),
        ("closed_days", closed_days is not None and (lambda: _closed_days_wanted(closed_days))),
        ("", business.pk and not business.active and (lambda: _check_stays_active(business))),
    ):
        if not check:
            continue
        try:
            found = check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
        else:
            if name:
                wanted[name] = found
    if errors:
        raise ValidationError(errors)
    business._history_user = user
    try:
        with transaction.atomic():
            business.save()
            if "numbers" in wanted:
                # In one order whoever saves: two saves of crossing numbers then wait for
                # each other (one is refused below) rather than deadlock.
                _replace(
                    business.inbound_numbers,
                    [InboundNumber(number=number) for number in sorted(wanted["numbers"])],
                )
    except IntegrityError:
        # Another business took the name or a number at the same moment.
        raise ValidationError(
            {"name": "Saved by someone else at the same moment: check the name and numbers."}
        ) from None
    for name, related in (("hours", business.hours), ("closed_days", business.closed_days)):
        if name in wanted:
            _replace(related, wanted[name])
    if "contacts" in wanted:
        _keep_contacts(business, wanted["contacts"])
    transaction.on_commit(forget_active_businesses)
    transaction.on_commit(forget_on_call)
    return business


@transaction.atomic
def business_set_active(*, business: Business, active: bool, user) -> Business:
    """Make a business active or inactive (it then takes no new calls; its records stay).
    The last active business stays active; someone limited to some businesses changes
    those only."""
    _check_works_for(user, business)
    # This business and every active one locked in one statement, in id order: two
    # managers making the last two inactive at once cannot both succeed, nor deadlock.
    locked = {
        row.pk: row
        for row in Business.objects.select_for_update()
        .filter(Q(active=True) | Q(pk=business.pk))
        .order_by("pk")
    }
    business = locked[business.pk]
    if business.active == active:
        return business
    if not active:
        _check_stays_active(business)
    business.active = active
    business._history_user = user
    business.save(update_fields=["active"])
    transaction.on_commit(forget_active_businesses)
    return business


# --- on call ----------------------------------------------------------------------------

# At most this many slots in a weekly rotation, and exceptions ahead, a business.
MOST_WEEKLY_SHIFTS = 50
MOST_EXCEPTIONS = 100
# The longest one exception runs (a holiday fortnight is two exceptions at most).
EXCEPTION_MOST_DAYS = 31
ON_CALL_MANAGERS_ONLY = "Only managers keep a business's on-call schedule."
NOBODY_NAMED = "Pick who is on call first (then the backups, in order)."


def _places_wanted(given, contacts: dict[int, BusinessContact]) -> tuple[list, list[str]]:
    """The contacts named in order (ids, or None for an empty choice), each one of the
    business's and named once; (contacts, refusals)."""
    ids = [pk for pk in given if pk not in (None, "")]
    errors = []
    if len(ids) > ON_CALL_MOST_PLACES:
        errors.append(f"At most {ON_CALL_MOST_PLACES} people a shift.")
    chosen = []
    for pk in ids:
        contact = contacts.get(pk) if isinstance(pk, int) else None
        if contact is None:
            errors.append("That contact is not one of this business's: pick from the list.")
        elif contact in chosen:
            errors.append(f"{contact.name} is named twice: once is enough.")
        else:
            chosen.append(contact)
    return chosen, errors


def _minutes_of_week(weekday: int, starts: time, ends: time) -> tuple[int, int]:
    start = weekday * 1440 + starts.hour * 60 + starts.minute
    length = (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)
    return start, start + (length if length > 0 else length + 1440)


def _weekly_wanted(weekly, contacts) -> tuple[list, dict]:
    rows, errors = [], {}
    for place, given in enumerate(weekly):
        refusals = []
        weekday, starts, ends = given.get("weekday"), given.get("starts"), given.get("ends")
        if weekday not in range(7):
            refusals.append("Pick a day of the week.")
        if not isinstance(starts, time) or not isinstance(ends, time):
            refusals.append("Give the time it starts and the time it ends (24-hour clock).")
        chosen, wrong = _places_wanted(given.get("contacts", []), contacts)
        refusals += wrong
        if not chosen and not wrong:
            refusals.append(NOBODY_NAMED)
        if refusals:
            errors[f"weekly_{place}"] = refusals
            continue
        rows.append((place, OnCallShift(weekday=weekday, starts=starts, ends=ends), chosen))
    if not errors:
        # A moment of the week is one slot's: two that overlap (on the week's circle, a
        # Sunday night running into Monday included) are refused naming the second.
        spans = sorted(
            (_minutes_of_week(shift.weekday, shift.starts, shift.ends), place)
            for place, shift, _ in rows
        )
        week = 7 * 1440
        # The first slot again a week later: the last one of the week may run into it.
        around = [((start + week, end + week), place) for (start, end), place in spans[:1]]
        for (earlier, _), (later, place) in pairwise(spans + around):
            if later[0] < earlier[1]:
                errors[f"weekly_{place}"] = ["It overlaps another slot of the rotation."]
    return rows, errors


def _local_moment(day: date, at: time) -> datetime:
    return datetime.combine(day, at)


def _exceptions_wanted(exceptions, contacts, today: date) -> tuple[list, dict]:
    rows, errors = [], {}
    for place, given in enumerate(exceptions):
        refusals = []
        starts_on, ends_on = given.get("starts_on"), given.get("ends_on")
        starts, ends = given.get("starts"), given.get("ends")
        note = str(given.get("note") or "").strip()
        if not all(isinstance(day, date) for day in (starts_on, ends_on)) or not all(
            isinstance(at, time) for at in (starts, ends)
        ):
            refusals.append("Give the day and time it starts and the day and time it ends.")
        elif not all(EARLIEST.date() <= day < LATEST.date() for day in (starts_on, ends_on)):
            refusals.append(OUT_OF_RANGE)
        else:
            start, end = _local_moment(starts_on, starts), _local_moment(ends_on, ends)
            if end <= start:
                refusals.append("It must end after it starts.")
            elif end - start > timedelta(days=EXCEPTION_MOST_DAYS):
                refusals.append(f"At most {EXCEPTION_MOST_DAYS} days: split a longer one in two.")
            elif ends_on < today:
                refusals.append("It is over already: leave it out.")
        chosen, wrong = _places_wanted(given.get("contacts", []), contacts)
        refusals += wrong
        shift = OnCallShift(
            starts_on=starts_on, ends_on=ends_on, starts=starts, ends=ends, note=note
        )
        if not refusals:
            try:
                shift.clean_fields(exclude=["business", "weekday"])
            except ValidationError as exc:
                refusals += exc.messages
        if refusals:
            errors[f"exceptions_{place}"] = refusals
            continue
        rows.append((place, shift, chosen))
    if not errors:
        ordered = sorted(rows, key=lambda row: _local_moment(row[1].starts_on, row[1].starts))
        for (_, a, _), (place_b, b, _) in pairwise(ordered):
            if _local_moment(b.starts_on, b.starts) < _local_moment(a.ends_on, a.ends):
                errors[f"exceptions_{place_b}"] = ["It overlaps another exception."]
    return rows, errors


@transaction.atomic
def on_call_save(
    *,
    user,
    business: Business,
    weekly=None,
    exceptions=None,
    today: date | None = None,
    **confirming,
) -> Business:
    """Set who is on call for a business: its weekly rotation (`weekly`: dicts of weekday,
    starts, ends and contacts, the ids of its contacts in order: first, then the backups)
    and its dated exceptions (`exceptions`: dicts of starts_on, starts, ends_on, ends,
    contacts and a note), each list, when given, replacing what the business had (an
    exception already over is dropped); and, in `confirming`, how its urgent messages are
    confirmed (always_confirm, confirm_minutes_emergency, confirm_minutes_high). Times are
    on the business's own clock. All or nothing.

    The rules: managers (callers.change_business) of this business; each person one of
    the business's contacts, named once a shift, at most ON_CALL_MOST_PLACES; a slot of
    the rotation names someone and overlaps no other (18:00-08:00 runs overnight); an
    exception ends after it starts, within EXCEPTION_MOST_DAYS, is not over, overlaps no
    other, and may name nobody (nobody is on call then: urgent messages go straight to the
    managers); from 1 minute to a day to confirm."""
    if not user.has_perm("callers.change_business"):
        raise PermissionDenied(ON_CALL_MANAGERS_ONLY)
    allowed = Business.objects.ids_for(user)
    if allowed is not None and business.pk not in allowed:
        raise PermissionDenied(NOT_YOURS)
    # The business's row lock: two managers saving its schedule at once take turns, and
    # the second one's schedule is the one kept, whole.
    business = Business.objects.select_for_update().get(pk=business.pk)
    today = today or business.local_time().date()
    contacts = {contact.pk: contact for contact in business.contacts.all()}
    errors: dict[str, list[str]] = {}
    weekly_rows = exception_rows = None
    if weekly is not None:
        weekly = list(weekly)
        if len(weekly) > MOST_WEEKLY_SHIFTS:
            errors["weekly"] = [f"At most {MOST_WEEKLY_SHIFTS} slots in a rotation."]
        else:
            weekly_rows, found = _weekly_wanted(weekly, contacts)
            errors.update(found)
    if exceptions is not None:
        exceptions = list(exceptions)
        if len(exceptions) > MOST_EXCEPTIONS:
            errors["exceptions"] = [f"At most {MOST_EXCEPTIONS} exceptions ahead."]
        else:
            exception_rows, found = _exceptions_wanted(exceptions, contacts, today)
            errors.update(found)
    unknown = set(confirming) - {
        "always_confirm",
        "confirm_minutes_emergency",
        "confirm_minutes_high",
    }
    if unknown:
        raise ValueError(f"Not an on-call setting: {', '.join(sorted(unknown))}")
    for name, value in confirming.items():
        setattr(business, name, value)
    try:
        others = [f.name for f in Business._meta.fields if f.name not in confirming]
        business.clean_fields(exclude=others)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if confirming:
        business._history_user = user
        business._change_reason = "On-call settings"
        business.save(update_fields=list(confirming))
    shifts = business.on_call_shifts
    if weekly_rows is not None:
        shifts.filter(weekday__isnull=False).delete()
    if exception_rows is not None:
        shifts.filter(weekday__isnull=True).delete()
    places = []
    for _, shift, chosen in (weekly_rows or []) + (exception_rows or []):
        shift.business = business
        shift.save()
        places += [
            OnCallPlace(shift=shift, contact=contact, position=position)
            for position, contact in enumerate(chosen, start=1)
        ]
    OnCallPlace.objects.bulk_create(places)
    transaction.on_commit(forget_on_call)
    return business
