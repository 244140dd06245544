"""Confirmed delivery of urgent messages: "taken" means received by a person who said so.

- delivery_start(): in call_log's transaction (calls.services), for a message taken with
  high or emergency urgency (any message of a business that confirms every one): the
  people on call then (callers.oncall; a business with no schedule: its contacts by name)
  become the ladder, and the first one reachable is told (after commit, by the worker).
- deliveries_sweep(): every minute; a person who has not confirmed within the business's
  window is followed by the next one; after the last (or at once, when nobody is on call)
  the managers get an escalation to phone the business by hand. SELECT ... FOR UPDATE SKIP
  LOCKED and the `next_at` mark (receptionist.sweeps.mark_and_notify): each rung is climbed
  once, however many sweeps run at once.
- send_notices(): the worker's task; each step's notice is claimed (pending -> sending)
  before it is sent, so it goes once, through the step's channel (followups.channels).
- delivery_confirm(): by the signed link in the notice (no login; it expires) or by the
  client portal's Confirm button. Of two confirmations at once, one wins and the other is
  told who confirmed first (DeliveryAlreadyConfirmed).
- delivery_follow(): in call_update's transaction: an edit that makes the message one to
  confirm starts its delivery (or starts a stopped one again); an edit that makes it one
  that needs no confirming stops a ladder still waiting.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Case, Value, When
from django.urls import reverse
from django.utils import timezone

from callers.models import Business, BusinessContact
from callers.oncall import on_call_of
from calls.models import URGENT_MESSAGE_URGENCIES, Call, DeliveryState, Outcome, Urgency
from followups.channels import Notice, channel_named, reach
from followups.models import (
    ConfirmedVia,
    DeliveryStep,
    MessageDelivery,
    NoticeStatus,
    StepResult,
)
from followups.tasks import send_delivery_notices
from receptionist.roles import display_name
from receptionist.sweeps import mark_and_notify

logger = logging.getLogger(__name__)

# Urgencies whose messages are always confirmed; any other only at a business that
# confirms every message (Business.always_confirm).
CONFIRMED_URGENCIES = URGENT_MESSAGE_URGENCIES
LINK_SALT = "followups.deliveries.confirm"
CLIENTS_OF_THE_BUSINESS = "Only someone at the business the message is for confirms it here."


class DeliveryAlreadyConfirmed(Exception):
    """Someone else confirmed the message first."""

    def __init__(self, delivery: MessageDelivery):
        super().__init__(f"Delivery {delivery.pk} was confirmed by {delivery.confirmed_by_name}")
        self.delivery = delivery
        self.by = delivery.confirmed_by_name
        self.at = delivery.confirmed_at


class DeliveryWithdrawn(Exception):
    """The message no longer needs confirming: an edit stopped its delivery (delivery_stop).
    Confirming it would mark a message confirmed that nobody is waiting on, and a later
    edit back up to an urgent one would then start no ladder."""

    def __init__(self, delivery: MessageDelivery):
        super().__init__(f"Delivery {delivery.pk} was stopped")
        self.delivery = delivery


class LinkInvalid(Exception):
    """A confirmation link this app did not make (or made for something else)."""


class LinkExpired(Exception):
    """A confirmation link older than settings.DELIVERY_LINK_HOURS."""


def needs_confirming(call: Call, business: Business) -> bool:
    """A message taken for the business, urgent or of a business that confirms every one."""
    return call.outcome == Outcome.MESSAGE_TAKEN and (
        call.urgency in CONFIRMED_URGENCIES or business.always_confirm
    )


def message_words(call: Call) -> str:
    """What the message is called in what people read: "Urgent message" for a high or
    emergency one, "Message" for one of normal or low urgency that its business confirms
    all the same (Business.always_confirm): such a message is not urgent, and a notice
    that shouts URGENT for it teaches people to ignore the ones that are."""
    return "Urgent message" if call.is_urgent_message else "Message"


def person_of(contact) -> dict:
    """A contact as the ladder keeps it: as they are when the message is taken."""
    return {
        "contact": contact.pk,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone.as_e164 if contact.phone else "",
        "role": contact.role,
    }


def ladder_for(business: Business, at) -> tuple[list[dict], bool]:
    """Who is told, in order, of an urgent message taken at `at`: who is on call then by
    the business's schedule ([] in a gap), or, when no schedule speaks for that moment (no
    weekly rotation, and no exception holding then: callers.oncall.OnCall.scheduled), its
    contacts by name; and whether it came from the schedule."""
    on_call = on_call_of([business], at)[business.pk]
    people = on_call.contacts if on_call.scheduled else list(business.contacts.all())
    return [person_of(contact) for contact in people], on_call.scheduled


def _set_state(call: Call, state: str) -> None:
    """The call's own copy of where the delivery stands (the call log's badge)."""
    Call.objects.filter(pk=call.pk).update(delivery_state=state)
    call.delivery_state = state


@transaction.atomic
def delivery_start(*, call: Call, now=None) -> MessageDelivery | None:
    """Start the delivery of the message of `call` when it must be confirmed (see
    needs_confirming): tell the first person on call, after commit. None when it need not;
    the call's delivery when it has one already (a stopped one starts again: see
    _restart). The caller holds the call's row (it has just saved it)."""
    business = Business.objects.get(pk=call.business_id)
    if not needs_confirming(call, business):
        return None
    existing = MessageDelivery.objects.select_for_update().filter(call_id=call.pk).first()
    now = now or timezone.now()
    if existing is not None:
        if existing.state == DeliveryState.STOPPED:
            _restart(existing, call, business, now)
        return existing
    ladder, scheduled = ladder_for(business, now)
    delivery = MessageDelivery.objects.create(
        call=call,
        business=business,
        started_at=now,
        window_minutes=_window(call, business),
        ladder=ladder,
        scheduled=scheduled,
    )
    _set_state(call, DeliveryState.SENT)
    _climb(delivery, now)
    transaction.on_commit(lambda: send_delivery_notices.enqueue(delivery.pk))
    return delivery


