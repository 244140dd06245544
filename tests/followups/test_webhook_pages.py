"""The webhook pages: who may see them, what they show (escaped), hostile input, query
counts; and a page that stays fast while a webhook receiver hangs."""

import time
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from callers.models import Business
from followups.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from followups.webhooks import webhook_endpoint_save, webhooks_send
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from tests.calls.test_views import form_data
from tests.factories import UserFactory, manager_user
from tests.followups.webhook_receiver import start_receiver, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    state, stop = start_receiver()
    yield state
    stop()


@pytest.fixture
def hook(manager):
    return webhook_endpoint_save(
        user=manager, url="https://crm.example.com/hooks", events=["call.logged"]
    )


def delivery_of(hook, status=DeliveryStatus.FAILED) -> WebhookDelivery:
    event = WebhookEvent.objects.create(
        id=uuid.uuid4(),
        name="call.logged",
        business=Business.objects.default(),
        occurred_at=timezone.now(),
        body='{"event":"call.logged"}',
    )
    return WebhookDelivery.objects.create(
        endpoint=hook,
        event=event,
        status=status,
        attempts=3,
        response_code=500,
        last_error="Answered HTTP 500.",
        last_attempt_at=timezone.now(),
    )


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients(client, reception_client, manager_client):
    default = Business.objects.default()
    portal_user = UserFactory(role=CLIENTS, username="cleo")
    StaffBusiness.objects.create(user=portal_user, business=default)
    limited = manager_user(username="lim")
    StaffBusiness.objects.create(user=limited, business=default)
    return {
        "anonymous": client,
        "receptionist": reception_client,
        "client": logged_in(portal_user),
        "limited manager": logged_in(limited),
        "manager": manager_client,
    }


# --- who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/webhooks/", "/webhooks/new/", "/webhooks/{pk}/", "/webhooks/{pk}/edit/"]
)
def test_pages_are_for_managers_of_every_business(url, clients, hook):
    url = url.format(pk=hook.pk)
    expected = {
        "anonymous": 302,
        "receptionist": 403,
        "client": 403,
        "limited manager": 403,
        "manager": 200,
    }
    got = {who: c.get(url).status_code for who, c in clients.items()}
    assert got == expected
    assert clients["anonymous"].get(url)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("action", ["rotate", "pause", "resume", "delete", "replay"])
def test_actions_are_for_managers_of_every_business(action, clients, hook):
    delivery = delivery_of(hook)
    pk = delivery.pk if action == "replay" else hook.pk
    url = (
        f"/webhooks/deliveries/{pk}/replay/" if action == "replay" else f"/webhooks/{pk}/{action}/"
    )
    secret = hook.secret
    for who in ("anonymous", "receptionist", "client", "limited manager"):
        response = clients[who].post(url)
        assert response.status_code == (302 if who == "anonymous" else 403), who
    hook.refresh_from_db()
    assert hook.secret == secret and not hook.is_paused
    assert WebhookDelivery.objects.count() == 1
    assert clients["manager"].post(url).status_code == 302
    assert clients["manager"].get(url).status_code == 405


def test_the_navigation_links_the_page_for_managers_only(reception_client, manager_client):
    assert 'href="/webhooks/"' in manager_client.get("/calls/").content.decode()
    assert 'href="/webhooks/"' not in reception_client.get("/calls/").content.decode()


# --- adding, changing, acting -------------------------------------------------------------------


def test_a_manager_adds_an_endpoint_and_sees_its_secret(manager_client):
    harbor = Business.objects.create(name="Harbor Vet")
    response = manager_client.post(
        "/webhooks/new/",
        {
            "url": "https://crm.example.com/hooks",
            "description": "Our CRM",
            "events": ["call.logged", "escalation.raised"],
            "businesses": [str(harbor.pk)],
            "secret": "",
        },
    )
    hook = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{hook.pk}/"
    assert hook.events == ["call.logged", "escalation.raised"]
    assert list(hook.businesses.all()) == [harbor]
    page = manager_client.get(f"/webhooks/{hook.pk}/").content.decode()
    assert hook.secret in page and "Harbor Vet" in page and "Our CRM" in page
    listed = manager_client.get("/webhooks/").content.decode()
    assert "https://crm.example.com/hooks" in listed and "Harbor Vet" in listed


