"""Webhooks: events recorded with the write that caused them (an outbox), sent signed by
the worker or the `webhooks_send` sweep, never inside a page's request.

- record(): inside the service's transaction, one WebhookEvent (the exact JSON body) and a
  WebhookDelivery per endpoint that asked for the event and the business. Rolled back with
  the write, so an event exists if and only if what it tells of happened.
- webhooks_send(): the sweep. Claims due deliveries (SKIP LOCKED, a lease), sends each
  outside any transaction with a hard time limit, records the answer, backs off
  exponentially, gives up after WEBHOOK_MAX_ATTEMPTS, and pauses an endpoint after
  WEBHOOK_PAUSE_AFTER_FAILURES failed tries in a row (the managers are e-mailed).
- The services managers' pages call: save an endpoint, rotate its secret, pause, resume,
  delete, replay a delivery. Each checks who may (managers of every business).
"""

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks.backends.immediate import ImmediateBackend

from callers.models import Business, validate_one_line
from calls import signals as call_signals
from followups.models import (
    Callback,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventName,
)
from followups.tasks import notify_webhook_paused, send_webhooks

SIGNATURE_HEADER = "X-Calllog-Signature"
EVENT_HEADER = "X-Calllog-Event"
DELIVERY_HEADER = "X-Calllog-Delivery"
USER_AGENT = "calllog-webhooks/1"

MANAGERS_ONLY = "Only managers set up webhooks."
EVERY_BUSINESS_ONLY = (
    "Webhooks are set up by managers who work for every business: an endpoint can be sent "
    "any business's events."
)
SECRET_RULE = (
    "A secret is 24 to 100 characters: letters, digits and punctuation, no spaces. "
    "Leave it empty to have one made."
)
ALREADY_WAITING = (
    "This event is already waiting to be sent to this endpoint (delivery #{pk}): it goes "
    "out with the next try."
)


# --- who may ---------------------------------------------------------------------------------


def may_manage_webhooks(user) -> bool:
    """Managers (followups.change_webhookendpoint) who work for every business: an endpoint
    with no business filter is sent every business's events."""
    return user.has_perm("followups.change_webhookendpoint") and (
        Business.objects.ids_for(user) is None
    )


def check_may_manage(user) -> None:
    if not user.has_perm("followups.change_webhookendpoint"):
        raise PermissionDenied(MANAGERS_ONLY)
    if Business.objects.ids_for(user) is not None:
        raise PermissionDenied(EVERY_BUSINESS_ONLY)


# --- the bodies ------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    """UTC, to the second, ISO 8601 with a Z."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _link(record) -> str:
    return settings.SITE_URL + record.get_absolute_url()


def call_record(call) -> dict:
    """A call, as its events tell it: ids, the vocabulary and times; no free text and no
    caller's name or number (read those with the API, if the receiver needs them)."""
    return {
        "call": {
            "id": call.pk,
            "caller_id": call.caller_id,
            "taken_by_id": call.taken_by_id,
            "started_at": _time(call.started_at),
            "ended_at": _time(call.ended_at),
            "direction": call.direction,
            "nature": call.nature,
            "urgency": call.urgency,
            "mood": call.mood,
            "outcome": call.outcome,
            "url": _link(call),
        }
    }


def escalation_record(escalation) -> dict:
    return {
        "escalation": {
            "id": escalation.pk,
            "call_id": escalation.call_id,
            "status": escalation.status,
            "severity": int(escalation.severity),
            "raised_at": _time(escalation.raised_at),
            "raised_by_id": escalation.raised_by_id,
            "ack_deadline": _time(escalation.ack_deadline),
            "acknowledged_at": _time(escalation.acknowledged_at),
            "acknowledged_by_id": escalation.acknowledged_by_id,
            "assigned_to_id": escalation.assigned_to_id,
            "resolved_at": _time(escalation.resolved_at),
            "resolved_by_id": escalation.resolved_by_id,
            "url": _link(escalation),
        }
    }


def callback_record(callback) -> dict:
    return {
        "callback": {
            "id": callback.pk,
            "call_id": callback.call_id,
            "caller_id": callback.caller_id,
            "status": callback.status,
            "priority": int(callback.priority),
            "due_at": _time(callback.due_at),
            "promised_due_at": _time(callback.promised_due_at),
            "assigned_to_id": callback.assigned_to_id,
            "claimed_by_id": callback.claimed_by_id,
            "attempt_count": callback.attempt_count,
            "closed_at": _time(callback.closed_at),
            "closed_by_id": callback.closed_by_id,
            "url": _link(callback),
        }
    }


