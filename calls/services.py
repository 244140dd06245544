"""Writes on calls. `call_log` is the one flow that composes callers, calls and callbacks."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from callers import phones
from callers.models import HANDLING_NOTE_NEEDED, Business, Caller, active_businesses
from callers.services import caller_add_phone, caller_create, caller_set_caution, caller_unknown
from calls import signals
from calls.models import (
    PLAYBOOK_KEYS,
    Call,
    CautionDecision,
    Escalation,
    EscalationStatus,
    MessageStatus,
    Mood,
    Outcome,
    severity_for,
)
from calls.tasks import notify_managers_of_escalation, send_message

# The one place where calls reaches into followups (see DESIGN.md): logging a call creates
# its callback, or attaches it to the caller's open one, in the same transaction; a message
# taken that must be confirmed starts its delivery to whoever is on call.
from followups.deliveries import delivery_follow, delivery_start
from followups.services import callback_attach, callback_create
from receptionist.roles import display_name, managers
from receptionist.sweeps import mark_and_notify


class EscalationReassigned(Exception):
    """Another manager assigned the escalation to someone else meanwhile."""

    def __init__(self, escalation: Escalation):
        super().__init__(f"Assigned to {display_name(escalation.assigned_to, 'nobody')} meanwhile")
        self.escalation = escalation


class EscalationTaken(Exception):
    """Another manager acknowledged (or resolved) the escalation first."""

    def __init__(self, escalation: Escalation):
        if escalation.status == EscalationStatus.RESOLVED:
            who = escalation.resolved_by
        else:
            who = escalation.acknowledged_by
        super().__init__(f"Already taken by {who}")
        self.escalation = escalation
        self.by = who


class EscalationAlreadyOpen(Exception):
    """The call already has an open escalation (someone flagged it first)."""

    def __init__(self, escalation: Escalation):
        super().__init__(f"Call {escalation.call_id} already has escalation {escalation.pk}")
        self.escalation = escalation
        self.by = escalation.raised_by


class CallAlreadyLogged(Exception):
    """The same call form was sent twice: the first one logged the call."""

    def __init__(self, call: Call):
        super().__init__(f"Already logged as call {call.pk}")
        self.call = call


class CallConflict(Exception):
    """Someone else saved the call after this person opened it."""

    def __init__(self, current: Call):
        super().__init__(f"Call {current.pk} is at version {current.version}")
        self.current = current


def must_escalate(*, mood: str, outcome: str) -> bool:
    """Abuse always goes to a manager."""
    return mood == Mood.ABUSIVE or outcome == Outcome.TERMINATED_ABUSIVE


CALLER_GONE = "The chosen caller no longer exists (merged or removed): pick again from the list."
SEVERAL_CALLERS = (
    "Several callers share this number: pick one from the list, or type a name to create a "
    "new caller."
)
SEVERAL_NAMED = (
    "Several callers have this name: pick one from the list, or type the name in full to "
    "tell them apart."
)
NUMBER_NEEDED = "Type the number the caller is calling from, or choose “Number withheld”."
NUMBER_AND_WITHHELD = (
    "The number is marked withheld: clear the number, or untick “Number withheld”."
)
NOBODY_TO_CALL_BACK = (
    "A caller with no number and no name cannot be called back: ask for their name and "
    "number, or add the promise to the notes."
)


BUSINESS_INACTIVE = "That business takes no calls now (it was made inactive): pick another."
NOT_YOUR_BUSINESS = "That business is not one you work for: pick one of yours."
BUSINESS_NEEDED = "Say which business the call is for: several take calls here."
KEY_OF_ANOTHER = "This key was sent with someone else's call: make a new key for each call."


class UnknownCaller:
    """What caller_on_the_phone answers for a call with the number withheld and no name:
    the call goes to the business's record of unknown callers (callers.services)."""

    pk = None

    def __repr__(self):
        return "UNKNOWN_CALLER"


UNKNOWN_CALLER = UnknownCaller()


def check_phone(phone) -> None:
    """The number as given (typed text, or a number already read) is one by the rule the
    lookup panel shows (callers.phones.parse): no extension, no letters. Django's field
    alone reads "212 555 0147 x5" and "1-800-FLOWERS" as numbers."""
    if phone and phones.to_e164(str(phone)) is None:
        raise ValidationError({"phone": phones.NOT_A_NUMBER})


def check_number(*, phone, number_withheld: bool, caller: Caller | None) -> None:
    """A call has the number it came from or says that it was withheld, not both. Only a
    caller picked by hand (known without their number) may come with neither."""
    check_phone(phone)
    if number_withheld and phone:
        raise ValidationError({"phone": NUMBER_AND_WITHHELD})
    if not number_withheld and not phone and caller is None:
        raise ValidationError({"phone": NUMBER_NEEDED})