def test_changing_an_endpoint_keeps_its_secret_unless_typed(manager_client, hook):
    secret = hook.secret
    form = manager_client.get(f"/webhooks/{hook.pk}/edit/").content.decode()
    assert "https://crm.example.com/hooks" in form and secret not in form
    response = manager_client.post(
        f"/webhooks/{hook.pk}/edit/",
        {"url": "https://crm.example.com/v2", "events": ["callback.closed"], "secret": ""},
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.url, hook.events, hook.secret) == (
        "https://crm.example.com/v2",
        ["callback.closed"],
        secret,
    )


def test_rotate_pause_resume_replay_and_delete_through_the_page(manager_client, hook):
    secret = hook.secret
    manager_client.post(f"/webhooks/{hook.pk}/rotate/")
    hook.refresh_from_db()
    assert hook.secret != secret
    manager_client.post(f"/webhooks/{hook.pk}/pause/")
    hook.refresh_from_db()
    assert hook.is_paused
    assert "Paused since" in manager_client.get(f"/webhooks/{hook.pk}/").content.decode()
    manager_client.post(f"/webhooks/{hook.pk}/resume/")
    hook.refresh_from_db()
    assert not hook.is_paused
    failed = delivery_of(hook)
    manager_client.post(f"/webhooks/deliveries/{failed.pk}/replay/")
    replay = WebhookDelivery.objects.get(replay_of=failed)
    assert replay.event_id == failed.event_id and replay.status == DeliveryStatus.PENDING
    response = manager_client.post(f"/webhooks/deliveries/{failed.pk}/replay/", follow=True)
    assert "already waiting to be sent" in response.content.decode()
    assert WebhookDelivery.objects.count() == 2
    manager_client.post(f"/webhooks/{hook.pk}/delete/")
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_the_log_shows_status_tries_code_and_error(manager_client, hook):
    delivery_of(hook)
    page = manager_client.get(f"/webhooks/{hook.pk}/").content.decode()
    assert 'data-delivery="' in page
    for shown in ("Failed", "Answered HTTP 500.", ">3<", ">500<", "Replay"):
        assert shown in page, shown


# --- hostile input -----------------------------------------------------------------------------


