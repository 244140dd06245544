"""Writes on callbacks: promise, attach, claim, attempt, assign, cancel, and the sweep."""

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from callers.clock import OpenClock, clock_of
from callers.models import Business
from calls.models import Call, Nature, Urgency
from followups.models import (
    MAX_DUE_AHEAD,
    POLICY_MAX_MINUTES,
    PRIORITY_FOR_URGENCY,
    RESCHEDULING_RESULTS,
    AttemptResult,
    Callback,
    CallbackAttempt,
    CallbackPolicy,
    CallbackStatus,
    KeptBy,
    Priority,
    PromiseKeeping,
    WebhookEventName,
)
from followups.tasks import notify_callback
from followups.webhooks import record, record_callbacks
from receptionist.roles import display_name, front_desk_staff
from receptionist.sweeps import mark_and_notify


class CallbackTaken(Exception):
    """Someone else claimed the callback first, or it was closed meanwhile."""

    def __init__(self, callback: Callback):
        self.callback = callback
        self.by = callback.claimed_by if callback.is_active else callback.closed_by
        super().__init__(f"Callback {callback.pk} is {callback.status}")


class CallbackConflict(Exception):
    """The callback changed after this person opened it."""

    def __init__(self, current: Callback):
        super().__init__(f"Callback {current.pk} is at version {current.version}")
        self.current = current


# The clock a callback's minutes run on: look it up (callback_due_at's default).
LOOK_UP = object()


def promise_clock(business_id: int, now=None, *, within: bool | None = None) -> OpenClock | None:
    """The clock a business's promises to call back run on: its working clock (opening
    hours less closed days, callers.clock) when it keeps them within business hours and
    has hours; else None, any hour. `within`: PromiseKeeping's answer, when already read."""
    if within is None:
        within = PromiseKeeping.objects.of(business_id)[1]
    if not within:
        return None
    business = Business.objects.filter(pk=business_id).only("time_zone").first()
    return clock_of(business, now) if business is not None else None


def callback_due_at(
    *, business_id: int, nature: str, urgency: str, now=None, clock=LOOK_UP
) -> datetime:
    """When the policy says a callback of this nature and urgency is due, to the minute:
    its minutes from now, on the business's promise clock (promise_clock: within business
    hours, a promise made at 5:50 pm for 30 minutes, at a business closing at 6, is due 20
    minutes after it opens again; never more than PROMISE_HORIZON ahead: open_time_due)."""
    now = now or timezone.now()
    minutes = CallbackPolicy.objects.minutes_for(
        business_id=business_id, nature=nature, urgency=urgency
    )
    if clock is LOOK_UP:
        clock = promise_clock(business_id, now)
    due = open_time_due(clock, now, minutes) if clock is not None else None
    due = due or now + timedelta(minutes=minutes)
    # Round up to the next minute: "by 3:15", never "by 3:14:37".
    if due.second or due.microsecond:
        due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return due


# However few a business's hours, a promise kept within them is due at most this long
# after the business (next) opens: the longest a policy may say (30 days), on the calendar.
PROMISE_HORIZON = timedelta(minutes=POLICY_MAX_MINUTES)


def open_time_due(clock: OpenClock, now: datetime, minutes: int) -> datetime | None:
    """When `minutes` of the business's open time have run from `now`, bounded: at most
    PROMISE_HORIZON after it next opens. Counted in open time alone, a long policy lands
    far away (30 days of minutes at a business open 9 to 6 on weekdays: 16 weeks; open a
    few hours a week: more than a year, then refused as a typo though nobody typed a
    time). A promise its hours cannot fit by then is due at the last moment the business
    is open before then. None when it does not open within MAX_DUE_AHEAD: the caller keeps
    the plain clock."""
    opens = clock.after(now, 0)
    if opens is None:
        return None
    horizon = opens + PROMISE_HORIZON
    due = clock.after(opens, minutes, until=horizon) or clock.before(horizon, 0)
    # A minute's room: the due time is rounded up to the minute.
    if due is None or due >= now + MAX_DUE_AHEAD - timedelta(minutes=1):
        return None
    return due