def _window(call: Call, business: Business) -> int:
    """The minutes each person has to confirm a message of this urgency."""
    if call.urgency == Urgency.EMERGENCY:
        return business.confirm_minutes_emergency
    return business.confirm_minutes_high


def _restart(delivery: MessageDelivery, call: Call, business: Business, now) -> None:
    """A delivery stopped by an edit (delivery_stop) whose message must be confirmed again:
    the people on call now are added to its ladder after those already told (the log
    keeps every step), and the first of them is told. The caller holds its row lock."""
    ladder, scheduled = ladder_for(business, now)
    delivery.ladder = delivery.ladder[: delivery.next_rung] + ladder
    delivery.scheduled = scheduled
    delivery.window_minutes = _window(call, business)
    delivery.state = DeliveryState.SENT
    delivery.save(update_fields=["ladder", "scheduled", "window_minutes", "state"])
    _set_state(call, DeliveryState.SENT)
    _climb(delivery, now)
    transaction.on_commit(lambda: send_delivery_notices.enqueue(delivery.pk))


@transaction.atomic
def delivery_stop(*, call: Call, now=None) -> MessageDelivery | None:
    """The message of `call` no longer needs confirming (edited to a lower urgency, or to
    another outcome): a ladder still waiting stops, and whoever has it is told nothing more
    (their step is withdrawn; a notice not sent yet is not sent). A delivery confirmed or
    escalated already stays as it is. The caller holds the call's row."""
    delivery = MessageDelivery.objects.select_for_update().filter(call_id=call.pk).first()
    if delivery is None or not delivery.is_waiting:
        return delivery
    now = now or timezone.now()
    delivery.state = DeliveryState.STOPPED
    delivery.next_at = None
    delivery.save(update_fields=["state", "next_at"])
    delivery.steps.filter(result=StepResult.WAITING).update(
        result=StepResult.WITHDRAWN, closed_at=now
    )
    _set_state(call, DeliveryState.STOPPED)
    return delivery