RECORDS = {
    WebhookEventName.CALL_LOGGED: call_record,
    WebhookEventName.MESSAGE_TAKEN: call_record,
    WebhookEventName.ESCALATION_RAISED: escalation_record,
    WebhookEventName.ESCALATION_ACKNOWLEDGED: escalation_record,
    WebhookEventName.ESCALATION_RESOLVED: escalation_record,
    WebhookEventName.CALLBACK_DUE: callback_record,
    WebhookEventName.CALLBACK_OVERDUE: callback_record,
    WebhookEventName.CALLBACK_CLOSED: callback_record,
}


def event_body(*, event_id: uuid.UUID, name: str, occurred_at: datetime, record) -> str:
    """The JSON body of an event: what every delivery and replay of it sends, byte for byte."""
    body = {
        "id": str(event_id),
        "event": str(name),
        "occurred_at": _time(occurred_at),
        "business_id": record.business_id,
        "data": RECORDS[name](record),
    }
    return json.dumps(body, separators=(",", ":"))


# --- recording (the outbox) -----------------------------------------------------------------


def tasks_are_queued() -> bool:
    """True when tasks go to a queue a worker runs (TASKS_BACKEND=database), False when
    they would run inline as they are enqueued (the immediate backend): then the sweep
    alone sends, so that no page ever waits on another system."""
    return not isinstance(send_webhooks.get_backend(), ImmediateBackend)


def record(name: str, records: Iterable, *, now: datetime | None = None) -> int:
    """Record event `name` for each of `records` (calls, escalations or callbacks), for the
    endpoints that asked for it and for the record's business. Returns how many events.

    Called inside the transaction of the write it tells of: rolled back with it. One query
    when no endpoint wants the event, three when some do, however many records.
    """
    records = list(records)
    if not records:
        return 0
    wanted = [
        (pk, businesses)
        for pk, events, businesses in WebhookEndpoint.objects.subscriptions()
        if name in events
    ]
    if not wanted:
        return 0
    now = now or timezone.now()
    events, deliveries = [], []
    for item in records:
        endpoints = [pk for pk, only in wanted if not only or item.business_id in only]
        if not endpoints:
            continue
        event_id = uuid.uuid4()
        events.append(
            WebhookEvent(
                id=event_id,
                name=name,
                business_id=item.business_id,
                occurred_at=now,
                body=event_body(event_id=event_id, name=name, occurred_at=now, record=item),
            )
        )
        deliveries += [
            WebhookDelivery(endpoint_id=pk, event_id=event_id, next_attempt_at=now, created_at=now)
            for pk in endpoints
        ]
    if not events:
        return 0
    WebhookEvent.objects.bulk_create(events)
    WebhookDelivery.objects.bulk_create(deliveries)
    _send_after_commit([event.id for event in events])
    return len(events)


def _send_after_commit(event_ids: list) -> None:
    """With a task queue, the worker sends these events' deliveries as soon as the write
    commits; with the immediate backend nothing is enqueued (it would send inline, inside
    the request): the sweep sends them."""
    if tasks_are_queued():
        ids = [str(pk) for pk in event_ids]
        transaction.on_commit(lambda: send_webhooks.enqueue(ids))


SIGNAL_EVENTS = {
    call_signals.call_logged: WebhookEventName.CALL_LOGGED,
    call_signals.message_taken: WebhookEventName.MESSAGE_TAKEN,
    call_signals.escalation_raised: WebhookEventName.ESCALATION_RAISED,
    call_signals.escalation_acknowledged: WebhookEventName.ESCALATION_ACKNOWLEDGED,
    call_signals.escalation_resolved: WebhookEventName.ESCALATION_RESOLVED,
}


def on_call_signal(sender, *, signal, instance, **kwargs) -> None:
    """Receiver of calls.signals (connected in followups.apps): record the event."""
    record(SIGNAL_EVENTS[signal], [instance])


