"""Confirmed delivery of urgent messages (followups.deliveries), on a frozen clock: the
ladder of people on call, the sweep that climbs it once per window (also with two sweeps
at once on PostgreSQL), the signed confirmation link, the portal's Confirm button, the
managers' escalation, and the pages that show it all."""

import re
import threading
import time as time_module
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from callers.models import Business, BusinessContact
from callers.services import on_call_save
from calls.models import Call, DeliveryState, Escalation
from calls.services import call_log, call_update
from followups.deliveries import (
    LINK_SALT,
    DeliveryAlreadyConfirmed,
    deliveries_sweep,
    delivery_confirm,
    send_notices,
)
from followups.models import DeliveryStep, MessageDelivery, NoticeStatus, StepResult
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS
from tests.factories import UserFactory, manager_user, receptionist_user
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db

# Tuesday March 3, 2026, 10:00 in New York.
START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


class Clock:
    """The frozen clock: timezone.now() answers `at` until it is moved."""

    def __init__(self, at):
        self.at = at

    def move(self, **delta) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock(START)
    monkeypatch.setattr(timezone, "now", lambda: frozen.at)
    return frozen


@pytest.fixture
def harbor(db, clock):
    """Harbor Vet, in New York, whose on-call list is Dr Hale, then Dr Lee, then the owner
    (who has no e-mail address), every day, all day."""
    maya = manager_user(username="maya-d", email="maya@front.test")
    business = Business.objects.create(
        name="Harbor Vet", time_zone="America/New_York", message_text_in_email=False
    )
    hale = BusinessContact.objects.create(business=business, name="Dr Hale", email="hale@h.test")
    lee = BusinessContact.objects.create(business=business, name="Dr Lee", email="lee@h.test")
    owner = BusinessContact.objects.create(business=business, name="Owner", email="")
    on_call_save(
        user=maya,
        business=business,
        weekly=[
            {
                "weekday": d,
                "starts": time(0),
                "ends": time(0),
                "contacts": [hale.pk, lee.pk, owner.pk],
            }
            for d in range(7)
        ],
    )
    business.maya = maya
    return business


@pytest.fixture
def rita(db):
    return receptionist_user(username="rita-d", email="rita@front.test")


def take_message(rita, business, urgency="emergency", **extra):
    fields = {
        "caller_name": "Pat Doe",
        "phone": "+12125550188",
        "nature": "urgent",
        "urgency": urgency,
        "summary": "Dog swallowed a sock",
        "message": "Rex swallowed a sock: call Pat back",
        "notes": "Internal: Pat is anxious",
        "outcome": "message_taken",
        "started_at": timezone.now() - timedelta(minutes=2),
        **extra,
    }
    return call_log(user=rita, business=business, **fields)


def urgent_mail() -> list:
    return [m for m in mail.outbox if m.subject.startswith("URGENT")]


def link_in(message) -> str:
    return re.search(r"http://\S+/deliveries/confirm/\S+/", message.body).group(0)


def path_of(link: str) -> str:
    return urlsplit(link).path


def steps(delivery) -> list[tuple]:
    return list(delivery.steps.order_by("position").values_list("name", "result", "notice"))


@pytest.fixture
def taken(harbor, rita, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor)
    return call


# --- starting ------------------------------------------------------------------------------


def test_an_emergency_message_is_sent_to_the_first_person_on_call(taken, harbor):
    delivery = MessageDelivery.objects.get(call=taken)
    assert delivery.window_minutes == 10  # the business's window for an emergency
    assert [p["name"] for p in delivery.ladder] == ["Dr Hale", "Dr Lee", "Owner"]
    assert steps(delivery) == [("Dr Hale", "waiting", "sent")]
    assert delivery.next_at == START + timedelta(minutes=10)
    assert Call.objects.get(pk=taken.pk).delivery_state == DeliveryState.SENT
    [notice] = urgent_mail()
    assert notice.to == ["hale@h.test"]
    assert "Harbor Vet" in notice.subject and "\n" not in notice.subject
    # The business keeps message text out of e-mails: only a link to its portal, and the
    # one to confirm. Never the internal notes.
    assert "Rex swallowed a sock" not in notice.body and "Internal" not in notice.body
    assert f"/portal/calls/{taken.pk}/" in notice.body and "/deliveries/confirm/" in notice.body
    assert "the next person on call is told" in notice.body and "10:10" in notice.body