@transaction.atomic
def delivery_follow(*, call: Call, now=None) -> MessageDelivery | None:
    """After an edit of `call` (call_update, under its row lock): its delivery follows the
    message as it now is. One that must be confirmed starts (or starts again), one that no
    longer must stops. No query for a call that is no message and never had a delivery."""
    if call.outcome != Outcome.MESSAGE_TAKEN and not call.delivery_state:
        return None
    if call.delivery_state in (DeliveryState.CONFIRMED, DeliveryState.ESCALATED):
        return None  # someone has it, or the managers do: an edit changes nothing of that
    business = Business.objects.get(pk=call.business_id)
    if needs_confirming(call, business):
        return delivery_start(call=call, now=now)
    return delivery_stop(call=call, now=now)


def _climb(delivery: MessageDelivery, now) -> bool:
    """Tell the next person on the ladder who can be reached (recording those who cannot,
    and those deleted from the business's contacts since the message was taken) and give
    them the window to confirm; when nobody is left, escalate. True when someone was told.
    The caller holds the delivery's row lock."""
    window = timedelta(minutes=delivery.window_minutes)
    while delivery.next_rung < len(delivery.ladder):
        person = delivery.ladder[delivery.next_rung]
        delivery.next_rung += 1
        step = DeliveryStep(
            delivery=delivery,
            position=delivery.next_rung,
            name=(person.get("name") or "?")[:200],
            notified_at=now,
        )
        contact_id = person.get("contact")
        if contact_id is not None and not _still_a_contact(contact_id, delivery.business_id):
            # Deleted (business_save) after the message was taken: the ladder keeps their
            # name, and nobody tells someone who is no longer the business's.
            step.result, step.notice = StepResult.REMOVED, NoticeStatus.NOT_SENT
            step.closed_at = now
            step.save()
            continue
        step.contact_id = contact_id
        found = reach(person)
        if found is None:
            step.result, step.notice = StepResult.UNREACHABLE, NoticeStatus.NOT_SENT
            step.closed_at = now
            step.error = "No address to reach them on (an e-mail address)."
            step.save()
            continue
        channel, address = found
        step.channel, step.address, step.ends_at = channel.name, address[:254], now + window
        step.save()
        delivery.next_at = now + window
        delivery.save(update_fields=["next_rung", "next_at"])
        return True
    _escalate(delivery, now)
    return False


def _still_a_contact(contact_id, business_id: int) -> bool:
    """Whether the contact is still one of the business's. One deleted in the instant
    between this and the commit fails the foreign key check of this delivery's savepoint
    (_move_on), and the next sweep skips them."""
    if type(contact_id) is not int:
        return False
    return BusinessContact.objects.filter(pk=contact_id, business_id=business_id).exists()


def _escalate(delivery: MessageDelivery, now) -> None:
    """Nobody (left) to tell: the managers get an escalation to phone the business by
    hand, through calls' own service (its notice, its queue). A call already with the
    managers (raised by hand, or for abuse) keeps that one escalation, which then says
    that the message went undelivered, and the managers are e-mailed again. The caller
    holds the delivery's row lock and the call's."""
    # Imported here: calls.services imports this module to start a delivery.
    from calls.services import EscalationAlreadyOpen, escalation_raise

    call = Call.objects.select_related("taken_by").get(pk=delivery.call_id)
    reason = _why_escalated(delivery)
    try:
        escalation = escalation_raise(
            call=call, user=call.taken_by, reason=reason[:2000], playbook_steps=[]
        )
    except EscalationAlreadyOpen as exc:
        escalation = _tell_the_open_escalation(exc.escalation, reason)
    delivery.state = DeliveryState.ESCALATED
    delivery.next_at = None
    delivery.escalated_at = now
    delivery.escalation = escalation
    delivery.escalation_reason = reason[:300]
    delivery.save(
        update_fields=[
            "next_rung",
            "state",
            "next_at",
            "escalated_at",
            "escalation",
            "escalation_reason",
        ]
    )
    _set_state(call, DeliveryState.ESCALATED)