def record_callbacks(name: str, callback_ids: list[int]) -> int:
    """Record a callback event for these callbacks (the sweep's reminders), in its
    transaction."""
    return record(name, Callback.objects.filter(pk__in=callback_ids).order_by("pk"))


# --- signing and sending ----------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret, in hex."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


class PrivateAddress(Exception):
    """The endpoint's host leads inside this network."""


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> tuple:
    """POST `body` to `url`; (HTTP status or None, "" or why it failed). Redirects are
    not followed. The whole exchange (name lookup, connecting, sending, the answer's
    status) is bounded by `timeout` seconds: it runs in a thread, and a receiver that
    hangs, or answers a byte at a time, has its socket shut when the time is up."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.netloc, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    answer = {}

    def exchange():
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            if not settings.WEBHOOK_PRIVATE_ADDRESSES and _addresses_inside(parts.hostname, port):
                # Looked up again at each try (the name may lead elsewhere since); the
                # connection then looks it up once more: a name made to change between the
                # two within a second is the one case this leaves.
                answer["error"] = PrivateAddress(PRIVATE_ADDRESS)
                return
            connection.request("POST", target, body=body, headers=headers)
            answer["status"] = connection.getresponse().status
        except Exception as exc:  # whatever goes wrong over there is a failed try
            answer["error"] = exc

    sender = threading.Thread(target=exchange, name="webhook-post", daemon=True)
    sender.start()
    sender.join(timeout)
    if sender.is_alive():
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)
        connection.close()
        sender.join(1)
        return None, f"No answer within {timeout:g} seconds."
    connection.close()
    if "error" in answer:
        error = answer["error"]
        if isinstance(error, TimeoutError | socket.timeout):
            return None, f"No answer within {timeout:g} seconds."
        if isinstance(error, PrivateAddress):
            return None, str(error)
        return None, f"{type(error).__name__}: {error}"[:500]
    status = answer["status"]
    if 200 <= status < 300:
        return status, ""
    if 300 <= status < 400:
        return status, f"Answered HTTP {status}: redirects are not followed (give the final URL)."
    return status, f"Answered HTTP {status}."


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: WEBHOOK_RETRY_SECONDS, doubled each time."""
    return timedelta(seconds=settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempts - 1))


def _lease() -> timedelta:
    # Longer than any send: a worker that dies mid-send leaves the delivery to a later sweep.
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)


def _claim(now: datetime, limit: int, event_ids) -> tuple[datetime, list[WebhookDelivery]]:
    """Take up to `limit` due deliveries for this run: SKIP LOCKED, so each goes to one
    sweep on one machine; their next_attempt_at becomes the lease, which marks them ours."""
    lease = now + _lease()
    with transaction.atomic():
        due = WebhookDelivery.objects.due(now)
        if event_ids is not None:
            due = due.filter(event_id__in=event_ids)
        ids = list(
            due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                :limit
            ]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=lease)
    claimed = (
        WebhookDelivery.objects.filter(pk__in=ids, next_attempt_at=lease)
        .select_related("event", "endpoint")
        .order_by("pk")
    )
    return lease, list(claimed)


def _send(delivery: WebhookDelivery) -> tuple:
    body = delivery.event.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event.name,
        DELIVERY_HEADER: str(delivery.pk),
        SIGNATURE_HEADER: signature_header(delivery.endpoint.secret, int(time.time()), body),
    }
    return post(delivery.endpoint.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)


@transaction.atomic
def _finish(delivery, *, lease, tried_at, at, code, error) -> str:
    """Record a try's answer, if the delivery is still this run's (its lease); back off or
    give up on failure, and pause the endpoint after too many failures in a row."""
    mine = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=lease
    )
    attempts = delivery.attempts + 1
    endpoint = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    if not error:
        if mine.update(
            status=DeliveryStatus.DELIVERED,
            attempts=attempts,
            last_attempt_at=tried_at,
            delivered_at=at,
            response_code=code,
            last_error="",
            next_attempt_at=None,
        ):
            endpoint.update(consecutive_failures=0)
        return "delivered"
    gave_up = attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    if not mine.update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        attempts=attempts,
        last_attempt_at=tried_at,
        response_code=code,
        last_error=error[:500],
        next_attempt_at=None if gave_up else at + backoff(attempts),
    ):
        return "lost"  # the endpoint was deleted meanwhile, or the lease ran out
    endpoint.update(consecutive_failures=F("consecutive_failures") + 1)
    paused = endpoint.filter(
        paused_at=None, consecutive_failures__gte=settings.WEBHOOK_PAUSE_AFTER_FAILURES
    ).update(
        paused_at=at,
        paused_reason=(
            f"Paused after {settings.WEBHOOK_PAUSE_AFTER_FAILURES} failed tries in a row; "
            f"the last: {error}"
        )[:300],
    )
    if paused:
        transaction.on_commit(lambda: notify_webhook_paused.enqueue(delivery.endpoint_id))
        return "paused"
    return "failed" if gave_up else "retrying"