def test_the_message_text_goes_in_the_notice_where_the_business_allows_it(
    harbor, rita, django_capture_on_commit_callbacks
):
    Business.objects.filter(pk=harbor.pk).update(message_text_in_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        take_message(rita, harbor, urgency="high")
    [notice] = urgent_mail()
    assert "Rex swallowed a sock" in notice.body and "Pat Doe" in notice.body
    assert "Internal" not in notice.body
    assert MessageDelivery.objects.get().window_minutes == 30  # high urgency's window


def test_only_messages_that_must_be_confirmed_start_a_delivery(
    harbor, rita, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        normal = take_message(rita, harbor, urgency="normal")
        resolved = take_message(rita, harbor, outcome="resolved")
    assert not MessageDelivery.objects.exists() and urgent_mail() == []
    assert Call.objects.get(pk=normal.pk).delivery_state == ""
    # A business that confirms every message: a normal one too.
    Business.objects.filter(pk=harbor.pk).update(always_confirm=True)
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, Business.objects.get(pk=harbor.pk), urgency="low")
    assert MessageDelivery.objects.get().call == call
    assert resolved.delivery_state == ""


def test_a_call_edited_to_an_urgent_message_starts_one_once(
    harbor, rita, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor, outcome="resolved")
        call = call_update(
            call_id=call.pk,
            expected_version=call.version,
            user=rita,
            changes={"outcome": "message_taken"},
        )
        call_update(
            call_id=call.pk, expected_version=call.version, user=rita, changes={"summary": "Sock"}
        )
    assert MessageDelivery.objects.filter(call=call).count() == 1
    assert len(urgent_mail()) == 1


def test_a_business_without_a_schedule_tells_its_contacts_in_turn(
    rita, clock, django_capture_on_commit_callbacks
):
    plain = Business.objects.create(name="Plain Office")
    BusinessContact.objects.create(business=plain, name="Zed", email="zed@p.test")
    BusinessContact.objects.create(business=plain, name="Amy", email="amy@p.test")
    with django_capture_on_commit_callbacks(execute=True):
        take_message(rita, plain)
    delivery = MessageDelivery.objects.get()
    assert not delivery.scheduled
    assert [p["name"] for p in delivery.ladder] == ["Amy", "Zed"]
    assert [m.to for m in urgent_mail()] == [["amy@p.test"]]


# --- the ladder ------------------------------------------------------------------------------


def test_the_ladder_climbs_once_per_window_then_goes_to_the_managers(
    taken, harbor, clock, django_capture_on_commit_callbacks
):
    delivery = MessageDelivery.objects.get(call=taken)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # A second before the window ends: nothing moves.
        assert deliveries_sweep(now=clock.move(minutes=10) - timedelta(seconds=1)) == {
            "advanced": 0,
            "escalated": 0,
        }
        assert deliveries_sweep(now=clock.at) == {"advanced": 1, "escalated": 0}
        # Every minute of the next window: nothing more.
        for _ in range(9):
            assert deliveries_sweep(now=clock.move(minutes=1)) == {"advanced": 0, "escalated": 0}
    assert [m.to for m in urgent_mail()] == [["lee@h.test"]]
    assert "the answering service's managers are told" not in urgent_mail()[0].body
    assert steps(delivery) == [
        ("Dr Hale", "timed_out", "sent"),
        ("Dr Lee", "waiting", "sent"),
    ]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # Dr Lee's window ends: the owner has no e-mail address, so the managers are told.
        assert deliveries_sweep(now=clock.move(minutes=1)) == {"advanced": 0, "escalated": 1}
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.ESCALATED and delivery.next_at is None
    assert steps(delivery) == [
        ("Dr Hale", "timed_out", "sent"),
        ("Dr Lee", "timed_out", "sent"),
        ("Owner", "unreachable", "not_sent"),
    ]
    escalation = Escalation.objects.get(call=taken)
    assert delivery.escalation == escalation and escalation.is_open
    assert "not confirmed: Dr Hale, Dr Lee (10 min each)" in escalation.reason
    assert "Phone the business by hand" in escalation.reason
    assert escalation.raised_by == taken.taken_by
    assert ["maya@front.test"] in [m.to for m in mail.outbox]  # the managers' notice
    assert Call.objects.get(pk=taken.pk).delivery_state == DeliveryState.ESCALATED
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep(now=clock.move(hours=1)) == {"advanced": 0, "escalated": 0}


def test_a_gap_in_the_schedule_goes_straight_to_the_managers(
    harbor, rita, clock, django_capture_on_commit_callbacks
):
    on_call_save(
        user=harbor.maya,
        business=harbor,
        weekly=[
            {
                "weekday": 1,
                "starts": time(12),
                "ends": time(13),
                "contacts": [harbor.contacts.first().pk],
            }
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor)  # 10:00 on Tuesday: nobody until noon
    delivery = MessageDelivery.objects.get(call=call)
    assert delivery.ladder == [] and delivery.state == DeliveryState.ESCALATED
    assert steps(delivery) == []
    assert urgent_mail() == []
    escalation = Escalation.objects.get(call=call)
    assert "nobody is on call now" in escalation.reason
    assert Call.objects.get(pk=call.pk).delivery_state == DeliveryState.ESCALATED


def test_a_message_already_with_the_managers_keeps_its_one_escalation(
    harbor, rita, clock, django_capture_on_commit_callbacks
):
    # Nobody on call at 10:00 on Tuesday, and the caller abusive: one escalation.
    lee = harbor.contacts.get(name="Dr Lee")
    on_call_save(
        user=harbor.maya,
        business=harbor,
        weekly=[{"weekday": 1, "starts": time(12), "ends": time(13), "contacts": [lee.pk]}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor, mood="abusive", outcome="message_taken")
    delivery = MessageDelivery.objects.get(call=call)
    assert delivery.state == DeliveryState.ESCALATED
    assert Escalation.objects.filter(call=call).count() == 1
    assert delivery.escalation == Escalation.objects.get(call=call)


def test_a_notice_that_fails_moves_the_ladder_on_at_the_next_sweep(
    harbor, rita, clock, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.followups.test_deliveries.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor)
    delivery = MessageDelivery.objects.get(call=call)
    step = delivery.steps.get()
    assert step.notice == NoticeStatus.FAILED and "refused" in step.error
    delivery.refresh_from_db()
    assert delivery.next_at == START  # due now: nobody waits for a notice never sent
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep(now=clock.move(seconds=30))["advanced"] == 1
    assert steps(delivery) == [("Dr Hale", "failed", "failed"), ("Dr Lee", "waiting", "sent")]
    assert [m.to for m in urgent_mail()] == [["lee@h.test"]]


class RefusingBackend:
    """A mail server that refuses everything."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("refused by the test")


def test_each_notice_is_sent_once(taken):
    delivery = MessageDelivery.objects.get(call=taken)
    assert send_notices(delivery.pk) == 0  # sent already, after commit
    DeliveryStep.objects.filter(delivery=delivery).update(notice=NoticeStatus.PENDING)
    assert send_notices(delivery.pk) == 1
    assert send_notices(delivery.pk) == 0
    assert len(urgent_mail()) == 2


def test_the_command_says_what_it_did(taken, clock, capsys):
    clock.move(minutes=11)
    call_command("deliveries_sweep")
    call_command("deliveries_sweep")
    assert capsys.readouterr().out.splitlines() == [
        "Messages to confirm: 1 told to the next person on call, 0 escalated to the managers.",
        "Messages to confirm: 0 told to the next person on call, 0 escalated to the managers.",
    ]


# --- confirming ------------------------------------------------------------------------------


def test_the_link_shows_a_button_and_only_the_button_confirms(
    taken, clock, django_capture_on_commit_callbacks
):
    link = path_of(link_in(urgent_mail()[0]))
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(link)
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    text = page.content.decode()
    assert "Confirm: I have the message" in text and "Harbor Vet" in text
    assert "Rex swallowed" not in text and "Pat Doe" not in text  # the portal has it
    delivery = MessageDelivery.objects.get(call=taken)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT  # a GET (a mail scanner) confirms nothing
    # Without the page's CSRF token, no confirmation either.
    assert anonymous.post(link).status_code == 403
    token = anonymous.cookies["csrftoken"].value
    clock.move(minutes=3)
    response = anonymous.post(link, {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert "Confirmed by Dr Hale at 10:03" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.CONFIRMED and delivery.confirmed_via == "link"
    assert steps(delivery) == [("Dr Hale", "confirmed", "sent")]
    assert Call.objects.get(pk=taken.pk).delivery_state == DeliveryState.CONFIRMED
    # A confirmation stops the ladder: nobody else is told, ever.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep(now=clock.move(hours=2)) == {"advanced": 0, "escalated": 0}
    assert urgent_mail() == [] and not Escalation.objects.exists()
    # The same link again: it says so, calmly.
    again = anonymous.post(link, {"csrfmiddlewaretoken": token})
    assert again.status_code == 200 and "You confirmed it already" in again.content.decode()


def test_someone_confirming_after_another_is_told_who_was_first(
    taken, clock, django_capture_on_commit_callbacks
):
    hale_link = path_of(link_in(urgent_mail()[0]))
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
    lee_link = path_of(link_in(urgent_mail()[-1]))
    assert lee_link != hale_link
    assert Client().post(lee_link).status_code == 200  # Dr Lee confirms
    late = Client().post(hale_link)
    assert late.status_code == 409
    assert "Dr Lee confirmed it" in late.content.decode()
    assert Client().get(hale_link).status_code == 200  # and reading it stays calm
    delivery = MessageDelivery.objects.get(call=taken)
    assert steps(delivery) == [("Dr Hale", "timed_out", "sent"), ("Dr Lee", "confirmed", "sent")]


def test_a_confirmation_after_the_escalation_is_recorded_too(
    taken, clock, django_capture_on_commit_callbacks
):
    hale_link = path_of(link_in(urgent_mail()[0]))
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
        deliveries_sweep(now=clock.move(minutes=10))
    assert MessageDelivery.objects.get().state == DeliveryState.ESCALATED
    page = Client().get(hale_link).content.decode()
    assert "managers were asked to phone" in page
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post(hale_link).status_code == 200
    delivery = MessageDelivery.objects.get()
    assert delivery.state == DeliveryState.CONFIRMED and delivery.escalated_at is not None
    escalation = Escalation.objects.get()
    assert escalation.is_open  # the managers close it, seeing it confirmed:
    assert escalation.reason.endswith(
        "Confirmed after all: Dr Hale confirmed the message by the link in their notice at "
        "10:20 (America/New_York). The business has it: no need to phone to pass it on."
    )
    assert escalation.history.first().history_change_reason == (
        "The message of the call was confirmed after the escalation"
    )
    told = [m.subject for m in mail.outbox if m.to == ["maya@front.test"]]
    assert told[-1] == f"Escalation #{escalation.pk}: the message was confirmed after all"


def test_a_confirmation_after_the_escalation_was_resolved_leaves_it_alone(
    taken, clock, harbor, django_capture_on_commit_callbacks
):
    from calls.services import escalation_resolve

    hale_link = path_of(link_in(urgent_mail()[0]))
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
        deliveries_sweep(now=clock.move(minutes=10))
    escalation = Escalation.objects.get()
    escalation_resolve(escalation_id=escalation.pk, user=harbor.maya, resolution="Phoned them")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post(hale_link).status_code == 200
    escalation.refresh_from_db()
    assert escalation.is_resolved and "Confirmed after all" not in escalation.reason
    assert mail.outbox == []
    assert MessageDelivery.objects.get().state == DeliveryState.CONFIRMED


def test_a_message_a_business_confirms_all_the_same_is_not_called_urgent(
    harbor, rita, django_capture_on_commit_callbacks
):
    Business.objects.filter(pk=harbor.pk).update(always_confirm=True)
    harbor.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor, urgency="normal")
    notice = [m for m in mail.outbox if m.to == ["hale@h.test"] and "confirm" in m.subject]
    assert [m.subject for m in notice] == ["Message for Harbor Vet: please confirm"]
    assert "urgent" not in notice[0].body.lower().replace("(normal urgency)", "")
    assert "A message (normal urgency) was taken for Harbor Vet" in notice[0].body
    page = Client().get(path_of(link_in(notice[0]))).content.decode()
    assert "A message was taken for" in page and "urgent message" not in page.lower()
    clara = client_of(harbor, "clara-n")
    portal = Client()
    portal.force_login(clara)
    page = portal.get(f"/portal/calls/{call.pk}/").content.decode()
    assert "Confirm: we have this message" in page
    # An emergency still is.
    with django_capture_on_commit_callbacks(execute=True):
        take_message(rita, harbor, urgency="emergency", phone="+12125550199")
    assert urgent_mail()[-1].subject == "URGENT message for Harbor Vet: please confirm"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "WzEsMV0:1vb2Qz:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 500,
        "<img src=x onerror=alert(1)>",
        "WzEsMV0:1vb2Qz:%E2%80%AE",
    ],
)
def test_a_forged_link_is_a_clear_400(taken, token):
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/deliveries/confirm/{token}/")
        assert response.status_code == 400, (token, method)
        text = response.content.decode()
        assert "This link does not work" in text and "<img src=x" not in text
    assert MessageDelivery.objects.get().state == DeliveryState.SENT


@pytest.mark.parametrize("path", ["%00", "abc%00def", "..%2F..%2Fadmin", "a/b"])
def test_a_link_that_is_no_link_at_all_is_a_4xx(taken, path):
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/deliveries/confirm/{path}/")
        assert 400 <= response.status_code < 500, (path, method, response.status_code)


def test_a_tampered_link_is_refused_and_confirms_nothing(taken):
    link = path_of(link_in(urgent_mail()[0]))
    token = link.rstrip("/").rsplit("/", 1)[1]
    payload, stamp, signature = token.split(":")
    step = DeliveryStep.objects.get()
    # Another step's id, under the first step's signature.
    forged = signing.b64_encode(f"[{step.delivery_id},{step.pk + 1}]".encode()).decode()
    for bad in (f"{forged}:{stamp}:{signature}", f"{payload}:{stamp}:{signature[:-2]}xx"):
        response = Client().post(f"/deliveries/confirm/{bad}/")
        assert response.status_code == 400
    assert MessageDelivery.objects.get().state == DeliveryState.SENT
    # Signed by this app for something else (another salt): refused too.
    other = signing.dumps([step.delivery_id, step.pk], salt="something.else", compress=False)
    assert Client().post(f"/deliveries/confirm/{other}/").status_code == 400
    # A real signature for a step that is not there: 404, said as such.
    gone = signing.dumps([step.delivery_id, step.pk + 99], salt=LINK_SALT, compress=False)
    response = Client().get(f"/deliveries/confirm/{gone}/")
    assert response.status_code == 404 and "no longer here" in response.content.decode()


def test_an_expired_link_is_a_410_that_says_what_to_do(taken, monkeypatch, settings):
    step = DeliveryStep.objects.get()
    real = time_module.time()
    monkeypatch.setattr(time_module, "time", lambda: real - 25 * 3600)
    old = signing.dumps([step.delivery_id, step.pk], salt=LINK_SALT, compress=False)
    monkeypatch.undo()
    response = Client().post(f"/deliveries/confirm/{old}/")
    assert response.status_code == 410
    text = response.content.decode()
    assert "This link has expired" in text and "confirm it in your portal" in text
    assert MessageDelivery.objects.get().state == DeliveryState.SENT
    settings.DELIVERY_LINK_HOURS = 26
    assert Client().get(f"/deliveries/confirm/{old}/").status_code == 200


def test_the_confirm_page_is_for_anyone_with_the_link_whoever_is_logged_in(taken, harbor):
    link = path_of(link_in(urgent_mail()[0]))
    elsewhere = Business.objects.create(name="Elsewhere")
    limited = receptionist_user(username="lim-d")
    StaffBusiness.objects.create(user=limited, business=elsewhere)
    people = [
        None,
        receptionist_user(username="rec-d"),
        manager_user(username="man-d"),
        client_of(harbor, "cli-d"),
        limited,
    ]
    for person in people:
        client = Client()
        if person is not None:
            client.force_login(person)
        response = client.get(link)
        assert response.status_code == 200, person
        assert client.get("/deliveries/confirm/forged/").status_code == 400, person


def test_the_confirm_page_costs_a_fixed_number_of_queries(
    taken, clock, django_capture_on_commit_callbacks
):
    link = path_of(link_in(urgent_mail()[0]))
    few = count_queries(Client(), link)
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
    assert count_queries(Client(), link) == few <= 3


def client_of(business, username):
    user = UserFactory(username=username, role=CLIENTS)
    StaffBusiness.objects.create(user=user, business=business)
    return user


# --- the portal --------------------------------------------------------------------------------


def test_the_portal_shows_the_ladder_and_confirms(taken, harbor, clock):
    clara = client_of(harbor, "clara-d")
    client = Client()
    client.force_login(clara)
    url = f"/portal/calls/{taken.pk}/"
    page = client.get(url).content.decode()
    assert "data-delivery-log" in page and "Dr Hale" in page and "hale@h.test" in page
    assert "data-portal-confirm" in page
    response = client.post(f"/portal/calls/{taken.pk}/confirm/")
    assert response.status_code == 302 and response.url == url
    delivery = MessageDelivery.objects.get()
    assert delivery.confirmed_by == clara and delivery.confirmed_via == "portal"
    page = client.get(url).content.decode()
    assert "data-portal-confirm" not in page and "through the client portal" in page
    # Confirming it there is reading it: it leaves the unread messages.
    taken.refresh_from_db()
    assert taken.message_read_by == clara and taken.message_read_at == clock.at
    assert "Escalation #" not in page  # a staff page's link is not the client's


def test_the_portal_confirm_is_the_business_s_own_clients(taken, harbor, client):
    url = f"/portal/calls/{taken.pk}/confirm/"
    response = client.post(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    otto = client_of(Business.objects.create(name="Other Firm"), "otto-d")
    elsewhere_staff = manager_user(username="lim-m-d")
    StaffBusiness.objects.create(
        user=elsewhere_staff, business=Business.objects.get(name="Other Firm")
    )
    for person, status in (
        (receptionist_user(username="rec-p"), 403),
        (manager_user(username="man-p"), 403),
        (elsewhere_staff, 403),
        (otto, 404),
    ):
        c = Client()
        c.force_login(person)
        assert c.post(url).status_code == status, person.username
        assert c.get(url).status_code in {403, 404, 405}, person.username
    assert MessageDelivery.objects.get().state == DeliveryState.SENT


def test_two_confirmations_one_after_the_other_keep_the_first(taken, harbor):
    clara, cleo = client_of(harbor, "clara-2"), client_of(harbor, "cleo-2")
    delivery = MessageDelivery.objects.get()
    assert delivery_confirm(delivery_id=delivery.pk, user=clara)[1]
    assert delivery_confirm(delivery_id=delivery.pk, user=clara)[1] is False
    with pytest.raises(DeliveryAlreadyConfirmed) as late:
        delivery_confirm(delivery_id=delivery.pk, user=cleo)
    assert late.value.by == clara.get_full_name()
    c = Client()
    c.force_login(cleo)
    response = c.post(f"/portal/calls/{taken.pk}/confirm/", follow=True)
    assert "confirmed it already" in response.content.decode()


# --- the staff's pages -------------------------------------------------------------------------


def test_the_call_log_shows_the_delivery_for_no_more_queries(reception_client, taken, harbor, rita):
    few = count_queries(reception_client, "/calls/")
    page = reception_client.get("/calls/").content.decode()
    assert re.search(rf'data-call-row="{taken.pk}".*?data-delivery-state[^>]*>sent<', page, re.S)
    for _ in range(5):
        take_message(rita, harbor)
    assert count_queries(reception_client, "/calls/") == few


def test_the_call_page_shows_the_delivery_log(
    reception_client, taken, clock, django_capture_on_commit_callbacks
):
    url = f"/calls/{taken.pk}/"
    few = count_queries(reception_client, url)
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
    assert count_queries(reception_client, url) == few  # two steps cost what one did
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
    page = reception_client.get(url).content.decode()
    for words in ("1. Dr Hale", "2. Dr Lee", "3. Owner", "Not confirmed in time", "Escalated"):
        assert words in page, words
    escalation = Escalation.objects.get()
    assert f"/escalations/{escalation.pk}/" in page
    assert "by e-mail (hale@h.test)" in page


def test_the_portal_call_page_costs_a_fixed_number_of_queries(
    taken, harbor, clock, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(client_of(harbor, "clara-q"))
    url = f"/portal/calls/{taken.pk}/"
    few = count_queries(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
    assert count_queries(client, url) == few


# --- at once, on PostgreSQL ---------------------------------------------------------------------


def at_once(*jobs) -> list:
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_sweeps_at_once_climb_each_rung_once(round_, harbor, rita):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    calls = [take_message(rita, harbor) for _ in range(5)]
    mail.outbox.clear()
    later = START + timedelta(minutes=10)
    results = at_once(lambda: deliveries_sweep(now=later), lambda: deliveries_sweep(now=later))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r["advanced"] for r in results) == 5
    for call in calls:
        delivery = MessageDelivery.objects.get(call=call)
        assert steps(delivery) == [
            ("Dr Hale", "timed_out", "sent"),
            ("Dr Lee", "waiting", "sent"),
        ]
    assert sorted(m.to[0] for m in urgent_mail()) == ["lee@h.test"] * 5
    again = at_once(lambda: deliveries_sweep(now=later), lambda: deliveries_sweep(now=later))
    assert again == [{"advanced": 0, "escalated": 0}] * 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_people_confirming_at_once_have_one_winner(round_, harbor, rita):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    call = take_message(rita, harbor)
    deliveries_sweep(now=START + timedelta(minutes=10))
    delivery = MessageDelivery.objects.get(call=call)
    hale, lee = delivery.steps.order_by("position")
    results = at_once(
        lambda: delivery_confirm(delivery_id=delivery.pk, step_id=hale.pk),
        lambda: delivery_confirm(delivery_id=delivery.pk, step_id=lee.pk),
    )
    won = [r for r in results if isinstance(r, tuple)]
    told = [r for r in results if isinstance(r, DeliveryAlreadyConfirmed)]
    assert len(won) == 1 and len(told) == 1, results
    assert told[0].by == won[0][0].confirmed_by_name
    assert DeliveryStep.objects.filter(delivery=delivery, result=StepResult.CONFIRMED).count() == 1


def test_a_call_with_nothing_to_confirm_is_a_404_in_the_portal(harbor, rita):
    call = take_message(rita, harbor, urgency="normal")
    c = Client()
    c.force_login(client_of(harbor, "clara-404"))
    assert c.post(f"/portal/calls/{call.pk}/confirm/").status_code == 404
    assert c.post("/portal/calls/99999999/confirm/").status_code == 404


# --- found in review: a contact deleted meanwhile, failures that come late, edits ---------


def test_a_contact_deleted_meanwhile_is_skipped_and_the_ladder_goes_on(
    taken, harbor, clock, django_capture_on_commit_callbacks
):
    from callers.services import business_save

    hale, owner = harbor.contacts.get(name="Dr Hale"), harbor.contacts.get(name="Owner")
    # The business form, Dr Lee's row removed (contacts-N-DELETE=on).
    business_save(
        user=harbor.maya,
        business=harbor,
        contacts=[
            {"id": hale.pk, "name": hale.name, "email": hale.email, "phone": "", "role": ""},
            {"id": owner.pk, "name": owner.name, "email": "", "phone": "", "role": ""},
        ],
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep(now=clock.move(minutes=10)) == {"advanced": 0, "escalated": 1}
    # Foreign keys are checked at commit: a step naming the deleted contact fails here.
    connection.check_constraints()
    delivery = MessageDelivery.objects.get(call=taken)
    assert steps(delivery) == [
        ("Dr Hale", "timed_out", "sent"),
        ("Dr Lee", "removed", "not_sent"),  # their name kept from the ladder
        ("Owner", "unreachable", "not_sent"),
    ]
    assert delivery.steps.get(name="Dr Lee").contact_id is None
    assert urgent_mail() == []  # nobody tells someone no longer the business's
    assert delivery.state == DeliveryState.ESCALATED
    assert "not confirmed: Dr Hale (10 min each)" in Escalation.objects.get().reason


@pytest.mark.django_db(transaction=True)
def test_a_deleted_contact_holds_back_no_other_business_s_delivery(harbor, rita):
    if connection.vendor != "postgresql":
        pytest.skip("foreign keys checked at commit: PostgreSQL")
    plain = Business.objects.create(name="Plain Office")
    BusinessContact.objects.create(business=plain, name="Amy", email="amy@p.test")
    BusinessContact.objects.create(business=plain, name="Zed", email="zed@p.test")
    harbor_call, plain_call = take_message(rita, harbor), take_message(rita, plain)
    BusinessContact.objects.filter(business=harbor, name="Dr Lee").delete()
    mail.outbox.clear()
    later = START + timedelta(minutes=10)
    assert deliveries_sweep(now=later) == {"advanced": 1, "escalated": 1}
    assert steps(MessageDelivery.objects.get(call=plain_call)) == [
        ("Amy", "timed_out", "sent"),
        ("Zed", "waiting", "sent"),
    ]
    assert [r for _, r, _ in steps(MessageDelivery.objects.get(call=harbor_call))] == [
        "timed_out",
        "removed",
        "unreachable",
    ]
    assert [m.to for m in urgent_mail()] == [["zed@p.test"]]
    assert deliveries_sweep(now=later + timedelta(minutes=1)) == {"advanced": 0, "escalated": 0}


def test_one_delivery_that_fails_holds_back_no_other(
    harbor, rita, clock, monkeypatch, django_capture_on_commit_callbacks
):
    from followups import deliveries

    first, second = take_message(rita, harbor), take_message(rita, harbor)
    bad = MessageDelivery.objects.get(call=first)
    climb = deliveries._climb

    def broken(delivery, now):
        if delivery.pk == bad.pk:
            raise RuntimeError("a bug on this one delivery")
        return climb(delivery, now)

    monkeypatch.setattr(deliveries, "_climb", broken)
    later = clock.move(minutes=10)
    assert deliveries_sweep(now=later) == {"advanced": 1, "escalated": 0}
    assert results(MessageDelivery.objects.get(call=second)) == [
        ("Dr Hale", "timed_out"),
        ("Dr Lee", "waiting"),
    ]
    # The bad one is untouched and due again at once: the next sweep tries it again.
    bad.refresh_from_db()
    assert bad.next_at == later and bad.next_rung == 1
    assert results(bad) == [("Dr Hale", "waiting")]
    monkeypatch.setattr(deliveries, "_climb", climb)
    assert deliveries_sweep(now=clock.move(minutes=1)) == {"advanced": 1, "escalated": 0}
    assert results(bad) == [("Dr Hale", "timed_out"), ("Dr Lee", "waiting")]


def results(delivery) -> list[tuple]:
    return [(name, result) for name, result, _ in steps(delivery)]


class SlowThenRefusingBackend(LocmemBackend):
    """A mail server that hangs on Dr Hale's notice past his window (the sweep moves on to
    Dr Lee meanwhile, and the clock to a minute later), then refuses it; it takes every
    other."""

    def send_messages(self, messages):
        if any(m.subject.startswith("URGENT") and m.to == ["hale@h.test"] for m in messages):
            deliveries_sweep(now=START + timedelta(minutes=10))
            timezone.now = lambda: START + timedelta(minutes=11)
            raise TimeoutError("timed out")
        return super().send_messages(messages)


def test_a_notice_failing_late_does_not_cut_the_next_person_s_window(
    harbor, rita, clock, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.followups.test_deliveries.SlowThenRefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor)
    delivery = MessageDelivery.objects.get(call=call)
    assert steps(delivery) == [("Dr Hale", "failed", "failed"), ("Dr Lee", "waiting", "sent")]
    delivery.refresh_from_db()
    # Dr Lee keeps his whole window, whenever Dr Hale's notice failed.
    assert delivery.next_at == START + timedelta(minutes=20)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliveries_sweep(now=clock.move(minutes=12)) == {"advanced": 0, "escalated": 0}
    assert steps(delivery)[-1] == ("Dr Lee", "waiting", "sent")


def test_sending_mail_cannot_hang_forever(settings):
    from django.core.mail import get_connection

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    timeout = get_connection().timeout
    assert timeout is not None and 0 < timeout <= 60


def test_a_business_with_exceptions_only_tells_its_contacts_outside_them(
    rita, clock, django_capture_on_commit_callbacks
):
    maya = manager_user(username="maya-x")
    plain = Business.objects.create(name="Plain Office", time_zone="America/New_York")
    amy = BusinessContact.objects.create(business=plain, name="Amy", email="amy@p.test")
    zed = BusinessContact.objects.create(business=plain, name="Zed", email="zed@p.test")
    # No weekly rotation; Zed alone on call over Thursday, two days ahead.
    on_call_save(
        user=maya,
        business=plain,
        today=START.date(),
        exceptions=[
            {
                "starts_on": START.date() + timedelta(days=2),
                "starts": time(0),
                "ends_on": START.date() + timedelta(days=3),
                "ends": time(0),
                "contacts": [zed.pk],
                "note": "Amy away",
            }
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        now_call = take_message(rita, plain)
    delivery = MessageDelivery.objects.get(call=now_call)
    assert [p["name"] for p in delivery.ladder] == ["Amy", "Zed"] and not delivery.scheduled
    assert delivery.state == DeliveryState.SENT and not Escalation.objects.exists()
    assert [m.to for m in urgent_mail()] == [[amy.email]]
    # While the exception holds, it decides.
    clock.move(days=2, hours=1)
    later_call = take_message(rita, plain)
    assert [p["name"] for p in MessageDelivery.objects.get(call=later_call).ladder] == ["Zed"]


def edit(call, user, **changes):
    call = Call.objects.get(pk=call.pk)
    return call_update(call_id=call.pk, expected_version=call.version, user=user, changes=changes)


def test_a_message_edited_to_high_urgency_starts_its_delivery(
    harbor, rita, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor, urgency="normal")
    assert not MessageDelivery.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        call = edit(call, rita, urgency="high")
    delivery = MessageDelivery.objects.get(call=call)
    assert delivery.window_minutes == 30 and steps(delivery) == [("Dr Hale", "waiting", "sent")]
    assert Call.objects.get(pk=call.pk).delivery_state == DeliveryState.SENT
    assert [m.to for m in urgent_mail()] == [["hale@h.test"]]


@pytest.mark.parametrize(
    "changes", [{"urgency": "normal"}, {"urgency": "low"}, {"outcome": "resolved"}]
)
def test_a_message_edited_down_stops_its_ladder(
    changes, taken, rita, clock, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        edit(taken, rita, **changes)
        assert deliveries_sweep(now=clock.move(hours=2)) == {"advanced": 0, "escalated": 0}
    delivery = MessageDelivery.objects.get(call=taken)
    assert delivery.state == DeliveryState.STOPPED and delivery.next_at is None
    assert steps(delivery) == [("Dr Hale", "withdrawn", "sent")]
    assert Call.objects.get(pk=taken.pk).delivery_state == DeliveryState.STOPPED
    assert urgent_mail() == [] and not Escalation.objects.exists()
    portal = Client()
    portal.force_login(client_of(taken.business, "clara-stop"))
    page = portal.get(f"/portal/calls/{taken.pk}/").content.decode()
    assert "data-delivery-stopped" in page and "data-portal-confirm" not in page


def test_a_message_edited_up_again_into_a_gap_goes_to_the_managers_saying_so(
    taken, harbor, rita, clock
):
    edit(taken, rita, urgency="normal")
    on_call_save(
        user=harbor.maya,
        business=harbor,
        weekly=[
            {
                "weekday": 1,
                "starts": time(12),
                "ends": time(13),
                "contacts": [harbor.contacts.get(name="Dr Lee").pk],
            }
        ],
    )
    edit(taken, rita, urgency="high")  # 10:00 on Tuesday: nobody until noon
    delivery = MessageDelivery.objects.get(call=taken)
    assert delivery.state == DeliveryState.ESCALATED
    assert "nobody is on call now" in Escalation.objects.get(call=taken).reason


def test_a_message_edited_down_then_up_again_starts_again(
    taken, rita, clock, django_capture_on_commit_callbacks
):
    clock.move(minutes=3)
    edit(taken, rita, urgency="normal")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        edit(taken, rita, urgency="emergency")
    delivery = MessageDelivery.objects.get(call=taken)
    assert delivery.state == DeliveryState.SENT
    assert delivery.next_at == START + timedelta(minutes=13)
    assert steps(delivery) == [("Dr Hale", "withdrawn", "sent"), ("Dr Hale", "waiting", "sent")]
    assert [m.to for m in urgent_mail()] == [["hale@h.test"]]


def test_a_notice_not_sent_yet_is_not_sent_once_edited_down(harbor, rita):
    call = take_message(rita, harbor)  # the worker has not come to it yet
    edit(call, rita, urgency="normal")
    assert send_notices(MessageDelivery.objects.get(call=call).pk) == 0
    assert urgent_mail() == []


def test_a_ladder_run_out_on_a_call_escalated_already_tells_the_managers(
    harbor, rita, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor, mood="abusive")
    escalation = Escalation.objects.get(call=call)
    assert "Undelivered" not in escalation.reason
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=clock.move(minutes=10))
    delivery = MessageDelivery.objects.get(call=call)
    assert delivery.state == DeliveryState.ESCALATED and delivery.escalation == escalation
    escalation.refresh_from_db()
    assert Escalation.objects.filter(call=call).count() == 1
    assert "Undelivered: Urgent message for Harbor Vet not confirmed: Dr Hale, Dr Lee" in (
        escalation.reason
    )
    assert escalation.history.first().history_change_reason.startswith("The message of the call")
    told = [m for m in mail.outbox if m.to == ["maya@front.test"]]
    assert [m.subject for m in told] == [
        f"Escalation #{escalation.pk}: a message was not delivered"
    ]


def test_a_person_whose_notice_failed_is_not_said_to_have_been_told(
    harbor, rita, clock, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.followups.test_deliveries.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor)
    for _ in range(2):  # Dr Lee's fails too
        with django_capture_on_commit_callbacks(execute=True):
            deliveries_sweep(now=clock.move(seconds=30))
    reason = Escalation.objects.get(call=call).reason
    assert "not confirmed" not in reason
    assert "not delivered: it could not be sent to Dr Hale, Dr Lee." in reason


def test_the_client_reads_that_a_notice_could_not_be_sent_and_staff_read_why(
    harbor, rita, reception_client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.followups.test_deliveries.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        call = take_message(rita, harbor)
    portal = Client()
    portal.force_login(client_of(harbor, "clara-err"))
    page = portal.get(f"/portal/calls/{call.pk}/").content.decode()
    assert "it could not be sent" in page
    assert "ConnectionRefusedError" not in page and "refused by the test" not in page
    staff = reception_client.get(f"/calls/{call.pk}/").content.decode()
    assert "ConnectionRefusedError: refused by the test" in staff


def test_the_link_answers_head_as_get_and_confirms_nothing(taken):
    link = path_of(link_in(urgent_mail()[0]))
    response = Client().head(link)
    assert response.status_code == 200 and response.content == b""
    assert MessageDelivery.objects.get(call=taken).state == DeliveryState.SENT


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_a_delivery_whose_call_is_being_edited_for_the_next_run(harbor, rita):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from django.db import transaction

    call = take_message(rita, harbor)
    later = START + timedelta(minutes=10)
    held, release = threading.Event(), threading.Event()

    def editing():
        # call_update's order: the call's row, then (delivery_follow) the delivery's.
        with transaction.atomic():
            Call.objects.select_for_update().get(pk=call.pk)
            held.set()
            release.wait(10)
        return "edited"

    def sweeping():
        held.wait(10)
        try:
            return deliveries_sweep(now=later)
        finally:
            release.set()

    results = at_once(editing, sweeping)
    assert results == ["edited", {"advanced": 0, "escalated": 0}]
    delivery = MessageDelivery.objects.get(call=call)
    assert delivery.next_at == later and steps(delivery) == [("Dr Hale", "waiting", "sent")]
    assert deliveries_sweep(now=later) == {"advanced": 1, "escalated": 0}


@pytest.mark.django_db(transaction=True)
def test_a_contact_deleted_as_the_sweep_tells_them_fails_neither(harbor, rita):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from django.db import transaction

    from callers.services import business_save

    call = take_message(rita, harbor)
    hale, owner = harbor.contacts.get(name="Dr Hale"), harbor.contacts.get(name="Owner")
    told = threading.Event()

    def sweeping():
        with transaction.atomic():
            deliveries_sweep(now=START + timedelta(minutes=10))  # tells Dr Lee
            told.set()
            # Committed once the business's edit, deleting Dr Lee, waits on this one.
            for _ in range(200):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_stat_clear_snapshot()")  # read afresh
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                    if cursor.fetchone()[0]:
                        break
                time_module.sleep(0.02)
        return "swept"

    def deleting():
        told.wait(10)
        business_save(
            user=harbor.maya,
            business=harbor,
            contacts=[
                {"id": hale.pk, "name": hale.name, "email": hale.email, "phone": "", "role": ""},
                {"id": owner.pk, "name": owner.name, "email": "", "phone": "", "role": ""},
            ],
        )
        return "saved"

    assert at_once(sweeping, deleting) == ["swept", "saved"]
    assert not BusinessContact.objects.filter(name="Dr Lee").exists()
    lee = MessageDelivery.objects.get(call=call).steps.get(name="Dr Lee")
    assert lee.contact_id is None and lee.result == StepResult.WAITING


def test_a_contact_deleted_between_the_check_and_the_commit_is_skipped_next_sweep(
    harbor, rita, clock, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("foreign keys checked in the savepoint: PostgreSQL")
    from followups import deliveries

    plain = Business.objects.create(name="Plain Office")
    BusinessContact.objects.create(business=plain, name="Amy", email="amy@p.test")
    BusinessContact.objects.create(business=plain, name="Zed", email="zed@p.test")
    harbor_call, plain_call = take_message(rita, harbor), take_message(rita, plain)
    BusinessContact.objects.filter(business=harbor, name="Dr Lee").delete()
    # As if Dr Lee was deleted in the instant after the sweep found him still there.
    monkeypatch.setattr(deliveries, "_still_a_contact", lambda *args: True)
    later = clock.move(minutes=10)
    assert deliveries_sweep(now=later) == {"advanced": 1, "escalated": 0}
    connection.check_constraints()  # nothing left naming him
    assert results(MessageDelivery.objects.get(call=plain_call))[-1] == ("Zed", "waiting")
    harbor_delivery = MessageDelivery.objects.get(call=harbor_call)
    assert harbor_delivery.next_at == later
    assert results(harbor_delivery) == [("Dr Hale", "waiting")]
    monkeypatch.undo()
    assert deliveries_sweep(now=clock.move(minutes=1)) == {"advanced": 0, "escalated": 1}
    assert [r for _, r in results(harbor_delivery)] == ["timed_out", "removed", "unreachable"]


def test_a_message_edited_down_cannot_be_confirmed_and_starts_again_when_edited_up(
    taken, harbor, rita, django_capture_on_commit_callbacks
):
    """A stopped delivery (the message no longer needs confirming) refuses a confirmation,
    by the old link or the portal: confirmed, the message would start no ladder when it is
    edited back up to an emergency."""
    from followups.deliveries import DeliveryWithdrawn

    hale_link = path_of(link_in(urgent_mail()[0]))
    with django_capture_on_commit_callbacks(execute=True):
        edit(taken, rita, urgency="normal")
    delivery = MessageDelivery.objects.get()
    assert delivery.state == DeliveryState.STOPPED
    page = Client().get(hale_link)
    assert page.status_code == 200 and b"data-withdrawn" in page.content
    assert b"data-confirm>" not in page.content
    refused = Client().post(hale_link)
    assert refused.status_code == 409 and b"no longer needs confirming" in refused.content
    step = delivery.steps.order_by("position").first()
    with pytest.raises(DeliveryWithdrawn):
        delivery_confirm(delivery_id=delivery.pk, step_id=step.pk)
    clara = client_of(harbor, "clara-w")
    portal = Client()
    portal.force_login(clara)
    response = portal.post(f"/portal/calls/{taken.pk}/confirm/", follow=True)
    assert b"no longer needs confirming" in response.content
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.STOPPED and delivery.confirmed_at is None
    assert Call.objects.get(pk=taken.pk).message_read_at is None
    # Edited up again: the ladder starts again and someone is told.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        edit(taken, rita, urgency="emergency")
    assert MessageDelivery.objects.get().state == DeliveryState.SENT
    assert len(urgent_mail()) == 1


def test_the_portal_s_confirm_after_the_link_s_still_marks_the_message_read(taken, harbor):
    hale_link = path_of(link_in(urgent_mail()[0]))
    assert Client().post(hale_link).status_code == 200
    clara = client_of(harbor, "clara-r")
    portal = Client()
    portal.force_login(clara)
    response = portal.post(f"/portal/calls/{taken.pk}/confirm/", follow=True)
    assert "Dr Hale confirmed it already" in response.content.decode()
    taken.refresh_from_db()
    assert taken.message_read_by == clara
    assert MessageDelivery.objects.get().confirmed_by_name == "Dr Hale"