def _why_escalated(delivery: MessageDelivery) -> str:
    """What the managers read: who had the message and did not confirm it, whose notice
    could not be sent (never counted among those told), or that nobody was there."""
    name = delivery.business.name
    words = message_words(delivery.call)
    # Not a step an edit withdrew (delivery_stop): that turn ended with the stop, not
    # unconfirmed, and a ladder started again says who was on call then.
    steps = [step for step in delivery.steps.all() if step.result != StepResult.WITHDRAWN]

    def names(keep) -> list[str]:
        return list(dict.fromkeys(step.name for step in steps if keep(step)))

    told = names(lambda step: step.notice == NoticeStatus.SENT)
    failed = names(lambda step: step.notice == NoticeStatus.FAILED)
    # Still on its way when its time ran out (a mail server slow to answer, no worker).
    unsent = names(
        lambda step: step.channel and step.notice in (NoticeStatus.PENDING, NoticeStatus.SENDING)
    )
    if told or failed or unsent:
        problems = []
        if failed:
            problems.append(f"it could not be sent to {', '.join(failed)}")
        if unsent:
            problems.append(f"it had not gone out yet to {', '.join(unsent)}")
        if told:
            waited = f"{', '.join(told)} ({delivery.window_minutes} min each)"
            said = "; ".join([f"not confirmed: {waited}", *problems])
        else:
            said = f"not delivered: {'; '.join(problems)}"
        return f"{words} for {name} {said}. Phone the business by hand."
    if steps:
        return (
            f"{words} for {name}: nobody on call can be reached (no e-mail address, "
            "or no longer one of its contacts). Phone the business by hand and tell them "
            "the message."
        )
    return (
        f"{words} for {name}: nobody is on call now. Phone the business by hand and "
        "tell them the message."
    )


def _tell_the_open_escalation(escalation, reason: str):
    """The call's open escalation (raised by hand, or for abuse) takes on the undelivered
    message: a note under its reason, in its history, and the managers' e-mail of a new
    escalation, so that nobody reads it as being about something else only."""
    from calls.models import Escalation

    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    _note_under_reason(
        escalation,
        f"Undelivered: {reason}",
        why="The message of the call was not delivered",
        kind="undelivered",
    )
    return escalation


def _note_under_reason(escalation, note: str, *, why: str, kind: str) -> None:
    """Add `note` under the escalation's reason (its 2,000 characters kept, the note whole),
    with `why` in its history, and e-mail the managers (calls.tasks, `kind`) after commit.
    The caller holds the escalation's row lock."""
    from calls.tasks import notify_managers_of_escalation

    room = max(2000 - len(note) - 2, 0)
    escalation.reason = f"{escalation.reason[:room]}\n\n{note}"[:2000]
    escalation._change_reason = why
    escalation.save(update_fields=["reason"])
    transaction.on_commit(lambda pk=escalation.pk: notify_managers_of_escalation.enqueue(pk, kind))


def _time_is_up(pks: list[int], now) -> dict[str, int]:
    """The sweep's step, in its transaction, for the deliveries it marked (their rows
    locked): the person told last had their time (or their notice failed); tell the next.
    Each delivery on its own savepoint: one that fails (or whose call is being edited
    right now) is due again at once, and never holds back the others."""
    done = {"advanced": 0, "escalated": 0}
    for delivery in (
        MessageDelivery.objects.filter(pk__in=pks).select_related("business").order_by("pk")
    ):
        try:
            with transaction.atomic():
                moved = _move_on(delivery, now)
        except Exception:
            logger.exception("Delivery %s could not move on: tried again next sweep", delivery.pk)
            moved = None
        if moved is None:
            # The sweep's mark was taken (next_at None): set it again, due now.
            MessageDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENT).update(
                next_at=now
            )
            continue
        done["advanced" if moved else "escalated"] += 1
    return done