def webhooks_send(*, now=None, limit: int = 100, event_ids=None) -> dict[str, int]:
    """Send the deliveries that are due (of these events only, when given); returns how
    many were delivered, will be retried, were given up, paused their endpoint, or were
    left for the next run.

    Idempotent and safe on several machines at once (see _claim). Sends happen outside
    any transaction, each within WEBHOOK_TIMEOUT_SECONDS; once an endpoint fails in a run,
    its other deliveries wait for the next run, so one hanging endpoint costs a run one
    timeout, not one per delivery.
    """
    now = now or timezone.now()
    started = time.monotonic()
    lease, claimed = _claim(now, limit, event_ids)
    done = {"delivered": 0, "retrying": 0, "failed": 0, "paused": 0, "lost": 0, "left": 0}
    failing: set[int] = set()
    for delivery in claimed:
        if delivery.endpoint_id in failing:
            WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at=lease).update(
                next_attempt_at=now
            )
            done["left"] += 1
            continue
        tried_at = now + timedelta(seconds=time.monotonic() - started)
        code, error = _send(delivery)
        at = now + timedelta(seconds=time.monotonic() - started)
        result = _finish(delivery, lease=lease, tried_at=tried_at, at=at, code=code, error=error)
        done[result] += 1
        if error:
            failing.add(delivery.endpoint_id)
    return done


# --- the managers' services ----------------------------------------------------------------------

_url_validator = URLValidator(schemes=["http", "https"])


def url_refusal(url: str) -> str | None:
    """Why this URL cannot be an endpoint, or None."""
    if not url:
        return "Type the URL the events are to be sent to."
    if len(url) > 2000:
        return "At most 2,000 characters."
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "A URL has no spaces or control characters."
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return (
            "Only http:// and https:// URLs are sent events (e.g. https://crm.example.com/hooks)."
        )
    if parts.username is not None or parts.password is not None:
        return (
            "Put no user name or password in the URL: the signature tells the receiver the "
            "events come from here."
        )
    try:
        parts.port  # noqa: B018 (reading it checks it)
        _url_validator(url)
    except (ValueError, ValidationError):
        return "Not a URL: type it in full, e.g. https://crm.example.com/hooks/calls."
    if not settings.WEBHOOK_PRIVATE_ADDRESSES and _inside(parts.hostname or ""):
        return PRIVATE_ADDRESS
    return None


PRIVATE_ADDRESS = (
    "That is an address inside this network (this machine, a private or link-local range): "
    "events go to receivers on the internet. Its administrator can allow such addresses "
    "(WEBHOOK_PRIVATE_ADDRESSES)."
)


def _inside(host: str) -> bool:
    """Whether `host`, as written (no name is looked up), is this machine or an address that
    is not on the internet (private, loopback, link-local, reserved: not is_global)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: checked once it is looked up (_addresses_inside)
    return _not_global(address)


def _not_global(address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return not (mapped or address).is_global


def _addresses_inside(host: str, port: int) -> bool:
    """Whether any address the name `host` is looked up to is not on the internet: a name
    that leads inside this network (or is made to, after the endpoint was saved)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return any(_not_global(ipaddress.ip_address(info[4][0].split("%")[0])) for info in found)


def secret_refusal(secret: str) -> str | None:
    if not (24 <= len(secret) <= 100) or any(not (33 <= ord(ch) <= 126) for ch in secret):
        return SECRET_RULE
    return None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@transaction.atomic