def caller_on_the_phone(
    *,
    user,
    caller: Caller | None,
    phone,
    name: str,
    number_withheld: bool = False,
    business: Business | None = None,
) -> Caller | UnknownCaller | None:
    """Who is calling: the caller picked from the list, else the one caller with this number
    (and this name, when one was typed; see Caller.objects.matching), else nobody yet (None:
    a new caller, who needs a name). Raises ValidationError when it cannot tell.

    With no number (withheld), the one caller with the name typed, else a new caller by
    that name; no name either: UNKNOWN_CALLER, recorded as the business's unknown caller.

    `business`: the callers of that business only (an answering service's: the same number
    can be two callers at two businesses); None: every business the person works for.

    The lookup panel shows this choice as the number is typed; call_log applies it on save.
    """
    name = name.strip()
    callers = Caller.objects.for_user(user)
    if business is not None:
        callers = callers.filter(business=business)
    else:
        # An inactive business takes no new calls: its callers are nobody's to log for.
        callers = callers.filter(business__active=True)
    if caller is not None and caller.unknown:
        caller = None  # the record of unknown callers is never a pick: the rules below decide
    if caller is not None:
        if not callers.filter(pk=caller.pk).exists():
            message = "That caller is not one you can log calls for."
            if business is not None:
                message = f"That caller is not one of {business.name}'s: pick one of theirs."
            raise ValidationError({"caller": message})
        return caller
    if not phone:
        if not name:
            if number_withheld:
                return UNKNOWN_CALLER
            raise ValidationError({"caller_name": "Type the caller's name."})
        matches = list(callers.named(name)[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ValidationError({"caller_name": SEVERAL_NAMED})
        return None
    matches = list(callers.matching(phone=phone, name=name)[:2])
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValidationError({"caller_name": SEVERAL_CALLERS})
    if not name:
        raise ValidationError(
            {"caller_name": "Nobody has this number yet: type the caller's name."}
        )
    return None


def _check_callback_choice(*, outcome: str, callback: bool, attach_to: int | None) -> None:
    if callback and attach_to is not None:
        raise ValidationError(
            {
                "attach_to": "Either add this call to the open callback or promise a new one, "
                "not both."
            }
        )
    if outcome == Outcome.CALLBACK_SCHEDULED and not callback and attach_to is None:
        raise ValidationError(
            {"callback": "The outcome says a callback was promised: tick “Call back” and say when."}
        )


@transaction.atomic
def call_log(
    *,
    user,
    caller: Caller | None = None,
    caller_name: str = "",
    phone=None,
    number_withheld: bool = False,
    escalate: bool = False,
    escalation_reason: str = "",
    playbook_steps: list[str] | None = None,
    callback: bool = False,
    callback_due_at: datetime | None = None,
    callback_promise: str = "",
    callback_window: str = "",
    attach_to: int | None = None,
    submission_key: uuid.UUID | None = None,
    business: Business | None = None,
    **fields,
) -> Call:
    """Log a call: find the caller (creating one from name + number if new), save the call,
    raise its escalation when asked to (always for abuse), record the promise to call back
    (or attach the call to the caller's open callback), and start the confirmed delivery
    of an urgent message (followups.deliveries), all in one transaction.

    A call has a number, or `number_withheld`: then the caller is the one picked, else
    found or created by the name given, else recorded as the business's unknown caller.

    The same `submission_key` twice raises CallAlreadyLogged with the first call: a form
    sent twice (a double click, two tabs) logs one call.

    `business`: the business the call is for (an answering service's, from the number
    dialed or picked); its callers only are found, and a new caller is its. None: a single
    office's one active business, every caller the person may see.
    """
    if submission_key is not None:
        earlier = Call.objects.filter(submission_key=submission_key).first()
        if earlier is not None:
            if earlier.taken_by_id != user.pk:
                # Someone else's call: neither theirs to be given, nor this one to drop.
                raise ValidationError({"submission_key": KEY_OF_ANOTHER})
            raise CallAlreadyLogged(earlier)
    _check_callback_choice(
        outcome=fields.get("outcome", Outcome.RESOLVED), callback=callback, attach_to=attach_to
    )
    check_number(phone=phone, number_withheld=number_withheld, caller=caller)
    allowed = Business.objects.ids_for(user)
    if business is not None:
        if allowed is not None and business.pk not in allowed:
            raise ValidationError({"business": NOT_YOUR_BUSINESS})
        business = Business.objects.filter(pk=business.pk, active=True).first()
        if business is None:
            raise ValidationError({"business": BUSINESS_INACTIVE})
    elif allowed is not None:
        # Someone who works for some businesses only: the one they work for (the form asks
        # which when they work for several).
        business = Business.objects.filter(pk__in=allowed, active=True).order_by("name").first()
        if business is None:
            raise ValidationError({"business": BUSINESS_INACTIVE})
    known = caller_on_the_phone(
        user=user,
        caller=caller,
        phone=phone,
        name=caller_name,
        number_withheld=number_withheld,
        business=business,
    )
    if business is None and not isinstance(known, Caller) and len(active_businesses()) > 1:
        # A new caller, or nobody known, is filed under a business: with several active,
        # not the first one by default (the form asks; an API client must say).
        raise ValidationError({"business": BUSINESS_NEEDED})
    home = business or Business.objects.default()
    if known is UNKNOWN_CALLER:
        if callback:
            raise ValidationError({"callback": NOBODY_TO_CALL_BACK})
        caller = caller_unknown(business=home)
    elif known is None:
        caller = caller_create(business=home, name=caller_name, phone=phone, user=user)
    else:
        # The caller's row lock: a merge of this caller waits for this call, and moves it
        # too; a merge that went first leaves no caller here, and the form says so.
        caller = Caller.objects.select_for_update().filter(pk=known.pk).first()
        if caller is None:
            raise ValidationError({"caller": CALLER_GONE})
        if phone:
            caller_add_phone(caller=caller, phone=phone)
    if fields.get("started_at") is None:
        # Logged as it ends, with no start given (the API, a phone system): it began now.
        fields["started_at"] = timezone.now()
    if fields.get("ended_at") is None:
        # The form's timer stops when the call is saved.
        fields["ended_at"] = max(timezone.now(), fields.get("started_at") or timezone.now())
    call = Call(
        business_id=caller.business_id,
        caller=caller,
        phone=phone or "",
        taken_by=user,
        submission_key=submission_key,
        **fields,
    )
    message = _message_to_send(call)
    call.full_clean(exclude=["caller", "business", "taken_by", "submission_key"])
    try:
        with transaction.atomic():
            call.save()
    except IntegrityError:
        # The same form sent twice at once: the second insert waited for the first one's
        # key, which is now committed. Everything this one wrote is rolled back.
        earlier = submission_key and Call.objects.filter(submission_key=submission_key).first()
        if earlier:
            raise CallAlreadyLogged(earlier) from None
        raise
    signals.call_logged.send(sender=Call, instance=call)
    if message:
        signals.message_taken.send(sender=Call, instance=call)
    if escalate or must_escalate(mood=call.mood, outcome=call.outcome):
        escalation_raise(
            call=call, user=user, reason=escalation_reason, playbook_steps=playbook_steps or []
        )
    if attach_to is not None:
        callback_attach(callback_id=attach_to, call=call, user=user)
    elif callback:
        callback_create(
            call=call,
            user=user,
            due_at=callback_due_at,
            promise=callback_promise,
            preferred_window=callback_window,
        )
    if message:
        # After the escalation: a ladder nobody is on goes to the managers through that
        # same escalation, the call's one open escalation.
        delivery_start(call=call)
    return call


@transaction.atomic
def call_update(*, call_id: int, expected_version: int, user, changes: dict) -> Call:
    """Save an edit, unless someone else saved the call since `expected_version` was read.

    The row lock (held until the transaction ends) makes check-and-bump atomic: two people
    saving at once both read the same version, and only the first one through the lock wins.
    """
    call = Call.objects.select_for_update().get(pk=call_id)
    if call.version != expected_version:
        raise CallConflict(call)
    check_phone(changes.get("phone"))
    if "ended_at" in changes and changes["ended_at"] is None:
        # call_log stops the timer when a call is logged; an edit cannot un-end a call.
        raise ValidationError({"ended_at": "Say when the call ended."})
    if all(getattr(call, name) == value for name, value in changes.items()):
        # Nothing to save: no new version (which would make others' copies stale), no
        # entry in the history.
        return call
    was_abusive = must_escalate(mood=call.mood, outcome=call.outcome)
    outcome_before = call.outcome
    for name, value in changes.items():
        setattr(call, name, value)
    if (
        call.outcome == Outcome.CALLBACK_SCHEDULED
        and outcome_before != Outcome.CALLBACK_SCHEDULED
        and not call.callbacks.exists()  # the relation followups adds: no import of it
    ):
        raise ValidationError(
            {
                "outcome": "“Callback scheduled” goes with a promise in the callback queue, "
                "and this call has none: choose another outcome."
            }
        )
    call.version += 1
    call._change_reason = "Edited"
    call.full_clean(exclude=["caller", "business", "taken_by", "submission_key"])
    message = _message_to_send(call)
    call.save()
    if message:
        signals.message_taken.send(sender=Call, instance=call)
    if (
        must_escalate(mood=call.mood, outcome=call.outcome)
        and not was_abusive
        and not call.escalations.unresolved().exists()
    ):
        # Abuse always goes to a manager, also when it is recorded afterwards.
        escalation_raise(
            call=call,
            user=user,
            reason=f"Recorded as abusive after the call: {call.summary}",
            playbook_steps=[],
        )
    # The confirmed delivery follows the message as it now is, as its e-mail does: raised
    # to high or emergency (or edited to a message), it starts; edited down, or away from
    # "Message taken", a ladder still waiting stops. After the escalation, as in call_log.
    delivery_follow(call=call)
    return call


def _message_to_send(call: Call) -> bool:
    """A call whose outcome is "Message taken" e-mails its business's contacts, once, after
    the call is saved (the task worker: calls.tasks.send_message). A call edited to that
    outcome later sends it then; one that already has a message status keeps it; one edited
    away from it before the e-mail went sends none. True when this save takes a message
    (the caller sends signals.message_taken once the call is saved)."""
    if call.outcome != Outcome.MESSAGE_TAKEN:
        if call.message_status == MessageStatus.PENDING:
            call.message_status = ""  # edited away before it was sent: nothing to send
        return False
    if call.message_status:
        return False
    call.message_status = MessageStatus.PENDING
    transaction.on_commit(lambda: send_message.enqueue(call.pk))
    return True


def message_mark_read(*, call_id: int, user) -> Call:
    """The business has read the message of this call (its portal's "Mark read").

    Only someone of the business itself (a client, with calls.read_messages) marks its
    messages read: the front desk reading a call does not. Call.DoesNotExist for a call of
    a business the person may not see. Marking a message read twice (two people at the
    business, two tabs) keeps the first time and person."""
    if not user.has_perm("calls.read_messages"):
        raise PermissionDenied("Only the business the message is for marks it read.")
    call = Call.objects.for_user(user).get(pk=call_id)
    if call.outcome != Outcome.MESSAGE_TAKEN:
        raise ValidationError("This call has no message to mark read.")
    Call.objects.filter(pk=call.pk, message_read_at__isnull=True).update(
        message_read_at=timezone.now(), message_read_by=user
    )
    call.refresh_from_db(fields=["message_read_at", "message_read_by"])
    return call


@transaction.atomic
def escalation_raise(
    *, call: Call, user, reason: str = "", playbook_steps: list[str]
) -> Escalation:
    """Hand a call to the managers, with a deadline to acknowledge it; notify after commit.

    One open escalation per call: the second person to flag it gets EscalationAlreadyOpen.
    """
    unknown = sorted(set(playbook_steps) - set(PLAYBOOK_KEYS))
    if unknown:
        raise ValidationError(
            {"playbook_steps": f"Not a step of the playbook: {', '.join(unknown)}."}
        )
    # The call's row lock: two people flagging it at once take turns here, and the second
    # finds the first one's escalation (the unique constraint is the backstop).
    Call.objects.select_for_update().filter(pk=call.pk).values_list("pk").first()
    _refuse_if_open(call)
    now = timezone.now()
    minutes = (
        settings.ESCALATION_ACK_MINUTES_ABUSIVE
        if must_escalate(mood=call.mood, outcome=call.outcome)
        else settings.ESCALATION_ACK_MINUTES
    )
    escalation = Escalation(
        call=call,
        business_id=call.business_id,
        raised_by=user,
        raised_at=now,
        reason=reason.strip() or f"{call.get_mood_display()} caller: {call.summary}",
        severity=severity_for(call.mood, call.urgency),
        playbook_steps=[key for key in PLAYBOOK_KEYS if key in set(playbook_steps)],
        ack_deadline=now + timedelta(minutes=minutes),
    )
    escalation.full_clean(exclude=["call", "business", "raised_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            escalation.save()
    except IntegrityError:
        _refuse_if_open(call)
        raise
    signals.escalation_raised.send(sender=Escalation, instance=escalation)
    transaction.on_commit(lambda: notify_managers_of_escalation.enqueue(escalation.pk, "raised"))
    return escalation


def _refuse_if_open(call: Call) -> None:
    current = call.escalations.unresolved().select_related("raised_by").first()
    if current is not None:
        raise EscalationAlreadyOpen(current)


@transaction.atomic
def escalation_acknowledge(*, escalation_id: int, user) -> Escalation:
    """ "I'm taking this." Under a row lock, so of two managers at once exactly one wins."""
    escalation = Escalation.objects.select_for_update().get(pk=escalation_id)
    if escalation.status != EscalationStatus.OPEN:
        raise EscalationTaken(
            Escalation.objects.select_related("acknowledged_by", "resolved_by").get(
                pk=escalation_id
            )
        )
    escalation.status = EscalationStatus.ACKNOWLEDGED
    escalation.acknowledged_by = user
    escalation.acknowledged_at = timezone.now()
    escalation.assigned_to = escalation.assigned_to or user
    escalation.save()
    signals.escalation_acknowledged.send(sender=Escalation, instance=escalation)
    return escalation


@transaction.atomic
def escalation_assign(
    *, escalation_id: int, user, assignee, assigned_to_id: int | None = ...
) -> Escalation:
    """Give an unresolved escalation to another manager.

    `assigned_to_id`: who it was assigned to (an id, or None) when this person chose; if
    someone else reassigned it meanwhile, EscalationReassigned and nothing changes, rather
    than the last of two managers silently undoing the other's choice."""
    if not managers().filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": "Escalations go to a manager: pick one from the list."})
    escalation = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("assigned_to")
        .get(pk=escalation_id)
    )
    if escalation.status == EscalationStatus.RESOLVED:
        raise EscalationTaken(escalation)
    if assigned_to_id is not ... and escalation.assigned_to_id != assigned_to_id:
        raise EscalationReassigned(escalation)
    escalation.assigned_to = assignee
    escalation._change_reason = f"Assigned to {display_name(assignee)} by {display_name(user)}"
    escalation.save()
    return escalation


@transaction.atomic
def escalation_resolve(
    *,
    escalation_id: int,
    user,
    resolution: str,
    debrief: str = "",
    caution_decision: str = CautionDecision.KEEP,
    caution_note: str = "",
) -> Escalation:
    """Close an escalation with its resolution, the debrief, and the caller's caution flag.

    After abuse the receptionist always gets a debrief; setting the caution flag needs a
    handling note for whoever takes the next call.
    """
    escalation = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("call__caller")
        .get(pk=escalation_id)
    )
    if escalation.status == EscalationStatus.RESOLVED:
        raise EscalationTaken(
            Escalation.objects.select_related("acknowledged_by", "resolved_by").get(
                pk=escalation_id
            )
        )
    call = escalation.call
    errors = {}
    if not resolution.strip():
        errors["resolution"] = "Say what was done."
    if must_escalate(mood=call.mood, outcome=call.outcome) and not debrief.strip():
        errors["debrief"] = "After an abusive call, write a debrief note to the receptionist."
    if caution_decision not in CautionDecision.values:
        errors["caution_decision"] = "Keep, set or clear the caution flag."
    elif caution_decision == CautionDecision.SET and not caution_note.strip():
        errors["caution_note"] = HANDLING_NOTE_NEEDED
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    if escalation.status == EscalationStatus.OPEN:
        escalation.acknowledged_by, escalation.acknowledged_at = user, now
    escalation.status = EscalationStatus.RESOLVED
    escalation.resolution = resolution.strip()
    escalation.debrief = debrief.strip()
    escalation.caution_decision = caution_decision
    escalation.resolved_by, escalation.resolved_at = user, now
    escalation.full_clean(exclude=["call", "raised_by"])
    escalation.save()
    if caution_decision == CautionDecision.SET:
        caller_set_caution(
            caller_id=call.caller_id,
            user=user,
            caution=True,
            note=caution_note,
            reason=f"Caution set when escalation #{escalation.pk} was resolved",
        )
    elif caution_decision == CautionDecision.CLEAR:
        caller_set_caution(
            caller_id=call.caller_id,
            user=user,
            caution=False,
            reason=f"Caution cleared when escalation #{escalation.pk} was resolved",
        )
    signals.escalation_resolved.send(sender=Escalation, instance=escalation)
    return escalation


def escalations_sweep(*, now=None, limit: int = 500) -> int:
    """Re-notify every manager about escalations past their deadline, once each.

    Safe on several machines at once (see receptionist.sweeps.mark_and_notify):
    overdue_notified_at marks an escalation as done.
    """
    now = now or timezone.now()
    return mark_and_notify(
        Escalation.objects.overdue(now).filter(overdue_notified_at__isnull=True),
        limit=limit,
        notify=lambda pk: notify_managers_of_escalation.enqueue(pk, "overdue"),
        overdue_notified_at=now,
    )