def _move_on(delivery: MessageDelivery, now) -> bool | None:
    """Close the step of the person told last and climb to the next (see _climb); None,
    leaving it all as it was, while the call's row is held by an edit (which may stop or
    restart this very delivery: call_update locks the call, then the delivery)."""
    held = Call.objects.select_for_update(skip_locked=True).filter(pk=delivery.call_id)
    if not held.values_list("pk", flat=True):
        return None
    delivery.steps.filter(result=StepResult.WAITING).update(
        result=Case(
            When(notice=NoticeStatus.FAILED, then=Value(StepResult.FAILED)),
            default=Value(StepResult.TIMED_OUT),
        ),
        closed_at=now,
    )
    moved = _climb(delivery, now)
    if connection.vendor == "postgresql":
        # Foreign keys are checked at commit: check them here, inside this delivery's
        # savepoint, so that a row of this one (a step naming a contact deleted meanwhile)
        # cannot fail the whole sweep's commit.
        connection.check_constraints()
    return moved


def deliveries_sweep(*, now=None, limit: int = 200) -> dict[str, int]:
    """Move every delivery whose person told last has had their time to the next person,
    or to the managers after the last: once per window, however many sweeps run at once.
    Returns how many moved on to someone, and how many were escalated."""
    now = now or timezone.now()
    done = {"advanced": 0, "escalated": 0}

    def record(pks):
        for name, count in _time_is_up(pks, now).items():
            done[name] += count

    mark_and_notify(
        MessageDelivery.objects.due(now),
        limit=limit,
        notify=lambda pk: send_delivery_notices.enqueue(pk),
        record=record,
        next_at=None,
    )
    return done


# --- the notices --------------------------------------------------------------------------


def confirm_token(step: DeliveryStep) -> str:
    """The signed part of a step's confirmation link: which delivery and whose step, and
    when it was made (it expires after settings.DELIVERY_LINK_HOURS)."""
    return signing.dumps([step.delivery_id, step.pk], salt=LINK_SALT, compress=False)


def read_confirm_token(token: str) -> tuple[int, int]:
    """(delivery id, step id) of a confirmation link; LinkInvalid for one this app did not
    make, LinkExpired for one too old."""
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        raise LinkInvalid
    try:
        value = signing.loads(
            token, salt=LINK_SALT, max_age=timedelta(hours=settings.DELIVERY_LINK_HOURS)
        )
    except signing.SignatureExpired:
        raise LinkExpired from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise LinkInvalid from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(type(part) is int and part > 0 for part in value)
    ):
        raise LinkInvalid
    return value[0], value[1]


def confirm_url(step: DeliveryStep) -> str:
    return settings.SITE_URL + reverse("deliveries:confirm", args=[confirm_token(step)])


def notice_for(delivery: MessageDelivery, step: DeliveryStep, now) -> Notice:
    """What the person of `step` is told: the message (only where the business allows its
    text in e-mails, as for its other messages), the link to confirm it, until when."""
    call, business = delivery.call, delivery.business
    zone = business.zone
    link = confirm_url(step)
    urgency = call.get_urgency_display().lower()
    taken = call.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    expires = (now + timedelta(hours=settings.DELIVERY_LINK_HOURS)).astimezone(zone)
    words = message_words(call)
    lines = [
        f"{'An urgent' if words == 'Urgent message' else 'A'} message ({urgency} urgency) was "
        f"taken for {business.name} on a call at {taken} ({business.time_zone}), and you are "
        "on call.",
    ]
    if business.message_text_in_email:
        caller = call.caller
        number = call.phone.as_national if call.phone else "number withheld"
        lines += ["", f"From: {caller.name} ({number})", f"About: {call.summary}"]
        if call.wants:
            lines.append(f"They want: {call.wants}")
        if call.message:
            lines += ["", call.message]
    else:
        portal = settings.SITE_URL + reverse("portal:call", args=[call.pk])
        lines += ["", f"Read it in your portal (you will be asked to log in): {portal}"]
    last = delivery.next_rung >= len(delivery.ladder)
    then = (
        "the answering service's managers are told to phone you"
        if last
        else "the next person on call is told"
    )
    deadline = step.ends_at.astimezone(zone).strftime("%H:%M") if step.ends_at else ""
    lines += [
        "",
        "Confirm that you have it (one click, no login needed):",
        link,
        "",
        f"If it is not confirmed by {deadline}, {then}. The link works until "
        f"{expires:%Y-%m-%d %H:%M}.",
        "",
    ]
    shout = "URGENT message" if words == "Urgent message" else "Message"
    subject = " ".join(f"{shout} for {business.name}: please confirm".split())
    line = f"{words} for {business.name}: confirm you have it at {link}"
    return Notice(subject=subject, text="\n".join(lines), line=line, confirm_url=link)