def webhook_endpoint_save(
    *,
    user,
    endpoint: WebhookEndpoint | None = None,
    url: str,
    events: list[str],
    business_ids: list[int] = (),
    description: str = "",
    secret: str = "",
) -> WebhookEndpoint:
    """Add an endpoint (no `endpoint`) or change one: its URL (http or https), the events
    it is sent (at least one), the businesses whose events (none: every business), a
    description, and its secret (empty: a new endpoint gets one made, a changed one keeps
    its own). Managers of every business only."""
    check_may_manage(user)
    url, description, secret = url.strip(), description.strip(), secret.strip()
    errors = {}
    refused = url_refusal(url)
    if refused:
        errors["url"] = refused
    unknown = [str(name) for name in events if name not in WebhookEventName.values]
    if unknown:
        errors["events"] = f"Not an event: {', '.join(unknown)}."
    elif not events:
        errors["events"] = "Tick at least one event."
    if len(description) > 200:
        errors["description"] = "At most 200 characters."
    else:
        try:
            validate_one_line(description)
        except ValidationError as exc:
            errors["description"] = exc.messages[0]
    if secret and secret_refusal(secret):
        errors["secret"] = SECRET_RULE
    ids = sorted(set(business_ids))
    if ids and Business.objects.filter(pk__in=ids).count() != len(ids):
        errors["businesses"] = "No such business: pick from the list."
    if errors:
        raise ValidationError(errors)
    if endpoint is None:
        endpoint = WebhookEndpoint(created_by=user, secret=secret or new_secret())
    else:
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.secret = secret or endpoint.secret
    endpoint.url = url
    endpoint.description = description
    endpoint.events = [name for name in WebhookEventName.values if name in set(events)]
    endpoint.save()
    endpoint.businesses.set(ids)
    return endpoint


@transaction.atomic
def webhook_secret_rotate(*, user, endpoint_id: int) -> WebhookEndpoint:
    """Give an endpoint a new secret: what is sent from now on is signed with it (the
    receiver must be given it too)."""
    check_may_manage(user)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


@transaction.atomic
def webhook_endpoint_pause(*, user, endpoint_id: int) -> WebhookEndpoint:
    """Stop sending to an endpoint; its events are kept and wait until it is resumed."""
    check_may_manage(user)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if endpoint.paused_at is None:
        endpoint.paused_at = timezone.now()
        endpoint.paused_reason = f"Paused by {user.get_full_name() or user.username}."[:300]
        endpoint.save(update_fields=["paused_at", "paused_reason", "updated_at"])
    return endpoint


@transaction.atomic
def webhook_endpoint_resume(*, user, endpoint_id: int) -> WebhookEndpoint:
    """Send to a paused endpoint again: its count of failures starts over, and what waited
    for it is due now."""
    check_may_manage(user)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    now = timezone.now()
    endpoint.paused_at, endpoint.paused_reason = None, ""
    endpoint.consecutive_failures = 0
    endpoint.save(
        update_fields=["paused_at", "paused_reason", "consecutive_failures", "updated_at"]
    )
    waiting = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING)
    waiting.update(next_attempt_at=now)
    _send_after_commit(list(waiting.values_list("event_id", flat=True)[:1000]))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, user, endpoint_id: int) -> None:
    """Remove an endpoint and its log: nothing more is sent to it."""
    check_may_manage(user)
    WebhookEndpoint.objects.filter(pk=endpoint_id).delete()


@transaction.atomic
def webhook_delivery_replay(*, user, delivery_id: int) -> WebhookDelivery:
    """Send an event to an endpoint again: a new delivery of the same event (same event id,
    same body), due now. Refused while one of it is still waiting for that endpoint."""
    check_may_manage(user)
    original = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    # The endpoint's row lock: two replays at once take turns, and the second finds the
    # first one's delivery waiting (the partial unique constraint is the backstop).
    WebhookEndpoint.objects.select_for_update().filter(pk=original.endpoint_id).first()
    waiting = WebhookDelivery.objects.filter(
        endpoint_id=original.endpoint_id,
        event_id=original.event_id,
        status=DeliveryStatus.PENDING,
    ).first()
    if waiting is not None:
        raise ValidationError(ALREADY_WAITING.format(pk=waiting.pk))
    now = timezone.now()
    replay = WebhookDelivery.objects.create(
        endpoint_id=original.endpoint_id,
        event_id=original.event_id,
        next_attempt_at=now,
        created_at=now,
        replay_of=original,
    )
    _send_after_commit([original.event_id])
    return replay