def clock_marks(due_at: datetime, clock: OpenClock | None) -> dict:
    """A callback's at-risk and reminder moments on a business-hours clock: the at-risk
    window and the reminder's lead counted in open time before it is due (None for any
    hour: the views and the sweep then count them on the plain clock)."""
    if clock is None:
        return {"at_risk_at": None, "remind_at": None}
    at_risk = clock.before(due_at, settings.CALLBACK_AT_RISK_MINUTES)
    remind = clock.before(due_at, settings.CALLBACK_REMIND_MINUTES)
    return {
        "at_risk_at": at_risk or due_at - timedelta(minutes=settings.CALLBACK_AT_RISK_MINUTES),
        "remind_at": remind or due_at - timedelta(minutes=settings.CALLBACK_REMIND_MINUTES),
    }


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def promise_words(due_at: datetime, now=None, zone=None) -> str:
    """The sentence to say on the phone: "We'll call you back by 3:15 pm" ("... tomorrow by
    9:20 am", "... on Monday by 9:20 am"), on the clock of `zone` (the caller's business's:
    Business.zone), by default the office's."""
    local = timezone.localtime(due_at, zone)
    today = timezone.localtime(now or timezone.now(), zone).date()
    # Written out rather than through date formats: seed_demo says this 160,000 times.
    clock = f"{local.hour % 12 or 12}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
    day = local.date()
    if day == today:
        return f"We'll call you back by {clock}."
    if day == today + timedelta(days=1):
        when = "tomorrow"
    elif day < today + timedelta(days=7):
        when = f"on {WEEKDAYS[day.weekday()]}"
    else:
        when = f"on {WEEKDAYS[day.weekday()]}, {MONTHS[day.month - 1]} {day.day}"
    return f"We'll call you back {when} by {clock}."


def _zone_of(business_id: int):
    """The clock of a business (its time zone)."""
    name = Business.objects.filter(pk=business_id).values_list("time_zone", flat=True).first()
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


def check_due(due_at: datetime, field: str, now=None) -> None:
    """A promise is kept later than now, and within a year (anything further is a typo)."""
    now = now or timezone.now()
    if due_at <= now:
        raise ValidationError({field: "That time has passed: pick a time later than now."})
    if due_at > now + MAX_DUE_AHEAD:
        raise ValidationError({field: "That is more than a year away: check the date."})


def hand_back_at(due_at: datetime, now: datetime, at_risk_at: datetime | None = None) -> datetime:
    """When a callback kept by the person who promised goes back to the team unclaimed:
    when it comes at risk (`at_risk_at`, on a business-hours clock; by default
    CALLBACK_AT_RISK_MINUTES before it is due), or half-way to the due time for a promise
    already that close."""
    at_risk = at_risk_at or due_at - timedelta(minutes=settings.CALLBACK_AT_RISK_MINUTES)
    return max(at_risk, now + (due_at - now) / 2)


def keeper_of(*, business_id: int, user, kept_by: str | None = None):
    """Who a new callback is assigned to: the person who promised it when the business
    keeps promises that way (and they are on the front desk), else nobody (the team).
    `kept_by`: PromiseKeeping's answer, when already read."""
    if (kept_by or PromiseKeeping.objects.kept_by(business_id)) != KeptBy.PROMISER:
        return None
    return user if front_desk_staff().filter(pk=user.pk).exists() else None


@transaction.atomic
def callback_create(
    *,
    call: Call,
    user,
    due_at: datetime | None = None,
    promise: str = "",
    preferred_window: str = "",
    assignee=None,
) -> Callback:
    """Record a promise to call back, due when the policy says unless a time was given (on
    the business's promise clock: within business hours, its at-risk and reminder moments
    too)."""
    now = timezone.now()
    kept_by, within = PromiseKeeping.objects.of(call.business_id)
    clock = promise_clock(call.business_id, now, within=within)
    if due_at is None:
        due_at = callback_due_at(
            business_id=call.business_id,
            nature=call.nature,
            urgency=call.urgency,
            now=now,
            clock=clock,
        )
    check_due(due_at, "callback_due_at", now)
    marks = clock_marks(due_at, clock)
    returns_to_team_at = None
    if assignee is None:
        assignee = keeper_of(business_id=call.business_id, user=user, kept_by=kept_by)
        if assignee is not None:
            returns_to_team_at = hand_back_at(due_at, now, marks["at_risk_at"])
    callback = Callback(
        business_id=call.business_id,
        call=call,
        caller_id=call.caller_id,
        reason=call.summary,
        promise=promise.strip() or promise_words(due_at, now, _zone_of(call.business_id)),
        preferred_window=preferred_window.strip(),
        due_at=due_at,
        promised_due_at=due_at,
        priority=PRIORITY_FOR_URGENCY.get(call.urgency, Priority.NORMAL),
        assigned_to=assignee,
        returns_to_team_at=returns_to_team_at,
        created_by=user,
        **marks,
    )
    callback.full_clean(exclude=["call", "caller", "business", "created_by", "assigned_to"])
    callback.save()
    return callback


