"""Writes on calls. `call_log` is the one flow that composes callers, calls and callbacks."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from callers.models import Business, Caller
from callers.services import caller_add_phone, caller_create
from calls.models import (
    PLAYBOOK_KEYS,
    Call,
    CautionDecision,
    Escalation,
    EscalationStatus,
    Mood,
    Outcome,
    severity_for,
)
from calls.tasks import notify_managers_of_escalation

# The one place where calls reaches into followups (see DESIGN.md): logging a call creates
# its callback, or attaches it to the caller's open one, in the same transaction.
from followups.services import callback_attach, callback_create
from receptionist.sweeps import mark_and_notify


class EscalationTaken(Exception):
    """Another manager acknowledged (or resolved) the escalation first."""

    def __init__(self, escalation: Escalation):
        who = escalation.acknowledged_by or escalation.resolved_by
        super().__init__(f"Already taken by {who}")
        self.escalation = escalation
        self.by = who


def must_escalate(*, mood: str, outcome: str) -> bool:
    """Abuse always goes to a manager."""
    return mood == Mood.ABUSIVE or outcome == Outcome.TERMINATED_ABUSIVE


class CallConflict(Exception):
    """Someone else saved the call after this person opened it."""

    def __init__(self, current: Call):
        super().__init__(f"Call {current.pk} is at version {current.version}")
        self.current = current


@transaction.atomic
def call_log(
    *,
    user,
    caller: Caller | None = None,
    caller_name: str = "",
    phone=None,
    business: Business | None = None,
    escalate: bool = False,
    escalation_reason: str = "",
    playbook_steps: list[str] | None = None,
    callback: bool = False,
    callback_due_at: datetime | None = None,
    callback_promise: str = "",
    callback_window: str = "",
    attach_to: int | None = None,
    **fields,
) -> Call:
    """Log a call: pick the caller (creating one from name + number if new), save the call,
    raise its escalation when asked to (always for abuse), and record the promise to call
    back (or attach the call to the caller's open callback), all in one transaction."""
    if caller is None:
        if not caller_name.strip():
            raise ValueError("A new caller needs a name.")
        business = business or Business.objects.default()
        caller = caller_create(business=business, name=caller_name, phone=phone)
    elif phone:
        caller_add_phone(caller=caller, phone=phone)
    if fields.get("ended_at") is None:
        # The form's timer stops when the call is saved.
        fields["ended_at"] = max(timezone.now(), fields.get("started_at") or timezone.now())
    call = Call(
        business_id=caller.business_id, caller=caller, phone=phone or "", taken_by=user, **fields
    )
    call.full_clean(exclude=["caller", "business", "taken_by"])
    call.save()
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
    for name, value in changes.items():
        setattr(call, name, value)
    call.version += 1
    call._change_reason = "Edited"
    call.full_clean(exclude=["caller", "business", "taken_by"])
    call.save()
    return call


@transaction.atomic
def escalation_raise(
    *, call: Call, user, reason: str = "", playbook_steps: list[str]
) -> Escalation:
    """Hand a call to the managers, with a deadline to acknowledge it; notify after commit."""
    now = timezone.now()
    minutes = (
        settings.ESCALATION_ACK_MINUTES_ABUSIVE
        if must_escalate(mood=call.mood, outcome=call.outcome)
        else settings.ESCALATION_ACK_MINUTES
    )
    steps = [key for key in PLAYBOOK_KEYS if key in set(playbook_steps)]
    escalation = Escalation(
        call=call,
        raised_by=user,
        raised_at=now,
        reason=reason.strip() or f"{call.get_mood_display()} caller: {call.summary}",
        severity=severity_for(call.mood, call.urgency),
        playbook_steps=steps,
        ack_deadline=now + timedelta(minutes=minutes),
    )
    escalation.full_clean(exclude=["call", "raised_by"])
    escalation.save()
    transaction.on_commit(lambda: notify_managers_of_escalation.enqueue(escalation.pk, "raised"))
    return escalation


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
    return escalation


@transaction.atomic
def escalation_assign(*, escalation_id: int, user, assignee) -> Escalation:
    """Give an unresolved escalation to another manager."""
    escalation = Escalation.objects.select_for_update().get(pk=escalation_id)
    if escalation.status == EscalationStatus.RESOLVED:
        raise EscalationTaken(escalation)
    escalation.assigned_to = assignee
    escalation._change_reason = f"Assigned to {assignee} by {user}"
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
    """Close an escalation with its resolution, the debrief, and the caller's caution flag."""
    escalation = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("call__caller")
        .get(pk=escalation_id)
    )
    if escalation.status == EscalationStatus.RESOLVED:
        raise EscalationTaken(escalation)
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
    caller = escalation.call.caller
    if caution_decision == CautionDecision.SET:
        caller.caution, caller.caution_note = True, caution_note.strip()
        caller._change_reason = f"Caution set when escalation #{escalation.pk} was resolved"
        caller.save()
    elif caution_decision == CautionDecision.CLEAR:
        caller.caution, caller.caution_note = False, ""
        caller._change_reason = f"Caution cleared when escalation #{escalation.pk} was resolved"
        caller.save()
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
