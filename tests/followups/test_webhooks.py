"""Webhooks against a real receiver on loopback: what is recorded (and when not), the
signature, retries and backoff, the log, replays, pausing and resuming, and the time limit
on a hanging receiver. Services are called directly here; the pages: test_webhook_pages."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks.signals import task_enqueued

from callers.models import Business
from calls.services import (
    call_log,
    call_update,
    escalation_acknowledge,
    escalation_raise,
    escalation_resolve,
)
from followups.models import (
    AttemptResult,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventName,
)
from followups.services import callback_attempt, callback_cancel, callbacks_sweep
from followups.webhooks import (
    ALREADY_WAITING,
    SECRET_RULE,
    webhook_delivery_replay,
    webhook_endpoint_pause,
    webhook_endpoint_resume,
    webhook_endpoint_save,
    webhook_secret_rotate,
    webhooks_send,
)
from receptionist.models import StaffBusiness
from tests.factories import CallbackFactory, manager_user, receptionist_user
from tests.followups.webhook_receiver import closed_port, start_receiver

pytestmark = pytest.mark.django_db

ALL_EVENTS = list(WebhookEventName.values)


# The verification snippet of the README ("Webhooks"), as a receiving system would use it.
def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def receiver():
    state, stop = start_receiver()
    yield state
    stop()


@pytest.fixture
def maya(db):
    return manager_user(username="maya", email="maya@example.com")


@pytest.fixture
def rita(db):
    return receptionist_user(username="rita", email="rita@example.com")


@pytest.fixture
def quick(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_RETRY_SECONDS = 60
    settings.WEBHOOK_MAX_ATTEMPTS = 10
    settings.WEBHOOK_PAUSE_AFTER_FAILURES = 100
    return settings


def endpoint(maya, url, events=None, businesses=(), secret=""):
    return webhook_endpoint_save(
        user=maya,
        url=url,
        events=ALL_EVENTS if events is None else events,
        business_ids=[b.pk for b in businesses],
        secret=secret,
    )


def fields(**overrides):
    now = timezone.now()
    return {
        "started_at": now - timedelta(minutes=2),
        "direction": "inbound",
        "nature": "appointment",
        "urgency": "normal",
        "mood": "calm",
        "summary": "Book a check-up",
        "outcome": "resolved",
        **overrides,
    }


def log_a_call(user, **overrides):
    return call_log(user=user, caller_name="Ann Lee", phone="+12125550147", **fields(**overrides))


def names(endpoint=None) -> list[str]:
    deliveries = WebhookDelivery.objects.order_by("pk")
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return [d.event.name for d in deliveries.select_related("event")]


def due_again(delivery) -> timezone.datetime:
    delivery.refresh_from_db()
    return delivery.next_attempt_at


# --- the body and its signature ---------------------------------------------------------------


def test_the_signature_verifies_with_the_documented_snippet(maya, rita, receiver, quick):
    hook = endpoint(maya, receiver.url, events=["call.logged"], secret="s" * 20 + "-secret-1")
    call = log_a_call(rita)
    assert webhooks_send()["delivered"] == 1
    ((_headers, body),) = receiver.requests
    delivery = WebhookDelivery.objects.get()
    header = receiver.header(0, "X-Calllog-Signature")
    assert verify(hook.secret, header, body)
    assert not verify(hook.secret, header, body.replace(b"call.logged", b"call.lagged"))
    assert not verify("another-secret-entirely-xx", header, body)
    assert receiver.header(0, "X-Calllog-Event") == "call.logged"
    assert receiver.header(0, "X-Calllog-Delivery") == str(delivery.pk)
    assert receiver.header(0, "Content-Type") == "application/json"
    sent = json.loads(body)
    assert sent["id"] == str(delivery.event_id)
    assert sent["event"] == "call.logged"
    assert sent["business_id"] == call.business_id
    assert sent["occurred_at"].endswith("Z")
    assert sent["data"]["call"]["id"] == call.pk
    assert sent["data"]["call"]["caller_id"] == call.caller_id
    assert sent["data"]["call"]["outcome"] == "resolved"
    assert sent["data"]["call"]["url"].endswith(f"/calls/{call.pk}/")
    # No free text, and not the caller's name or number.
    assert "Ann Lee" not in body.decode() and "2125550147" not in body.decode()
    assert "check-up" not in body.decode()


def test_a_delivery_sends_the_same_bytes_every_time(maya, rita, receiver, quick):
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    receiver.status = 503
    webhooks_send()
    receiver.status = 200
    delivery = WebhookDelivery.objects.get()
    webhooks_send(now=due_again(delivery))
    assert len(receiver.requests) == 2
    assert receiver.requests[0][1] == receiver.requests[1][1]
    assert receiver.header(0, "X-Calllog-Delivery") == receiver.header(1, "X-Calllog-Delivery")


# --- what is recorded, for whom ---------------------------------------------------------------


def test_each_event_is_recorded_for_the_endpoints_that_asked_for_it_only(maya, rita):
    harbor = Business.objects.create(name="Harbor Vet")
    home = Business.objects.default()
    everything = endpoint(maya, "https://all.example.com/h")
    calls_only = endpoint(maya, "https://calls.example.com/h", events=["call.logged"])
    harbor_only = endpoint(maya, "https://harbor.example.com/h", businesses=[harbor])
    home_escalations = endpoint(
        maya, "https://esc.example.com/h", events=["escalation.raised"], businesses=[home]
    )
    log_a_call(rita, mood="abusive", outcome="message_taken", business=home)
    assert names(everything) == ["call.logged", "message.taken", "escalation.raised"]
    assert names(calls_only) == ["call.logged"]
    assert names(harbor_only) == []
    assert names(home_escalations) == ["escalation.raised"]
    # One event, a delivery per endpoint that wanted it.
    assert WebhookEvent.objects.filter(name="call.logged").count() == 1
    call_log(user=maya, caller_name="Bo", phone="+13125550100", business=harbor, **fields())
    assert names(harbor_only) == ["call.logged"]
    assert names(home_escalations) == ["escalation.raised"]
    assert WebhookEvent.objects.filter(business=harbor).count() == 1


def test_nothing_is_recorded_when_no_endpoint_asks(maya, rita):
    endpoint(maya, "https://calls.example.com/h", events=["callback.closed"])
    log_a_call(rita, mood="abusive")
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_every_event_comes_from_its_service(maya, rita):
    hook = endpoint(maya, "https://all.example.com/h")
    call = log_a_call(rita)
    assert names(hook) == ["call.logged"]
    call_update(
        call_id=call.pk,
        expected_version=call.version,
        user=rita,
        changes={"outcome": "message_taken"},
    )
    assert names(hook)[-1:] == ["message.taken"]
    escalation = escalation_raise(call=call, user=rita, reason="Shouting", playbook_steps=[])
    escalation_acknowledge(escalation_id=escalation.pk, user=maya)
    escalation_resolve(escalation_id=escalation.pk, user=maya, resolution="Calmed down")
    assert names(hook)[-3:] == [
        "escalation.raised",
        "escalation.acknowledged",
        "escalation.resolved",
    ]
    # An abusive call recorded afterwards raises its escalation: that one is told too.
    other = log_a_call(rita)
    call_update(
        call_id=other.pk, expected_version=other.version, user=rita, changes={"mood": "abusive"}
    )
    assert names(hook)[-2:] == ["call.logged", "escalation.raised"]
    sent = json.loads(WebhookEvent.objects.get(name="escalation.resolved").body)
    assert sent["data"]["escalation"]["status"] == "resolved"
    assert sent["data"]["escalation"]["resolved_by_id"] == maya.pk


def test_callback_events_come_from_the_sweep_and_from_closing(maya, rita):
    hook = endpoint(
        maya, "https://all.example.com/h", events=[n for n in ALL_EVENTS if "callback" in n]
    )
    now = timezone.now()
    soon = CallbackFactory(due_at=now + timedelta(minutes=5))
    late = CallbackFactory(due_at=now - timedelta(minutes=5))
    callbacks_sweep(now=now)
    assert sorted(names(hook)) == ["callback.due", "callback.overdue"]
    callbacks_sweep(now=now)  # idempotent: nothing twice
    assert len(names(hook)) == 2
    by_event = {
        e.name: json.loads(e.body)["data"]["callback"]["id"] for e in WebhookEvent.objects.all()
    }
    assert by_event == {"callback.due": soon.pk, "callback.overdue": late.pk}
    callback_attempt(
        callback_id=soon.pk,
        user=rita,
        expected_version=soon.version,
        result=AttemptResult.REACHED,
        outcome="Booked for Monday",
    )
    callback_cancel(callback_id=late.pk, user=maya, reason="Caller withdrew")
    assert names(hook)[-2:] == ["callback.closed", "callback.closed"]
    closed = [
        json.loads(e.body)["data"]["callback"]
        for e in WebhookEvent.objects.filter(name="callback.closed")
    ]
    assert sorted(c["status"] for c in closed) == ["cancelled", "done"]
    # A try that reschedules does not close it: no event.
    again = CallbackFactory()
    callback_attempt(
        callback_id=again.pk,
        user=rita,
        expected_version=again.version,
        result=AttemptResult.NO_ANSWER,
        next_due_at=now + timedelta(hours=2),
    )
    assert len(names(hook)) == 4


def test_nothing_is_recorded_when_the_write_rolls_back(maya, rita):
    endpoint(maya, "https://all.example.com/h")
    # The call is saved and its event recorded before the promise is refused: all undone.
    with pytest.raises(ValidationError):
        log_a_call(
            rita,
            outcome="callback_scheduled",
            callback=True,
            callback_due_at=timezone.now() - timedelta(hours=1),
        )
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        log_a_call(rita, mood="abusive")
        assert WebhookEvent.objects.count() == 2  # recorded in the transaction...
        raise Undo
    assert not WebhookEvent.objects.exists()  # ...and gone with it
    log_a_call(rita)
    assert WebhookEvent.objects.count() == 1


def test_a_task_is_enqueued_after_commit_only_with_a_task_queue(
    maya, rita, settings, django_capture_on_commit_callbacks
):
    endpoint(maya, "https://all.example.com/h", events=["call.logged"])
    enqueued = []

    def seen(sender, task_result, **kwargs):
        if task_result.task.name == "send_webhooks":
            enqueued.append(task_result.args)

    task_enqueued.connect(seen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            log_a_call(rita)
        assert enqueued == []  # the immediate backend would send inside the request
        settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            log_a_call(rita)
            assert enqueued == []  # not before the commit
        for callback in callbacks:
            callback()
        event = WebhookEvent.objects.order_by("occurred_at").last()
        assert enqueued == [[[str(event.id)]]]
    finally:
        task_enqueued.disconnect(seen)


# --- sending: the log, retries, backoff -------------------------------------------------------


def test_retries_back_off_exponentially_then_give_up(maya, rita, receiver, quick):
    quick.WEBHOOK_MAX_ATTEMPTS = 4
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    receiver.status = 500
    delivery = WebhookDelivery.objects.get()
    now = delivery.next_attempt_at
    waits = []
    for attempt in range(1, 5):
        assert webhooks_send(now=now - timedelta(seconds=1))["retrying"] == 0  # not due yet
        assert len(receiver.requests) == attempt - 1
        webhooks_send(now=now)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        assert delivery.response_code == 500
        assert delivery.last_error == "Answered HTTP 500."
        assert now <= delivery.last_attempt_at < now + timedelta(seconds=1)
        if attempt < 4:
            assert delivery.status == DeliveryStatus.PENDING
            waits.append((delivery.next_attempt_at - now).total_seconds())
            now = delivery.next_attempt_at
    assert [round(wait) for wait in waits] == [60, 120, 240]
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert webhooks_send(now=now + timedelta(days=1))["retrying"] == 0
    assert len(receiver.requests) == 4


def test_the_log_of_a_delivery_that_succeeds_after_failing(maya, rita, receiver, quick):
    hook = endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    receiver.status = 502
    webhooks_send()
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1
    receiver.status = 204
    delivery = WebhookDelivery.objects.get()
    assert webhooks_send(now=due_again(delivery))["delivered"] == 1
    delivery.refresh_from_db()
    hook.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == (
        DeliveryStatus.DELIVERED,
        2,
        204,
        "",
    )
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert hook.consecutive_failures == 0


def test_a_refused_connection_is_logged_without_a_code(maya, rita, quick):
    endpoint(maya, f"http://127.0.0.1:{closed_port()}/hook", events=["call.logged"])
    log_a_call(rita)
    assert webhooks_send()["retrying"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.response_code is None
    assert "ConnectionRefusedError" in delivery.last_error
    assert delivery.attempts == 1


def test_a_redirect_is_a_failure(maya, rita, receiver, quick):
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    receiver.status = 301
    webhooks_send()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code == 301
    assert "redirects are not followed" in delivery.last_error


def test_the_sweep_is_idempotent(maya, rita, receiver, quick):
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    log_a_call(rita)
    assert webhooks_send()["delivered"] == 2
    assert webhooks_send()["delivered"] == 0
    assert len(receiver.requests) == 2


def test_the_command_runs_the_sweep(maya, rita, receiver, quick, capsys):
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    call_command("webhooks_send")
    assert "1 delivered" in capsys.readouterr().out
    assert len(receiver.requests) == 1
    with pytest.raises(CommandError):
        call_command("webhooks_send", "--limit", "0")


# --- a hanging receiver -----------------------------------------------------------------------


def test_the_time_limit_bounds_a_hanging_receiver(maya, rita, receiver, quick):
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    log_a_call(rita)
    receiver.hang = 30
    started = time.monotonic()
    done = webhooks_send()
    elapsed = time.monotonic() - started
    # One timeout for the endpoint, not one per delivery: the second waits for the next run.
    assert elapsed < 2.5, elapsed
    assert done["retrying"] == 1 and done["left"] == 1
    tried = WebhookDelivery.objects.get(attempts=1)
    assert tried.last_error == "No answer within 1 seconds."
    assert tried.response_code is None
    left = WebhookDelivery.objects.get(attempts=0)
    assert left.status == DeliveryStatus.PENDING and left.next_attempt_at <= timezone.now()


def test_the_time_limit_bounds_a_receiver_that_answers_a_byte_at_a_time(
    maya, rita, receiver, quick
):
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    receiver.trickle = True  # each byte well within a socket timeout; the whole, never
    started = time.monotonic()
    webhooks_send()
    assert time.monotonic() - started < 2.5
    assert WebhookDelivery.objects.get().last_error == "No answer within 1 seconds."


# --- pausing, resuming, replaying -------------------------------------------------------------


def test_an_endpoint_that_keeps_failing_is_paused_and_the_managers_told(
    maya, rita, receiver, quick, django_capture_on_commit_callbacks
):
    quick.WEBHOOK_PAUSE_AFTER_FAILURES = 3
    receptionist_user(username="bob", email="bob@example.com")
    hook = endpoint(maya, receiver.url, events=["call.logged"])
    for _ in range(5):
        log_a_call(rita)
    receiver.status = 500
    now = timezone.now()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            webhooks_send(now=now)
        now += timedelta(hours=1)
    hook.refresh_from_db()
    assert hook.is_paused and hook.consecutive_failures == 3
    assert "3 failed tries in a row" in hook.paused_reason
    assert [m.to for m in mail.outbox] == [["maya@example.com"]]
    assert f"/webhooks/{hook.pk}/" in mail.outbox[0].body
    # Nothing more is sent; the events wait.
    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks_send(now=now + timedelta(days=1))["delivered"] == 0
    assert len(receiver.requests) == 3
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 5
    assert len(mail.outbox) == 1

    webhook_endpoint_resume(user=maya, endpoint_id=hook.pk)
    hook.refresh_from_db()
    assert not hook.is_paused and hook.consecutive_failures == 0
    assert webhooks_send()["delivered"] == 5
    assert len(receiver.requests) == 8


def test_a_manager_pauses_and_resumes_by_hand(maya, rita, receiver, quick):
    hook = endpoint(maya, receiver.url, events=["call.logged"])
    webhook_endpoint_pause(user=maya, endpoint_id=hook.pk)
    log_a_call(rita)
    assert webhooks_send()["delivered"] == 0 and receiver.requests == []
    webhook_endpoint_resume(user=maya, endpoint_id=hook.pk)
    assert webhooks_send()["delivered"] == 1


def test_replay_sends_the_same_event_again_as_a_new_delivery(maya, rita, receiver, quick):
    endpoint(maya, receiver.url, events=["call.logged"])
    log_a_call(rita)
    webhooks_send()
    first = WebhookDelivery.objects.get()
    replay = webhook_delivery_replay(user=maya, delivery_id=first.pk)
    assert (replay.event_id, replay.replay_of_id, replay.status) == (
        first.event_id,
        first.pk,
        DeliveryStatus.PENDING,
    )
    with pytest.raises(ValidationError) as refused:
        webhook_delivery_replay(user=maya, delivery_id=first.pk)
    assert refused.value.messages == [ALREADY_WAITING.format(pk=replay.pk)]
    assert webhooks_send()["delivered"] == 1
    assert receiver.requests[0][1] == receiver.requests[1][1]  # the same event id and body
    assert receiver.header(1, "X-Calllog-Delivery") == str(replay.pk)
    replay.refresh_from_db()
    assert replay.status == DeliveryStatus.DELIVERED and replay.attempts == 1


# --- the rules of the managers' services ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://files.example.com/hook",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://user:password@crm.example.com/hook",
        "http://",
        "https://exa mple.com/hook",
        "https://crm.example.com/\x00hook",
        "https://crm.example.com:99999/hook",
        "https://crm.example.com/" + "a" * 2000,
        "<script>alert(1)</script>",
    ],
)
def test_urls_that_are_not_http_are_refused(maya, url):
    with pytest.raises(ValidationError) as refused:
        endpoint(maya, url)
    assert list(refused.value.message_dict) == ["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/hook", "https://crm.example.com/hooks/calls?x=1"]
)
def test_http_and_https_urls_are_taken(maya, url):
    assert endpoint(maya, url).url == url


def test_the_events_and_businesses_must_exist(maya):
    with pytest.raises(ValidationError) as refused:
        endpoint(maya, "https://x.example.com/", events=["call.logged", "call.deleted"])
    assert refused.value.message_dict == {"events": ["Not an event: call.deleted."]}
    with pytest.raises(ValidationError) as refused:
        endpoint(maya, "https://x.example.com/", events=[])
    assert refused.value.message_dict == {"events": ["Tick at least one event."]}
    with pytest.raises(ValidationError) as refused:
        webhook_endpoint_save(
            user=maya, url="https://x.example.com/", events=["call.logged"], business_ids=[10**9]
        )
    assert list(refused.value.message_dict) == ["businesses"]


@pytest.mark.parametrize("secret", ["short", "with spaces in the secret ok", "nul\x00" * 10])
def test_a_secret_typed_must_be_long_and_printable(maya, secret):
    with pytest.raises(ValidationError) as refused:
        endpoint(maya, "https://x.example.com/", secret=secret)
    assert refused.value.message_dict == {"secret": [SECRET_RULE]}


def test_a_secret_is_made_kept_and_rotated(maya):
    hook = endpoint(maya, "https://x.example.com/")
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 40
    made = hook.secret
    kept = webhook_endpoint_save(
        user=maya, endpoint=hook, url="https://y.example.com/", events=["call.logged"]
    )
    assert kept.secret == made and kept.url == "https://y.example.com/"
    assert webhook_secret_rotate(user=maya, endpoint_id=hook.pk).secret != made
    typed = webhook_endpoint_save(
        user=maya,
        endpoint=hook,
        url="https://y.example.com/",
        events=["call.logged"],
        secret="my-own-secret-of-24-chars!",
    )
    assert typed.secret == "my-own-secret-of-24-chars!"


def test_only_managers_of_every_business_set_up_webhooks(maya, rita):
    hook = endpoint(maya, "https://x.example.com/")
    limited = manager_user(username="lim")
    StaffBusiness.objects.create(user=limited, business=Business.objects.default())
    delivery_event = WebhookEvent.objects.create(
        id="00000000-0000-0000-0000-000000000001",
        name="call.logged",
        business=Business.objects.default(),
        occurred_at=timezone.now(),
        body="{}",
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=hook, event=delivery_event, status=DeliveryStatus.FAILED
    )
    for person in (rita, limited):
        for attempt in (
            lambda p: endpoint(p, "https://z.example.com/"),
            lambda p: webhook_secret_rotate(user=p, endpoint_id=hook.pk),
            lambda p: webhook_endpoint_pause(user=p, endpoint_id=hook.pk),
            lambda p: webhook_endpoint_resume(user=p, endpoint_id=hook.pk),
            lambda p: webhook_delivery_replay(user=p, delivery_id=delivery.pk),
        ):
            with pytest.raises(PermissionDenied):
                attempt(person)
    assert WebhookEndpoint.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


# --- several machines at once ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_delivery_once(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    maya = manager_user(username="maya-r")
    rita = receptionist_user(username="rita-r")
    for n in range(3):
        hook = endpoint(maya, receiver.url.replace("calls", f"calls{n}"), events=["call.logged"])
    for _ in range(4):
        log_a_call(rita)
    assert WebhookDelivery.objects.count() == 12 and hook is not None
    receiver.hang = 0.05  # long enough for the two sweeps to overlap
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(webhooks_send())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(done["delivered"] for done in results) == 12
    assert len(receiver.requests) == 12
    sent = [receiver.header(i, "X-Calllog-Delivery") for i in range(12)]
    assert len(set(sent)) == 12
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