@transaction.atomic
def callback_attach(*, callback_id: int, call: Call, user) -> Callback:
    """The caller rang again while the callback was open: attach the call, raise the priority."""
    callback = Callback.objects.select_for_update().filter(pk=callback_id).first()
    if callback is None or not callback.is_active:
        raise ValidationError({"attach_to": "That callback has just been closed."})
    if callback.caller_id != call.caller_id:
        raise ValidationError({"attach_to": "That callback is for another caller."})
    callback.later_calls.add(call)
    callback.priority = min(callback.priority + 1, Priority.URGENT)
    callback.version += 1
    callback._change_reason = f"Called again (call {call.pk}); priority raised"
    callback.save()
    return callback


@transaction.atomic
def callback_claim(*, callback_id: int, user) -> Callback:
    """ "I'm calling them." Under a row lock, so of many people at once exactly one wins."""
    callback = Callback.objects.select_for_update().get(pk=callback_id)
    if callback.status == CallbackStatus.CLAIMED and callback.claimed_by_id == user.pk:
        return callback
    if callback.status != CallbackStatus.OPEN:
        raise CallbackTaken(
            Callback.objects.select_related("claimed_by", "closed_by").get(pk=callback_id)
        )
    callback.status = CallbackStatus.CLAIMED
    callback.claimed_by, callback.claimed_at = user, timezone.now()
    callback.version += 1
    callback._change_reason = "Claimed"
    callback.save()
    return callback


def _release(callback: Callback, reason: str):
    """Back to the queue. The caller holds the row lock."""
    callback.status = CallbackStatus.OPEN
    callback.claimed_by, callback.claimed_at = None, None
    callback._change_reason = reason


@transaction.atomic
def callback_release(*, callback_id: int, user) -> Callback:
    """Give a claimed callback back to the team."""
    callback = Callback.objects.select_for_update().get(pk=callback_id)
    if callback.status != CallbackStatus.CLAIMED or callback.claimed_by_id != user.pk:
        raise CallbackTaken(
            Callback.objects.select_related("claimed_by", "closed_by").get(pk=callback_id)
        )
    _release(callback, "Released")
    callback.version += 1
    callback.save()
    return callback


@transaction.atomic
def callback_attempt(
    *,
    callback_id: int,
    user,
    expected_version: int,
    result: str,
    note: str = "",
    next_due_at: datetime | None = None,
    outcome: str = "",
) -> CallbackAttempt:
    """Record a try. With an outcome it closes the callback (always when the caller was
    reached); after no answer or a voicemail it goes back in the queue at `next_due_at`."""
    callback = Callback.objects.select_for_update().get(pk=callback_id)
    if callback.version != expected_version:
        raise CallbackConflict(callback)
    if not callback.is_active or (
        callback.status == CallbackStatus.CLAIMED and callback.claimed_by_id != user.pk
    ):
        raise CallbackTaken(callback)
    outcome = outcome.strip()
    now = timezone.now()
    if result == AttemptResult.REACHED and not outcome:
        raise ValidationError({"outcome": "The caller was reached: say how it ended to close it."})
    if not outcome:
        if next_due_at is None:
            raise ValidationError(
                {
                    "next_due_at": "Say when to try again."
                    if result in RESCHEDULING_RESULTS
                    else "Say when to try again, or write an outcome to close it."
                }
            )
        check_due(next_due_at, "next_due_at", now)
    attempt = CallbackAttempt(
        callback=callback,
        attempted_at=now,
        attempted_by=user,
        result=result,
        note=note.strip(),
        rescheduled_to=None if outcome else next_due_at,
    )
    attempt.full_clean(exclude=["callback", "attempted_by"])
    attempt.save()
    callback.attempt_count += 1
    callback.last_attempt_at = now
    callback.version += 1
    if outcome:
        callback.status = CallbackStatus.DONE
        callback.outcome = outcome
        callback.closed_by, callback.closed_at = user, now
        callback._change_reason = f"{attempt.get_result_display()}: closed"
    else:
        # Back in the queue for the next try, by whoever is free then.
        _release(callback, f"{attempt.get_result_display()}: rescheduled")
        callback.due_at = next_due_at
        callback.due_reminded_at = callback.overdue_reminded_at = None
        # The new time's at-risk and reminder moments, on the business's promise clock.
        marks = clock_marks(next_due_at, promise_clock(callback.business_id, now))
        callback.at_risk_at, callback.remind_at = marks["at_risk_at"], marks["remind_at"]
        if callback.returns_to_team_at is not None:
            # Still the promiser's: theirs again until the new time comes at risk.
            callback.returns_to_team_at = hand_back_at(next_due_at, now, callback.at_risk_at)
    callback.save()
    if outcome:
        record(WebhookEventName.CALLBACK_CLOSED, [callback], now=now)
    return attempt