def send_notices(delivery_id: int, now=None) -> int:
    """Send the notices of a delivery's steps not sent yet, each once (a step is claimed
    before it is sent: two workers at once send it once). A notice that fails is recorded,
    and the ladder moves on at the next sweep. Returns how many were sent."""
    sent = 0
    pending = DeliveryStep.objects.filter(delivery_id=delivery_id, notice=NoticeStatus.PENDING)
    for step_id in list(pending.order_by("position").values_list("pk", flat=True)):
        mine = DeliveryStep.objects.filter(pk=step_id, notice=NoticeStatus.PENDING)
        if not mine.update(notice=NoticeStatus.SENDING):
            continue  # another worker has it
        this = DeliveryStep.objects.filter(pk=step_id)
        step = this.select_related("delivery__call__caller", "delivery__business").get()
        delivery = step.delivery
        at = now or timezone.now()
        if not delivery.is_waiting or not step.is_waiting:
            # Confirmed (or escalated) before the worker came to it: nothing to tell.
            this.update(notice=NoticeStatus.NOT_SENT)
            continue
        channel = channel_named(step.channel)
        try:
            if channel is None:
                raise LookupError(f"No channel {step.channel!r} is configured.")
            channel.send(step.address, notice_for(delivery, step, at))
        except Exception as exc:  # whatever goes wrong over there is a failed notice
            logger.exception("The notice of delivery step %s failed", step_id)
            this.update(notice=NoticeStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:300])
            # Its time ran out while it was being sent (a mail server that hung): the log
            # says why it came to nothing.
            this.filter(result=StepResult.TIMED_OUT).update(result=StepResult.FAILED)
            failed_at = now or timezone.now()
            # Nobody can confirm what they were not told: the next sweep moves on, but only
            # from this step while it is still the one waiting (next_rung is its position).
            # A failure that comes after the sweep moved on (a send that outlived its
            # window) must not cut the next person's window short.
            MessageDelivery.objects.filter(
                pk=delivery.pk,
                state=DeliveryState.SENT,
                next_rung=step.position,
                next_at__gt=failed_at,
            ).update(next_at=failed_at)
            continue
        this.update(notice=NoticeStatus.SENT, sent_at=timezone.now())
        sent += 1
    return sent


# --- confirming ----------------------------------------------------------------------------


