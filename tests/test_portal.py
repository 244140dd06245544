"""The client portal (/portal/), the messages taken for a business, and their e-mail."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from callers.models import Business
from callers.services import business_save
from calls.models import Call, MessageStatus
from calls.services import call_log, call_update, escalation_raise, escalation_resolve
from calls.tasks import send_message
from followups.models import CallbackStatus
from receptionist.models import StaffBusiness
from receptionist.roles import CLIENTS, ensure_groups
from tests.conftest import _client_for
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    UserFactory,
    manager_user,
    receptionist_user,
)
from tests.querycounts import count_queries, next_cursor
from tests.test_business_walk import url_patterns

pytestmark = pytest.mark.django_db

SECRET_NOTE = "Internal: caller is a known time-waster"


def client_user(business, **kwargs):
    user = UserFactory(role=CLIENTS, **kwargs)
    StaffBusiness.objects.create(user=user, business=business)
    return user


@pytest.fixture
def world(db):
    maya = manager_user(username="maya-p")
    team = Business.objects.default()
    harbor = business_save(
        user=maya,
        name="Harbor Vet",
        time_zone="America/Los_Angeles",
        contacts=[{"name": "Dr Hale", "email": "hale@harbor.example", "phone": "", "role": ""}],
    )
    other = business_save(user=maya, name="Other Firm")
    rita = receptionist_user(username="rita-p", first_name="Rita")
    records = {}
    for business, name in ((harbor, "Holly Harbor"), (other, "Otto Other")):
        caller = CallerFactory(name=name, phone="+12125550147", business=business)
        call = CallFactory(
            caller=caller,
            taken_by=rita,
            summary=f"{name} asked about a bill",
            outcome="message_taken",
            message=f"Please call {name} back",
            notes=SECRET_NOTE,
            mood="angry",
        )
        records[business.pk] = call
    clara = client_user(harbor, username="clara")
    return {
        "maya": maya,
        "team": team,
        "harbor": harbor,
        "other": other,
        "rita": rita,
        "clara": clara,
        "ours": records[harbor.pk],
        "theirs": records[other.pk],
    }


# --- who may see the portal -------------------------------------------------------------


def test_a_client_sees_their_business_calls_with_the_message_and_never_the_notes(world):
    page = _client_for(world["clara"]).get("/portal/").content.decode()
    assert "Holly Harbor asked about a bill" in page
    assert "Please call Holly Harbor back" in page
    assert "Unread" in page
    assert "(212) 555-0147" in page  # the number to call them back on
    assert "Otto Other" not in page
    assert SECRET_NOTE not in page
    call_page = _client_for(world["clara"]).get(f"/portal/calls/{world['ours'].pk}/")
    text = call_page.content.decode()
    assert "Please call Holly Harbor back" in text
    assert 'href="tel:+12125550147"' in text
    assert SECRET_NOTE not in text
    assert "Angry" not in text  # the caller's mood stays with the front desk
    assert "rita-p" not in text and "Rita" not in text


def test_another_business_call_answers_404_to_a_client(world):
    client = _client_for(world["clara"])
    theirs = world["theirs"].pk
    assert client.get(f"/portal/calls/{theirs}/").status_code == 404
    assert client.post(f"/portal/calls/{theirs}/read/").status_code == 404
    world["theirs"].refresh_from_db()
    assert world["theirs"].message_read_at is None


def test_every_staff_page_answers_403_to_a_client(world):
    client = _client_for(world["clara"])
    walked = 0
    for route, name in url_patterns():
        everyones = {
            "home",
            "healthz",
            "login",
            "logout",
            "password_change",
            "password_change_done",
            # The idle timeout's "someone is here" (204; tests/test_idle_sessions.py).
            "alive",
            # One's own API tokens and the API's docs: for anyone logged in.
            "api-tokens",
            "api-token-revoke",
            "api-docs",
            "api-schema",
            # A client's messages through the API (tests/api/test_api_permissions.py).
            "api-messages",
            "api-message-read",
            # The link that confirms an urgent message: no login, the signed link is the key
            # (tests/followups/test_deliveries.py).
            "deliveries:confirm",
            # The API's JSON 404 of an address that is no endpoint.
            "api-not-found",
        }
        if name in everyones or name.startswith("portal:"):
            continue
        url = "/" + route.replace("<int:pk>", str(world["ours"].pk))
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in {403, 405}, (name, method, response.status_code)
        walked += 1
    assert walked > 30
    assert client.get("/").url == "/portal/"


@pytest.mark.parametrize("role", ["receptionist", "manager"])
def test_the_front_desk_does_not_use_the_portal(world, role):
    user = world["rita"] if role == "receptionist" else world["maya"]
    client = _client_for(user)
    for url in ("/portal/", f"/portal/calls/{world['ours'].pk}/", "/portal/summary/"):
        assert client.get(url).status_code == 403, url


def test_a_client_account_linked_to_no_business_sees_nothing(world):
    lost = UserFactory(role=CLIENTS, username="lost")
    response = _client_for(lost).get("/portal/")
    assert response.status_code == 403
    assert "belongs to none" in response.content.decode()
    # Linked to two (a mistake in the admin): still not every business's calls.
    StaffBusiness.objects.create(user=lost, business=world["harbor"])
    StaffBusiness.objects.create(user=lost, business=world["other"])
    assert _client_for(lost).get("/portal/").status_code == 403


def test_the_navigation_of_a_client_is_the_portal_only(world):
    page = _client_for(world["clara"]).get("/portal/").content.decode()
    assert 'href="/portal/summary/"' in page
    assert "Log a call" not in page and 'href="/calls/"' not in page


# --- marking a message read ------------------------------------------------------------


def test_the_client_marks_a_message_read_and_the_front_desk_sees_it(world):
    ours = world["ours"]
    response = _client_for(world["clara"]).post(f"/portal/calls/{ours.pk}/read/")
    assert response.status_code == 302
    ours.refresh_from_db()
    assert ours.message_read_by == world["clara"]
    assert ours.message_read_at is not None
    shown = _client_for(world["clara"]).get(f"/portal/calls/{ours.pk}/").content.decode()
    assert "data-read>Read " in shown and f"by {world['clara'].get_full_name()}" in shown
    rita = _client_for(world["rita"])
    log = rita.get("/calls/").content.decode()
    assert "· read" in log
    detail = rita.get(f"/calls/{ours.pk}/").content.decode()
    assert "read</strong>" in detail and "Please call Holly Harbor back" in detail


def test_message_mark_read_is_the_rule_for_everyone(world):
    from calls.services import message_mark_read

    ours = world["ours"]
    with pytest.raises(PermissionDenied):
        message_mark_read(call_id=ours.pk, user=world["rita"])
    with pytest.raises(Call.DoesNotExist):
        message_mark_read(call_id=world["theirs"].pk, user=world["clara"])
    plain = CallFactory(caller=ours.caller, outcome="resolved")
    with pytest.raises(ValidationError):
        message_mark_read(call_id=plain.pk, user=world["clara"])
    first = message_mark_read(call_id=ours.pk, user=world["clara"])
    colleague = client_user(world["harbor"], username="colleague")
    again = message_mark_read(call_id=ours.pk, user=colleague)
    # Read twice (two people, two tabs): the first reading stays.
    assert again.message_read_at == first.message_read_at
    assert again.message_read_by_id == world["clara"].pk


def test_unread_shows_only_the_messages_not_read_yet(world):
    client = _client_for(world["clara"])
    ours = world["ours"]
    resolved = CallFactory(caller=ours.caller, outcome="resolved", summary="Asked the hours")
    assert "Asked the hours" in client.get("/portal/").content.decode()
    assert "Asked the hours" not in client.get("/portal/?view=messages").content.decode()
    assert "asked about a bill" in client.get("/portal/?view=unread").content.decode()
    client.post(f"/portal/calls/{ours.pk}/read/")
    assert "asked about a bill" not in client.get("/portal/?view=unread").content.decode()
    assert resolved.pk


# --- the message's e-mail -----------------------------------------------------------------


def log_message(world, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        return call_log(
            user=world["rita"],
            business=world["harbor"],
            phone="+16465550101",
            caller_name="Mo Message",
            summary="Wants the vaccination records",
            wants="A copy by e-mail",
            message="Mo needs the records before Friday",
            notes=SECRET_NOTE,
            outcome="message_taken",
            started_at=timezone.now() - timedelta(minutes=2),
            **fields,
        )


def test_a_message_taken_is_emailed_to_the_contacts_as_a_link_only(
    world, django_capture_on_commit_callbacks
):
    call = log_message(world, django_capture_on_commit_callbacks)
    call.refresh_from_db()
    assert call.message_status == MessageStatus.SENT
    assert call.message_sent_to == "hale@harbor.example"
    assert [m.to for m in mail.outbox] == [["hale@harbor.example"]]
    body = mail.outbox[0].body
    assert f"/portal/calls/{call.pk}/" in body
    # Private by default: no caller, no message in the e-mail.
    assert "Mo Message" not in body and "before Friday" not in body
    assert SECRET_NOTE not in body


def test_a_business_that_allows_it_gets_the_message_text_but_never_the_notes(
    world, django_capture_on_commit_callbacks
):
    business_save(user=world["maya"], business=world["harbor"], message_text_in_email=True)
    log_message(world, django_capture_on_commit_callbacks)
    body = mail.outbox[0].body
    assert "Mo needs the records before Friday" in body and "Mo Message" in body
    assert SECRET_NOTE not in body


def test_no_contact_with_an_email_is_said_and_nothing_is_sent(
    world, django_capture_on_commit_callbacks
):
    business_save(user=world["maya"], business=world["harbor"], contacts=[])
    call = log_message(world, django_capture_on_commit_callbacks)
    call.refresh_from_db()
    assert call.message_status == MessageStatus.NO_CONTACTS
    assert mail.outbox == []
    page = _client_for(world["rita"]).get(f"/calls/{call.pk}/").content.decode()
    assert "no contact with an e-mail" in page


class RefusingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_a_mail_server_that_refuses_is_recorded_as_failed(
    world, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "tests.test_portal.RefusingBackend"
    call = log_message(world, django_capture_on_commit_callbacks)
    call.refresh_from_db()
    assert call.message_status == MessageStatus.FAILED
    assert "· e-mail failed" in _client_for(world["rita"]).get("/calls/").content.decode()


def test_the_message_is_sent_once_and_only_for_message_taken(
    world, django_capture_on_commit_callbacks
):
    call = log_message(world, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    # The task again (a worker retrying): nothing more is sent.
    assert send_message.call(call.pk) == MessageStatus.SENT
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        plain = call_log(
            user=world["rita"],
            business=world["harbor"],
            phone="+16465550102",
            caller_name="Rae Resolved",
            summary="Asked the opening hours",
            outcome="resolved",
            started_at=timezone.now() - timedelta(minutes=1),
        )
    assert plain.message_status == "" and len(mail.outbox) == 1
    # Edited to "Message taken" afterwards: sent then, once.
    with django_capture_on_commit_callbacks(execute=True):
        call_update(
            call_id=plain.pk,
            expected_version=plain.version,
            user=world["rita"],
            changes={"outcome": "message_taken", "message": "Call Rae"},
        )
    plain.refresh_from_db()
    assert plain.message_status == MessageStatus.SENT and len(mail.outbox) == 2


def test_the_call_form_keeps_the_message_apart_from_the_internal_notes(world):
    page = _client_for(world["rita"]).get("/calls/new/").content.decode()
    assert "Message for the business" in page and "Internal notes" in page


# --- callbacks, escalations, summary ----------------------------------------------------


def test_the_portal_shows_open_and_kept_callbacks(world):
    ours = world["ours"]
    CallbackFactory(call=ours, caller=ours.caller, reason="Call about the bill")
    kept = CallbackFactory(
        call=ours,
        caller=ours.caller,
        reason="Confirm the booking",
        status=CallbackStatus.DONE,
        due_at=timezone.now() - timedelta(hours=1),
        closed_at=timezone.now() - timedelta(hours=2),
        outcome="Called back, booked for Monday",
    )
    theirs = world["theirs"]
    CallbackFactory(call=theirs, caller=theirs.caller, reason="Otto's callback")
    client = _client_for(world["clara"])
    open_page = client.get("/portal/callbacks/").content.decode()
    assert "Call about the bill" in open_page and "Confirm the booking" not in open_page
    assert "Otto" not in open_page
    kept_page = client.get("/portal/callbacks/?view=kept").content.decode()
    assert f'data-portal-callback="{kept.pk}"' in kept_page and "on time" in kept_page


def test_the_portal_shows_escalations_with_the_resolution_and_never_the_debrief(world):
    ours = world["ours"]
    escalation = escalation_raise(
        call=ours, user=world["rita"], reason="Shouted", playbook_steps=[]
    )
    escalation_resolve(
        escalation_id=escalation.pk,
        user=world["maya"],
        resolution="Refunded the invoice and apologised",
        debrief="Rita: hand over sooner next time",
        caution_decision="keep",
    )
    page = _client_for(world["clara"]).get("/portal/escalations/").content.decode()
    assert "Refunded the invoice and apologised" in page
    assert "hand over sooner" not in page
    assert "Otto" not in page


def test_the_month_summary_counts_in_the_business_own_time_zone(world):
    harbor = world["harbor"]
    caller = world["ours"].caller
    # 2026-11-01 02:00 UTC is still October 31 in Los Angeles.
    CallFactory(
        caller=caller,
        nature="urgent",
        urgency="high",
        started_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
    )
    CallFactory(
        caller=caller,
        nature="urgent",
        urgency="high",
        started_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
    )
    client = _client_for(world["clara"])
    november = client.get("/portal/summary/?month=2026-11").context
    october = client.get("/portal/summary/?month=2026-10").context
    assert november["business"] == harbor
    urgent_nov = {label: counts for label, counts, _ in november["rows"]}["Urgent"]
    urgent_oct = {label: counts for label, counts, _ in october["rows"]}["Urgent"]
    high = list(november["urgencies"]).index("High")
    assert urgent_nov[high] == 1 and urgent_oct[high] == 1


def test_the_month_summary_counts_callbacks_kept_on_time_and_late(world):
    ours = world["ours"]
    now = timezone.now()
    kept = {"call": ours, "caller": ours.caller, "status": "done", "outcome": "Reached"}
    CallbackFactory(**kept, due_at=now, closed_at=now - timedelta(1))
    CallbackFactory(**kept, due_at=now - timedelta(2), closed_at=now)
    CallbackFactory(call=ours, caller=ours.caller)
    summary = _client_for(world["clara"]).get("/portal/summary/").context["callbacks"]
    assert (summary["promised"], summary["on_time"], summary["late"], summary["open"]) == (
        3,
        1,
        1,
        1,
    )


@pytest.mark.parametrize(
    "month", ["<script>alert(1)</script>", "2026-13", "0000-01", "9999-12", "2026-1\x00", ""]
)
def test_a_month_that_is_no_month_shows_this_month_with_a_message(world, month):
    response = _client_for(world["clara"]).get("/portal/summary/", {"month": month})
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        assert "<script>alert" not in response.content.decode()


def test_a_forged_cursor_is_a_400(world):
    client = _client_for(world["clara"])
    assert client.get("/portal/?cursor=bm90LWEtY3Vyc29y").status_code == 400
    assert client.get("/portal/callbacks/?view=kept&cursor=%3Cb%3E").status_code == 400


# --- query counts -------------------------------------------------------------------------


def test_the_portal_pages_cost_the_same_however_many_calls(world):
    client = _client_for(world["clara"])
    ours = world["ours"]
    pages = [
        "/portal/",
        "/portal/?view=unread",
        f"/portal/calls/{ours.pk}/",
        "/portal/callbacks/",
        "/portal/callbacks/?view=kept",
        "/portal/escalations/",
        "/portal/summary/",
    ]
    before = {url: count_queries(client, url) for url in pages}
    for i in range(30):
        call = CallFactory(caller=ours.caller, outcome="message_taken", message=f"m{i}")
        CallbackFactory(call=call, caller=ours.caller)
        escalation_raise(call=call, user=world["rita"], reason="Upset", playbook_steps=[])
    after = {url: count_queries(client, url) for url in pages}
    assert after == before
    assert before == {
        "/portal/": 3,
        "/portal/?view=unread": 3,
        f"/portal/calls/{ours.pk}/": 4,
        "/portal/callbacks/": 3,
        "/portal/callbacks/?view=kept": 3,
        "/portal/escalations/": 3,
        "/portal/summary/": 5,
    }
    # Paged: the next page of calls follows the cursor.
    assert next_cursor(client.get("/portal/")) is not None


# --- accounts -----------------------------------------------------------------------------


def test_create_staff_makes_a_client_of_exactly_one_business(world, tmp_path):
    password = tmp_path / "pw"
    password.write_text("a-long-enough-Pa55word\n")
    ensure_groups()
    with pytest.raises(CommandError, match="exactly one business"):
        call_command("create_staff", "cleo", "--role", "client", "--password-file", str(password))
    with pytest.raises(CommandError, match="exactly one business"):
        call_command(
            "create_staff",
            "cleo",
            "--role",
            "client",
            "--business",
            "Harbor Vet",
            "--business",
            "Other Firm",
            "--password-file",
            str(password),
        )
    out = StringIO()
    call_command(
        "create_staff",
        "cleo",
        "--role",
        "client",
        "--business",
        "harbor vet",
        "--password-file",
        str(password),
        stdout=out,
    )
    assert "Created client cleo, at harbor vet" in out.getvalue()
    cleo = type(world["clara"]).objects.get(username="cleo")
    assert list(cleo.groups.values_list("name", flat=True)) == [CLIENTS]
    assert not cleo.is_staff
    assert Business.objects.of_client(cleo) == world["harbor"]
    client = _client_for(cleo)
    assert "Holly Harbor" in client.get("/portal/").content.decode()


def message_waiting(world, **fields):
    """A message taken for Harbor Vet, logged without running its on_commit task."""
    return call_log(
        user=world["rita"],
        business=world["harbor"],
        summary="Left a message",
        outcome="message_taken",
        started_at=timezone.now() - timedelta(minutes=1),
        **fields,
    )


def test_a_call_edited_away_from_message_taken_before_the_worker_sends_nothing(world):
    # The worker has not run (no on_commit here): the message waits to be sent.
    call = message_waiting(world, phone="+16465550103", caller_name="Ed Edit")
    assert call.message_status == MessageStatus.PENDING
    call = call_update(
        call_id=call.pk,
        expected_version=call.version,
        user=world["rita"],
        changes={"outcome": "resolved"},
    )
    assert call.message_status == ""
    assert send_message.call(call.pk) == "" and mail.outbox == []
    # The same when the edit raced ahead of the status: the task checks the outcome itself.
    Call.objects.filter(pk=call.pk).update(message_status=MessageStatus.PENDING)
    assert send_message.call(call.pk) == "" and mail.outbox == []
    assert Call.objects.get(pk=call.pk).message_status == ""


def test_a_business_name_is_one_line(world):
    with pytest.raises(ValidationError) as refused:
        business_save(user=world["maya"], business=world["harbor"], name="Harbor\nBcc: x@y.z")
    assert "one line" in refused.value.message_dict["name"][0]


def test_a_message_claimed_by_one_worker_is_not_sent_by_another(world):
    # The worker has not run (no on_commit here): the message waits to be sent.
    call = message_waiting(world, phone="+16465550104", caller_name="Two Workers")
    # Another worker has claimed it: this run sends nothing.
    Call.objects.filter(pk=call.pk).update(message_status=MessageStatus.SENDING)
    assert send_message.call(call.pk) == MessageStatus.SENDING
    assert mail.outbox == []
