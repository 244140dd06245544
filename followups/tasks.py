"""Background work of the followups app: callback reminders, sent through the Tasks API."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from calls.tasks import manager_emails
from followups.models import Callback
from receptionist.roles import RECEPTIONISTS, emails_of, users_in

SUBJECTS = {
    "due": "Callback #{pk} is due at {due}",
    "overdue": "Callback #{pk} is overdue (was due at {due})",
    "released": "Callback #{pk} is back in the queue",
}


def team_emails() -> list[str]:
    """The front desk: receptionists who are not marked unavailable."""
    return emails_of(users_in(RECEPTIONISTS), include_unavailable=False)


@task()
def notify_callback(callback_id: int, kind: str) -> int:
    """E-mail whoever holds a callback (or the team) that it is due, overdue or released.

    A link only, never the caller's details. Overdue reminders go to the managers too.
    """
    callback = (
        Callback.objects.select_related("assigned_to", "claimed_by").filter(pk=callback_id).first()
    )
    if callback is None or not callback.is_active:
        return 0  # kept or cancelled between the sweep and now: nothing to remind
    holder = None if kind == "released" else (callback.claimed_by or callback.assigned_to)
    recipients = [holder.email] if holder is not None and holder.email else team_emails()
    if kind == "overdue":
        recipients = sorted(set(recipients) | set(manager_emails(include_unavailable=True)))
    if not recipients:
        return 0
    due = timezone.localtime(callback.due_at).strftime("%H:%M")
    subject = SUBJECTS[kind].format(pk=callback.pk, due=due)
    link = settings.SITE_URL + reverse("callbacks:detail", args=[callback.pk])
    body = f"{subject}.\n\n{link}\n"
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    return send_mass_mail(messages, fail_silently=False)


@task()
def recount_business(business_id: int) -> int:
    """Count every day of a business again (its time zone changed): followups.tally."""
    from followups.tally import recount_all

    return recount_all(business_id)


@task()
def send_webhooks(event_ids: list[str]) -> dict:
    """Send the deliveries of these events now (followups.webhooks.webhooks_send): enqueued
    after the write commits when tasks go to the worker; the sweep sends them otherwise."""
    from followups.webhooks import webhooks_send

    return webhooks_send(event_ids=event_ids)


@task()
def notify_webhook_paused(endpoint_id: int) -> int:
    """E-mail every manager that a webhook endpoint was paused after failing again and
    again: a link to it and the last error, nothing of what was sent."""
    from followups.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.paused_at is None:
        return 0  # deleted or resumed before the e-mail went: nothing to tell
    recipients = manager_emails(include_unavailable=True)
    if not recipients:
        return 0
    link = settings.SITE_URL + reverse("webhooks:detail", args=[endpoint.pk])
    subject = f"Webhook endpoint #{endpoint.pk} is paused"
    body = (
        f"Webhook endpoint #{endpoint.pk} kept failing, so nothing more is sent to it until "
        f"a manager resumes it. Its events are kept meanwhile.\n\n{endpoint.paused_reason}\n\n"
        f"{link}\n"
    )
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    return send_mass_mail(messages, fail_silently=False)


@task()
def send_delivery_notices(delivery_id: int) -> int:
    """Tell the person on call of an urgent message (followups.deliveries.send_notices):
    enqueued after the write that made the step commits; each notice goes once."""
    from followups.deliveries import send_notices

    return send_notices(delivery_id)
