"""Background work of the calls app, run through the Tasks API (never inside a request)."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse
from django_tasks import task

from calls.models import Escalation, Outcome
from receptionist.roles import MANAGERS, emails_of, users_in


def manager_emails(*, include_unavailable: bool) -> list[str]:
    """Managers (and superusers) to notify; the unavailable ones only when asked."""
    return emails_of(users_in(MANAGERS, superusers=True), include_unavailable=include_unavailable)


@task()
def notify_managers_of_escalation(escalation_id: int, kind: str) -> int:
    """E-mail the managers about an escalation: a link only, never the caller's details.

    kind is "raised" (available managers) or "overdue" (every manager: nobody took it).
    """
    link = settings.SITE_URL + reverse("escalations:detail", args=[escalation_id])
    if kind == "overdue":
        subject = f"Escalation #{escalation_id} has not been acknowledged"
        body = f"Nobody has acknowledged escalation #{escalation_id} in time.\n\n{link}\n"
        recipients = manager_emails(include_unavailable=True)
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