def test_markup_is_escaped_everywhere_it_is_shown(manager_client, manager):
    hook = webhook_endpoint_save(
        user=manager,
        url="https://crm.example.com/hooks?<b>x</b>",
        description="<script>alert(1)</script>",
        events=["call.logged"],
    )
    delivery = delivery_of(hook)
    WebhookEvent.objects.filter(pk=delivery.event_id).update(body='{"x":"<img src=x onerror=1>"}')
    WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error="<i>boom</i>")
    for url in ("/webhooks/", f"/webhooks/{hook.pk}/", f"/webhooks/{hook.pk}/edit/"):
        page = manager_client.get(url).content.decode()
        assert "<script>alert(1)" not in page and "<img src=x" not in page, url
        assert "<i>boom" not in page and "<b>x</b>" not in page, url
    page = manager_client.get(f"/webhooks/{hook.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;boom&lt;/i&gt;" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": "javascript:alert(1)"}, "url", "Only http:// and https:// URLs"),
        ({"url": "ftp://files.example.com/"}, "url", "Only http:// and https:// URLs"),
        ({"url": "https://crm.example.com/\x00"}, "url", "Null characters are not allowed"),
        ({"url": "https://" + "a" * 5000 + ".com/"}, "url", "at most 2000 characters"),
        ({"url": "http://u:p@crm.example.com/"}, "url", "no user name or password"),
        ({"events": ["call.deleted"]}, "events", "No such event"),
        ({"events": []}, "events", "Tick at least one event."),
        ({"businesses": ["99999999999999999999999"]}, "businesses", "No such business"),
        ({"businesses": ["x"]}, "businesses", "No such business"),
        ({"secret": "short"}, "secret", "24 to 100 characters"),
        ({"secret": "a" * 101}, "secret", "at most 100 characters"),
        ({"description": "two\nlines"}, "description", "one line"),
        ({"description": "nul\x00"}, "description", "Null characters are not allowed"),
        ({"description": "d" * 201}, "description", "at most 200 characters"),
    ],
)
def test_hostile_input_gets_a_clear_message_not_a_500(manager_client, changes, field, message):
    data = {"url": "https://crm.example.com/hooks", "events": ["call.logged"], **changes}
    response = manager_client.post("/webhooks/new/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert message in " ".join(form.errors[field])
    assert message.split(":")[0].replace("'", "&#x27;") in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_missing_endpoint_or_delivery_is_a_404(manager_client):
    assert manager_client.get("/webhooks/999999/").status_code == 404
    assert manager_client.post("/webhooks/999999/pause/").status_code == 404
    assert manager_client.post("/webhooks/deliveries/999999/replay/").status_code == 404


def test_a_forged_cursor_is_a_400(manager_client, hook):
    assert manager_client.get(f"/webhooks/{hook.pk}/?cursor=%00garbage").status_code == 400


# --- query counts --------------------------------------------------------------------------------


def queries(django_assert_num_queries, client, url, exactly):
    """The session and its person (one query), the page's own, nothing per row."""
    with django_assert_num_queries(exactly) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_list_page_has_a_fixed_number_of_queries(
    manager_client, manager, django_assert_num_queries
):
    harbor = Business.objects.create(name="Harbor Vet")
    webhook_endpoint_save(
        user=manager, url="https://a.example.com/", events=["call.logged"], business_ids=[harbor.pk]
    )
    one = queries(django_assert_num_queries, manager_client, "/webhooks/", 3)
    for n in range(6):
        webhook_endpoint_save(
            user=manager,
            url=f"https://b{n}.example.com/",
            events=["call.logged"],
            business_ids=[harbor.pk, Business.objects.default().pk],
        )
    assert queries(django_assert_num_queries, manager_client, "/webhooks/", 3) == one


def test_the_endpoint_page_has_a_fixed_number_of_queries(
    manager_client, hook, django_assert_num_queries, settings
):
    delivery_of(hook)
    url = f"/webhooks/{hook.pk}/"
    one = queries(django_assert_num_queries, manager_client, url, 4)
    for _ in range(40):
        delivery_of(hook)
    page = manager_client.get(url)
    assert page.content.decode().count("data-delivery=") == 25  # a page of the log
    assert "Older" in page.content.decode()
    assert queries(django_assert_num_queries, manager_client, url, 4) == one


# --- a page stays fast while the receiver hangs -------------------------------------------------


@pytest.mark.parametrize(
    "backend",
    [
        "django_tasks.backends.immediate.ImmediateBackend",
        "django_tasks.backends.dummy.DummyBackend",
    ],
)
def test_logging_a_call_does_not_wait_on_a_hanging_receiver(
    backend, reception_client, manager, receiver, settings, django_capture_on_commit_callbacks
):
    """Whichever tasks backend: the immediate one must not send inline, a queue sends in
    the worker. The page answers while the receiver hangs; the sweep is what waits."""
    settings.TASKS = {"default": {"BACKEND": backend}}
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.hang = 30
    webhook_endpoint_save(user=manager, url=receiver.url, events=["call.logged"])
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = reception_client.post("/calls/new/", form_data())
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 1.0, elapsed
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    # The worker's sweep is the one that meets the hanging receiver, and gives up in time.
    started = time.monotonic()
    webhooks_send()
    assert time.monotonic() - started < 2.5
    assert wait_for(lambda: len(receiver.requests) == 1)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.last_error == "No answer within 1 seconds."
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=30)