@transaction.atomic
def callback_assign(*, callback_id: int, user, assignee) -> Callback:
    """Give an open callback to one person, or to the whole team (assignee None)."""
    if assignee is not None and not front_desk_staff().filter(pk=assignee.pk).exists():
        raise ValidationError(
            {"assignee": "Callbacks go to someone on the front desk: pick one from the list."}
        )
    callback = Callback.objects.select_for_update().get(pk=callback_id)
    if not callback.is_active:
        raise CallbackTaken(callback)
    callback.assigned_to = assignee
    callback.returns_to_team_at = None  # a person's choice stands
    if callback.status == CallbackStatus.CLAIMED and callback.claimed_by_id != getattr(
        assignee, "pk", None
    ):
        _release(callback, "")
    callback._change_reason = (
        f"Assigned to {display_name(assignee, 'the team')} by {display_name(user)}"
    )
    callback.version += 1
    callback.save()
    return callback


@transaction.atomic
def callback_cancel(*, callback_id: int, user, reason: str) -> Callback:
    """Withdraw a promise, with the reason why."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the callback is cancelled."})
    callback = Callback.objects.select_for_update().get(pk=callback_id)
    if not callback.is_active:
        raise CallbackTaken(callback)
    callback.status = CallbackStatus.CANCELLED
    callback.outcome = reason.strip()
    callback.closed_by, callback.closed_at = user, timezone.now()
    callback.version += 1
    callback._change_reason = "Cancelled"
    callback.save()
    record(WebhookEventName.CALLBACK_CLOSED, [callback])
    return callback


def callbacks_sweep(*, now=None, limit: int = 500) -> dict[str, int]:
    """Remind people of callbacks coming due and overdue, once each, and release stale claims.

    Safe on several machines at once: each step claims its rows with SKIP LOCKED, and the
    reminded_at marks make a second run (or a second machine) skip what was done.
    """
    now = now or timezone.now()
    soon = now + timedelta(minutes=settings.CALLBACK_REMIND_MINUTES)
    done = {"due": 0, "overdue": 0, "released": 0, "returned": 0}
    # An overdue callback no longer needs its "due soon" reminder: both marks are set.
    done["overdue"] = mark_and_notify(
        Callback.objects.overdue(now).filter(overdue_reminded_at__isnull=True),
        limit=limit,
        notify=lambda pk: notify_callback.enqueue(pk, "overdue"),
        record=lambda pks: record_callbacks(WebhookEventName.CALLBACK_OVERDUE, pks),
        overdue_reminded_at=now,
        due_reminded_at=now,
    )
    done["due"] = mark_and_notify(
        # Soon on its own clock: CALLBACK_REMIND_MINUTES before it is due, or, for a promise
        # kept within business hours, from its remind_at (that much open time before).
        Callback.objects.active()
        .filter(due_at__gte=now, due_reminded_at__isnull=True)
        .filter(Q(remind_at__isnull=True, due_at__lte=soon) | Q(remind_at__lte=now)),
        limit=limit,
        notify=lambda pk: notify_callback.enqueue(pk, "due"),
        record=lambda pks: record_callbacks(WebhookEventName.CALLBACK_DUE, pks),
        due_reminded_at=now,
    )
    with transaction.atomic():
        stale = list(
            Callback.objects.stale_claims(now)
            .select_related("claimed_by")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        for callback in stale:
            # The claimant is kept in the audit trail through the change reason.
            _release(
                callback,
                f"Claim by {display_name(callback.claimed_by)} released: no attempt in time",
            )
            callback.assigned_to = None
            callback.returns_to_team_at = None
            callback.version += 1
            callback.save()
            transaction.on_commit(lambda pk=callback.pk: notify_callback.enqueue(pk, "released"))
        done["released"] = len(stale)
    done["returned"] = _back_to_the_team(now, limit)
    return done


@transaction.atomic
def _back_to_the_team(now, limit: int) -> int:
    """Promises kept by the person who made them and not claimed by the time they are at
    risk: the whole team's now, and the team is told."""
    unclaimed = list(
        Callback.objects.back_to_the_team(now)
        .select_related("assigned_to")
        .select_for_update(skip_locked=True, of=("self",))[:limit]
    )
    for callback in unclaimed:
        callback._change_reason = (
            f"Not claimed by {display_name(callback.assigned_to)} before it was at risk: "
            "back to the team"
        )
        callback.assigned_to = None
        callback.returns_to_team_at = None
        callback.version += 1
        callback.save()
        transaction.on_commit(lambda pk=callback.pk: notify_callback.enqueue(pk, "released"))
    return len(unclaimed)


