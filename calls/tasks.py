"""Background work of the calls app, run through the Tasks API (never inside a request)."""

import logging

from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from calls.models import Call, Escalation, MessageStatus, Outcome
from receptionist.roles import MANAGERS, emails_of, users_in

logger = logging.getLogger(__name__)


def manager_emails(*, include_unavailable: bool) -> list[str]:
    """Managers (and superusers) to notify; the unavailable ones only when asked."""
    return emails_of(users_in(MANAGERS, superusers=True), include_unavailable=include_unavailable)


@task()
def notify_managers_of_escalation(escalation_id: int, kind: str) -> int:
    """E-mail the managers about an escalation: a link only, never the caller's details.

    kind is "raised" (available managers), "overdue" (every manager: nobody took it) or
    "undelivered" (available managers: an urgent message of a call already escalated was
    not delivered, followups.deliveries, and the escalation now says so too) or
    "confirmed" (available managers: the message of an escalated delivery was confirmed
    after all, and the escalation says so).
    """
    link = settings.SITE_URL + reverse("escalations:detail", args=[escalation_id])
    if kind == "overdue":
        subject = f"Escalation #{escalation_id} has not been acknowledged"
        body = f"Nobody has acknowledged escalation #{escalation_id} in time.\n\n{link}\n"
        recipients = manager_emails(include_unavailable=True)
    elif kind == "undelivered":
        subject = f"Escalation #{escalation_id}: a message was not delivered"
        body = (
            f"The message of the call of escalation #{escalation_id} reached nobody "
            "who confirmed it: phone the business by hand and tell them the message.\n\n"
            f"{link}\n"
        )
        recipients = manager_emails(include_unavailable=False)
    elif kind == "confirmed":
        subject = f"Escalation #{escalation_id}: the message was confirmed after all"
        body = (
            f"The message of the call of escalation #{escalation_id} has been confirmed by "
            "someone at the business since you were asked to phone them: no need to pass it "
            f"on. Resolve the escalation when you have seen it.\n\n{link}\n"
        )
        recipients = manager_emails(include_unavailable=False)
    else:
        subject = f"New escalation #{escalation_id}"
        body = f"A receptionist needs a manager for a call.\n\n{link}\n"
        ended_for_abuse = Escalation.objects.filter(
            pk=escalation_id, call__outcome=Outcome.TERMINATED_ABUSIVE
        ).exists()
        if ended_for_abuse:
            body += (
                "\nThe receptionist ended this call for abuse: check on them and debrief "
                "them when you can.\n"
            )
        recipients = manager_emails(include_unavailable=False)
    if not recipients:
        return 0
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    return send_mass_mail(messages, fail_silently=False)


def message_email(call, *, with_text: bool) -> tuple[str, str]:
    """The subject and body of the e-mail of a message taken for a business: a link to it
    in the portal, and, only where the business allows it, the message itself."""
    business = call.business
    link = settings.SITE_URL + reverse("portal:call", args=[call.pk])
    taken = call.started_at.astimezone(business.zone).strftime("%Y-%m-%d %H:%M")
    subject = " ".join(f"New message for {business.name}".split())  # one line, whatever
    lines = [
        f"A message was taken for {business.name} on a call at {taken} ({business.time_zone})."
    ]
    if with_text:
        caller = call.caller
        number = call.phone.as_national if call.phone else "number withheld"
        lines += ["", f"From: {caller.name} ({number})", f"About: {call.summary}"]
        if call.wants:
            lines.append(f"They want: {call.wants}")
        if call.promised:
            lines.append(f"We told them: {call.promised}")
        if call.message:
            lines += ["", call.message]
    else:
        lines.append("Read it in your portal (you will be asked to log in).")
    lines += ["", link, ""]
    return subject, "\n".join(lines)


@task()
def send_message(call_id: int) -> str:
    """E-mail a message taken to its business's contacts (those with an address), once,
    and record the result on the call (its message_status). Returns that status."""
    call = Call.objects.select_related("business", "caller").filter(pk=call_id).first()
    if call is None or call.message_status != MessageStatus.PENDING:
        return call.message_status if call is not None else ""
    pending = Call.objects.filter(pk=call_id, message_status=MessageStatus.PENDING)
    if call.outcome != Outcome.MESSAGE_TAKEN:
        # Edited to another outcome before the worker came to it: no message to send.
        pending.update(message_status="")
        return ""
    # Claimed by one worker only: two runs of this task at once (two workers, the call
    # edited away and back) send it once.
    if not pending.update(message_status=MessageStatus.SENDING):
        return Call.objects.filter(pk=call_id).values_list("message_status", flat=True)[0]
    pending = Call.objects.filter(pk=call_id, message_status=MessageStatus.SENDING)
    recipients = sorted(
        set(call.business.contacts.exclude(email="").values_list("email", flat=True))
    )
    if not recipients:
        pending.update(message_status=MessageStatus.NO_CONTACTS)
        return MessageStatus.NO_CONTACTS
    subject, body = message_email(call, with_text=call.business.message_text_in_email)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:
        # The mail server refused or could not be reached: the call page says so, and the
        # message is in the portal all the same.
        logger.exception("E-mailing the message of call %s failed", call_id)
        pending.update(message_status=MessageStatus.FAILED)
        return MessageStatus.FAILED
    pending.update(
        message_status=MessageStatus.SENT,
        message_sent_at=timezone.now(),
        message_sent_to=", ".join(recipients),
    )
    return MessageStatus.SENT