@transaction.atomic
def delivery_confirm(
    *, delivery_id: int, step_id: int | None = None, user=None, now=None
) -> tuple[MessageDelivery, bool]:
    """Someone has the message: the person of step `step_id` (through their link), or
    `user`, someone at the business (the portal's Confirm button, which also marks the
    message read). The ladder stops; a confirmation after the escalation is recorded too,
    and the managers' escalation, still theirs to resolve, says it came. Returns (the
    delivery, whether this confirmed it: False when this same person had already).
    DeliveryAlreadyConfirmed when someone else did first; DeliveryWithdrawn when an edit
    stopped it (the message no longer needs confirming);
    PermissionDenied for a user not of the business; DoesNotExist for no such delivery or
    step.

    Under the delivery's row lock: of two confirmations at once, one wins."""
    if (step_id is None) == (user is None):
        raise ValueError("Confirmed by the person of a step, or by a user: one of the two.")
    # The call's row lock first, then the delivery's: the order call_update takes them in
    # (an edit may stop or start this delivery), so that the two never wait on each other.
    call_id = MessageDelivery.objects.filter(pk=delivery_id).values_list("call_id", flat=True)
    Call.objects.select_for_update().filter(pk__in=call_id).values_list("pk").first()
    delivery = (
        MessageDelivery.objects.select_for_update().select_related("call").get(pk=delivery_id)
    )
    step = None
    if user is not None:
        business = Business.objects.of_client(user) if user.is_authenticated else None
        if (
            not user.has_perm("calls.read_messages")
            or business is None
            or business.pk != delivery.business_id
        ):
            raise PermissionDenied(CLIENTS_OF_THE_BUSINESS)
        name, via = display_name(user), ConfirmedVia.PORTAL
    else:
        step = DeliveryStep.objects.get(pk=step_id, delivery_id=delivery.pk)
        name, via = step.name, ConfirmedVia.LINK
    if delivery.is_confirmed:
        if (step is not None and step.is_confirmed) or (
            user is not None and delivery.confirmed_by_id == user.pk
        ):
            return delivery, False
        raise DeliveryAlreadyConfirmed(delivery)
    if delivery.state == DeliveryState.STOPPED:
        raise DeliveryWithdrawn(delivery)
    now = now or timezone.now()
    late = delivery.state == DeliveryState.ESCALATED
    delivery.state = DeliveryState.CONFIRMED
    delivery.next_at = None
    delivery.confirmed_at = now
    delivery.confirmed_by_name = name[:200]
    delivery.confirmed_by = user
    delivery.confirmed_via = via
    delivery.save(
        update_fields=[
            "state",
            "next_at",
            "confirmed_at",
            "confirmed_by_name",
            "confirmed_by",
            "confirmed_via",
        ]
    )
    if step is not None:
        DeliveryStep.objects.filter(pk=step.pk).update(result=StepResult.CONFIRMED, closed_at=now)
    delivery.steps.filter(result=StepResult.WAITING).update(
        result=StepResult.STOPPED, closed_at=now
    )
    _set_state(delivery.call, DeliveryState.CONFIRMED)
    if user is not None:
        # Confirming it in the portal is reading it: the message leaves the unread ones
        # (message_mark_read's rule: the first reader and time are kept).
        Call.objects.filter(pk=delivery.call_id, message_read_at__isnull=True).update(
            message_read_at=now, message_read_by=user
        )
    if late and delivery.escalation_id:
        _tell_the_escalation_it_was_confirmed(delivery, via)
    return delivery, True


def _tell_the_escalation_it_was_confirmed(delivery: MessageDelivery, via: str) -> None:
    """A confirmation after the managers were asked to phone the business: their escalation,
    while not resolved, says so under its reason (and in its history), and they are
    e-mailed, so that nobody phones to pass on a message the business has. Resolving it
    stays theirs. The caller holds the call's and the delivery's row locks (the order
    escalation_resolve never takes the other way round: it locks the escalation alone)."""
    from calls.models import Escalation, EscalationStatus

    escalation = Escalation.objects.select_for_update().get(pk=delivery.escalation_id)
    if escalation.status == EscalationStatus.RESOLVED:
        return
    how = "by the link in their notice" if via == ConfirmedVia.LINK else "in the client portal"
    at = delivery.confirmed_at.astimezone(delivery.business.zone)
    note = (
        f"Confirmed after all: {delivery.confirmed_by_name} confirmed the message {how} at "
        f"{at:%H:%M} ({delivery.business.time_zone}). The business has it: no need to phone "
        "to pass it on."
    )
    _note_under_reason(
        escalation,
        note,
        why="The message of the call was confirmed after the escalation",
        kind="confirmed",
    )