POLICY_NOT_YOURS = "You do not work for this business: its callback policy is not yours to set."
POLICY_MANAGERS_ONLY = "Only managers set a business's callback policy."


def policy_refusals(minutes: dict) -> dict[str, list[str]]:
    """What policy_save refuses of these minutes, by box ("urgent_high"): a nature and
    urgency of the vocabulary, from 1 minute to 30 days (None: the default)."""
    errors = {}
    for (nature, urgency), value in minutes.items():
        if nature not in Nature.values or urgency not in Urgency.values:
            errors[f"{nature}_{urgency}"] = ["No such nature and urgency."]
        elif value is not None and not (
            isinstance(value, int) and 1 <= value <= POLICY_MAX_MINUTES
        ):
            errors[f"{nature}_{urgency}"] = [
                f"From 1 minute to 30 days ({POLICY_MAX_MINUTES:,} minutes)."
            ]
    return errors


@transaction.atomic
def policy_save(
    *, user, business: Business, minutes: dict, within_business_hours: bool | None = None
) -> dict:
    """Set a business's callback policy: `minutes` maps (nature, urgency) to how many
    minutes a callback of that kind is due within, or None for the default
    (DEFAULT_POLICY_MINUTES); `within_business_hours`, when given, whether those minutes
    run only while it is open (PromiseKeeping). Pairs not in `minutes` stay as they are.
    All or nothing; returns the business's rows as they now are, {(nature, urgency):
    minutes}.

    The rules: managers only (followups.change_callbackpolicy), for a business they work
    for; a nature and urgency of the vocabulary; from 1 minute to 30 days."""
    if not user.has_perm("followups.change_callbackpolicy"):
        raise ValidationError(POLICY_MANAGERS_ONLY)
    allowed = Business.objects.ids_for(user)
    if allowed is not None and business.pk not in allowed:
        raise ValidationError(POLICY_NOT_YOURS)
    errors = policy_refusals(minutes)
    if errors:
        raise ValidationError(errors)
    # The business's row lock: two saves of its policy at once take turns (the second sees
    # the rows the first made), whether the rows exist yet or not.
    Business.objects.select_for_update().filter(pk=business.pk).first()
    if within_business_hours is not None:
        PromiseKeeping.objects.update_or_create(
            business=business, defaults={"within_business_hours": bool(within_business_hours)}
        )
    rows = CallbackPolicy.objects.filter(business=business)
    current = {(row.nature, row.urgency): row for row in rows}
    for key, value in minutes.items():
        row = current.get(key)
        if value is None:
            if row is not None:
                row.delete()
                del current[key]
        elif row is None:
            current[key] = CallbackPolicy.objects.create(
                business=business, nature=key[0], urgency=key[1], due_within_minutes=value
            )
        elif row.due_within_minutes != value:
            row.due_within_minutes = value
            row.save(update_fields=["due_within_minutes"])
    return {key: row.due_within_minutes for key, row in current.items()}
