import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from calls.models import Escalation, EscalationStatus, Severity
from calls.services import (
    EscalationTaken,
    escalation_acknowledge,
    escalation_raise,
    escalation_resolve,
    escalations_sweep,
)
from receptionist.models import StaffProfile
from tests.calls.test_views import form_data
from tests.factories import CallerFactory, CallFactory, manager_user, receptionist_user
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def managers(db):
    return [
        manager_user(username="mia", email="mia@example.com"),
        manager_user(username="omar", email="omar@example.com"),
    ]


def raise_for(call, user=None, **kwargs):
    return escalation_raise(
        call=call,
        user=user or call.taken_by,
        reason=kwargs.pop("reason", "Help"),
        playbook_steps=[],
        **kwargs,
    )


# --- raising ------------------------------------------------------------------------------


def test_abusive_call_raises_an_escalation_with_a_short_deadline(
    reception_client, managers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = reception_client.post(
            "/calls/new/",
            form_data(
                mood="abusive", outcome="terminated_abusive", playbook_steps=["listen", "limits"]
            ),
        )
    assert response.status_code == 302
    escalation = Escalation.objects.get()
    assert escalation.severity == Severity.CRITICAL
    assert escalation.playbook_steps == ["listen", "limits"]
    minutes = (escalation.ack_deadline - escalation.raised_at).total_seconds() / 60
    assert minutes == pytest.approx(5)
    # Managers are told by e-mail, after the commit, with a link and not the caller's details.
    assert sorted(m.to[0] for m in mail.outbox) == ["mia@example.com", "omar@example.com"]
    assert f"/escalations/{escalation.pk}/" in mail.outbox[0].body
    assert "Ann Lee" not in mail.outbox[0].body
    assert "ended this call for abuse" in mail.outbox[0].body
    # The receptionist's next page suggests a minute away from the phone.
    page = reception_client.get("/calls/new/")
    assert b"Take a minute away from the phone" in page.content


def test_abuse_is_always_escalated_even_when_unticked(reception_client):
    reception_client.post("/calls/new/", form_data(mood="abusive", escalate=""))
    assert Escalation.objects.count() == 1


def test_angry_caller_is_escalated_when_flagged_only(reception_client):
    reception_client.post("/calls/new/", form_data(mood="angry", escalate="on"))
    reception_client.post(
        "/calls/new/", form_data(mood="angry", caller_name="Bob", phone="(212) 555-0100")
    )
    escalation = Escalation.objects.get()
    assert escalation.severity == Severity.HIGH
    minutes = (escalation.ack_deadline - escalation.raised_at).total_seconds() / 60
    assert minutes == pytest.approx(10)


def test_unavailable_managers_get_no_new_escalation_mail(
    managers, django_capture_on_commit_callbacks
):
    StaffProfile.objects.create(user=managers[1], available=False)
    with django_capture_on_commit_callbacks(execute=True):
        raise_for(CallFactory(mood="angry"))
    assert [m.to[0] for m in mail.outbox] == ["mia@example.com"]


def test_one_open_escalation_per_call():
    call = CallFactory()
    raise_for(call)
    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(
            call=call, raised_by=call.taken_by, reason="again", ack_deadline=timezone.now()
        )


def test_receptionist_escalates_a_call_afterwards(reception_client, receptionist):
    call = CallFactory(taken_by=receptionist)
    response = reception_client.post(
        f"/calls/{call.pk}/escalate/",
        {"reason": "Caller rang back furious", "playbook_steps": ["listen"]},
    )
    assert response.status_code == 302
    assert Escalation.objects.get().reason == "Caller rang back furious"
    response = reception_client.post(f"/calls/{call.pk}/escalate/", {"reason": "again"})
    assert Escalation.objects.count() == 1


def test_escalate_needs_a_reason(reception_client):
    call = CallFactory()
    response = reception_client.post(f"/calls/{call.pk}/escalate/", {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert not Escalation.objects.exists()


# --- acknowledging and resolving ----------------------------------------------------------


def test_second_acknowledgement_is_told_who_took_it(managers):
    escalation = raise_for(CallFactory())
    escalation_acknowledge(escalation_id=escalation.pk, user=managers[0])
    with pytest.raises(EscalationTaken) as excinfo:
        escalation_acknowledge(escalation_id=escalation.pk, user=managers[1])
    assert excinfo.value.by == managers[0]


def test_acknowledge_view_says_who_took_it(manager_client, managers):
    escalation = raise_for(CallFactory())
    escalation_acknowledge(escalation_id=escalation.pk, user=managers[1])
    response = manager_client.post(f"/escalations/{escalation.pk}/acknowledge/", follow=True)
    assert b"has already taken this escalation" in response.content
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == managers[1]


def test_resolve_sets_the_caution_flag_and_the_lookup_shows_it(manager_client, reception_client):
    caller = CallerFactory(phone="+12125550147")
    escalation = raise_for(CallFactory(caller=caller, mood="angry"))
    response = manager_client.post(
        f"/escalations/{escalation.pk}/resolve/",
        {
            "resolution": "Spoke with him, refund agreed",
            "debrief": "You did well staying calm.",
            "caution_decision": "set",
            "caution_note": "Put him through to a manager straight away",
        },
    )
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.RESOLVED
    caller.refresh_from_db()
    assert caller.caution and caller.caution_note == "Put him through to a manager straight away"
    lookup = reception_client.get("/callers/lookup/", {"phone": "(212) 555-0147"})
    assert b"Put him through to a manager straight away" in lookup.content


def test_resolving_an_abusive_call_needs_a_debrief(manager_client):
    escalation = raise_for(CallFactory(mood="abusive"))
    response = manager_client.post(
        f"/escalations/{escalation.pk}/resolve/",
        {"resolution": "Call ended", "debrief": "", "caution_decision": "keep"},
    )
    assert response.status_code == 200
    assert "debrief" in response.context["resolve_form"].errors
    assert b"Call ended" in response.content  # what was typed is kept
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.OPEN


def test_resolve_needs_a_resolution_and_a_note_for_a_caution(manager_client):
    escalation = raise_for(CallFactory())
    response = manager_client.post(
        f"/escalations/{escalation.pk}/resolve/",
        {"resolution": "", "caution_decision": "set", "caution_note": ""},
    )
    errors = response.context["resolve_form"].errors
    assert "resolution" in errors and "caution_note" in errors


def test_receptionist_sees_the_debrief(reception_client, receptionist, managers):
    escalation = raise_for(CallFactory(taken_by=receptionist))
    escalation_resolve(
        escalation_id=escalation.pk, user=managers[0], resolution="Done", debrief="Well handled"
    )
    assert b"Well handled" in reception_client.get("/escalations/mine/").content
    assert b"Well handled" in reception_client.get(f"/calls/{escalation.call_id}/").content


def test_receptionist_cannot_see_someone_elses_escalation(reception_client):
    escalation = raise_for(CallFactory())
    assert reception_client.get(f"/escalations/{escalation.pk}/").status_code == 403


# --- the queue ----------------------------------------------------------------------------


def test_queue_order_open_first_then_severity_then_age(manager_client, managers):
    now = timezone.now()
    acknowledged = raise_for(CallFactory(mood="abusive"))
    escalation_acknowledge(escalation_id=acknowledged.pk, user=managers[0])
    old_normal = raise_for(CallFactory(mood="upset"))
    Escalation.objects.filter(pk=old_normal.pk).update(raised_at=now - timedelta(minutes=30))
    critical = raise_for(CallFactory(mood="abusive"))
    response = manager_client.get("/escalations/")
    assert row_ids(response, "data-escalation-row") == [critical.pk, old_normal.pk, acknowledged.pk]


def test_queue_shows_overdue_loudly_and_refreshes_as_a_fragment(manager_client):
    escalation = raise_for(CallFactory())
    Escalation.objects.filter(pk=escalation.pk).update(
        ack_deadline=timezone.now() - timedelta(minutes=3)
    )
    response = manager_client.get("/escalations/", HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content
    assert b"OVERDUE" in response.content


def test_nav_shows_the_open_count_to_managers(manager_client, reception_client, client):
    """Every page draws the badge empty and fetches it (at once, then every 10 seconds), so
    no page waits for the count and none shows one older than that."""
    raise_for(CallFactory())
    raise_for(CallFactory())
    page = manager_client.get("/calls/").content.decode()
    assert 'hx-get="/escalations/count/" hx-trigger="load, every 10s"' in page
    badge = manager_client.get("/escalations/count/", HTTP_HX_REQUEST="true")
    assert b"data-open-escalations>2<" in badge.content
    assert b'hx-trigger="every 10s"' in badge.content
    assert b"/escalations/count/" not in reception_client.get("/calls/").content
    assert reception_client.get("/escalations/count/").status_code == 403
    # A session that ended stops the polling (286) rather than leaving the page.
    assert client.get("/escalations/count/", HTTP_HX_REQUEST="true").status_code == 286
    assert manager_client.post("/escalations/count/").status_code == 405


def test_queue_query_count_does_not_grow(manager_client):
    for _ in range(2):
        raise_for(CallFactory())
    few = count_queries(manager_client, "/escalations/")
    for _ in range(15):
        raise_for(CallFactory(mood="angry"))
    assert count_queries(manager_client, "/escalations/") == few
    assert count_queries(manager_client, "/escalations/", HTTP_HX_REQUEST="true") <= few
    assert few <= 10


def test_escalation_page_and_mine_query_counts_do_not_grow(reception_client, receptionist):
    first = raise_for(CallFactory(taken_by=receptionist))
    detail = count_queries(reception_client, f"/escalations/{first.pk}/")
    mine = count_queries(reception_client, "/escalations/mine/")
    for _ in range(12):
        raise_for(CallFactory(taken_by=receptionist))
    assert count_queries(reception_client, f"/escalations/{first.pk}/") == detail
    assert count_queries(reception_client, "/escalations/mine/") == mine
    assert detail <= 8 and mine <= 8


def test_manager_escalation_page_query_count(manager_client, settings):
    # The session and person, the escalation with its call and caller, the people it
    # names; the "Assign to" list comes from the managers read once per process (kept
    # here for a minute, and read by the first page).
    settings.STAFF_CHOICES_SECONDS = 60
    escalation = raise_for(CallFactory())
    count_queries(manager_client, f"/escalations/{escalation.pk}/")
    assert count_queries(manager_client, f"/escalations/{escalation.pk}/") == 3
    assert count_queries(manager_client, "/escalations/resolved/") == 2


def test_the_assign_list_offers_the_managers_and_refuses_anyone_else(
    manager_client, manager, receptionist
):
    escalation = raise_for(CallFactory())
    page = manager_client.get(f"/escalations/{escalation.pk}/").content.decode()
    assert f'<option value="{manager.pk}"' in page
    assert f'<option value="{receptionist.pk}"' not in page
    assert ">None<" not in page
    response = manager_client.post(
        f"/escalations/{escalation.pk}/assign/", {"assignee": receptionist.pk}
    )
    escalation.refresh_from_db()
    assert escalation.assigned_to_id != receptionist.pk
    assert response.status_code == 200
    assert response.context["assign_form"].errors["assignee"]


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("get", "/escalations/", (302, 403, 403, 200)),
        ("get", "/escalations/mine/", (302, 403, 200, 200)),
        ("get", "/escalations/{pk}/", (302, 403, 200, 200)),
        ("post", "/escalations/{pk}/acknowledge/", (302, 403, 403, 302)),
        ("post", "/escalations/{pk}/assign/", (302, 403, 403, 200)),
        ("post", "/escalations/{pk}/resolve/", (302, 403, 403, 200)),
        ("post", "/escalations/availability/", (302, 403, 403, 400)),
        ("get", "/calls/{call}/escalate/", (302, 403, 200, 200)),
    ],
)
def test_permission_table(
    method, url, expected, receptionist, client, outsider_client, reception_client, manager_client
):
    """Expected status for anonymous, a user with no role, a receptionist and a manager."""
    call = CallFactory(taken_by=receptionist)
    escalation = raise_for(call)
    fresh_call = CallFactory(taken_by=receptionist)
    url = url.format(pk=escalation.pk, call=fresh_call.pk)
    clients = (client, outsider_client, reception_client, manager_client)
    assert tuple(getattr(c, method)(url).status_code for c in clients) == expected


# --- the sweep ----------------------------------------------------------------------------


def test_sweep_notifies_every_manager_once(managers, django_capture_on_commit_callbacks):
    StaffProfile.objects.create(user=managers[1], available=False)
    escalation = raise_for(CallFactory())
    Escalation.objects.filter(pk=escalation.pk).update(
        ack_deadline=timezone.now() - timedelta(minutes=1)
    )
    raise_for(CallFactory())  # not due yet
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("escalations_sweep")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("escalations_sweep")
    # Overdue notices go to every manager, available or not, and only once.
    assert sorted(m.to[0] for m in mail.outbox) == ["mia@example.com", "omar@example.com"]
    assert "has not been acknowledged" in mail.outbox[0].subject


def test_sweep_ignores_acknowledged_escalations(managers):
    escalation = raise_for(CallFactory())
    escalation_acknowledge(escalation_id=escalation.pk, user=managers[0])
    Escalation.objects.filter(pk=escalation.pk).update(
        ack_deadline=timezone.now() - timedelta(minutes=1)
    )
    assert escalations_sweep() == 0


# --- concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_acknowledgements_have_one_winner():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    first, second = manager_user(username="m1"), manager_user(username="m2")
    escalation = raise_for(CallFactory(taken_by=receptionist_user()))
    barrier = threading.Barrier(2)
    results = []

    def take(user):
        from django.db import connections

        try:
            barrier.wait()
            escalation_acknowledge(escalation_id=escalation.pk, user=user)
            results.append(("won", user.username))
        except EscalationTaken as exc:
            results.append(("told", exc.by.username))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(u,)) for u in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [who for outcome, who in results if outcome == "won"]
    told = [who for outcome, who in results if outcome == "told"]
    assert len(winners) == 1
    assert told == winners  # the loser is told who took it
    escalation.refresh_from_db()
    assert escalation.acknowledged_by.username == winners[0]


def test_manager_marks_themselves_unavailable_and_back(manager_client, manager):
    assert manager_client.post("/escalations/availability/", {"available": "0"}).status_code == 302
    assert StaffProfile.objects.get(user=manager).available is False
    assert manager_client.post("/escalations/availability/", {"available": "1"}).status_code == 302
    assert StaffProfile.objects.get(user=manager).available is True
    assert manager_client.post("/escalations/availability/", {"available": "x"}).status_code == 400


def test_newest_involving_is_what_an_or_finds_newest_first_and_at_most_n(managers):
    pat, other = receptionist_user(username="pat"), receptionist_user(username="olga")
    now = timezone.now()
    mine = []
    for minutes, taker, raiser in [
        (50, pat, managers[0]),  # pat took the call
        (40, other, pat),  # pat raised it about someone else's call
        (30, other, other),  # not pat's
        (20, pat, pat),  # both
        (10, other, managers[0]),  # not pat's
    ]:
        escalation = raise_for(CallFactory(taken_by=taker), raiser)
        Escalation.objects.filter(pk=escalation.pk).update(
            raised_at=now - timedelta(minutes=minutes)
        )
        if pat in (taker, raiser):
            mine.append(escalation.pk)
    newest_first = mine[::-1]
    assert Escalation.objects.newest_involving(pat, 10) == newest_first
    assert Escalation.objects.newest_involving(pat, 2) == newest_first[:2]
    assert set(Escalation.objects.involving(pat).values_list("pk", flat=True)) == set(mine)


def test_my_escalations_page_through_every_one_newest_first(
    reception_client, receptionist, settings
):
    settings.CALLS_PAGE_SIZE = 2
    mine = [raise_for(CallFactory(taken_by=receptionist)).pk for _ in range(5)]
    raise_for(CallFactory())  # someone else's
    seen, url = [], "/escalations/mine/"
    while url:
        response = reception_client.get(url, headers={"HX-Request": "true"} if seen else {})
        assert response.status_code == 200
        seen += row_ids(response, "data-escalation-row")
        cursor = next_cursor(response)
        url = f"/escalations/mine/?cursor={cursor}" if cursor else None
    assert seen == mine[::-1]


def test_two_managers_assigning_at_once_the_second_is_told_and_nothing_changes(
    manager_client, manager
):
    from tests.factories import manager_user

    escalation = raise_for(CallFactory())
    other = manager_user(username="boss2")
    page = manager_client.get(f"/escalations/{escalation.pk}/").content.decode()
    assert 'name="was"' in page
    escalation.assigned_to = other  # another manager saved first
    escalation.save()
    response = manager_client.post(
        f"/escalations/{escalation.pk}/assign/", {"assignee": manager.pk, "was": ""}, follow=True
    )
    escalation.refresh_from_db()
    assert escalation.assigned_to == other
    assert "while you were choosing" in response.content.decode()


def test_the_queue_shows_the_most_urgent_and_says_how_many_wait(manager_client, monkeypatch):
    from calls.views import escalations as views

    monkeypatch.setattr(views, "QUEUE_SIZE", 3)
    monkeypatch.setattr(views.QUEUE, "_compiled", {})  # its LIMIT is compiled in
    calls = [CallFactory(summary=f"Shouting {n}") for n in range(5)]
    for call in calls:
        escalation_raise(call=call, user=call.taken_by, reason="Shouting", playbook_steps=[])
    few = count_queries(manager_client, "/escalations/")
    response = manager_client.get("/escalations/")
    assert len(response.context["escalations"]) == 3
    assert "The 3 most urgent of 5 waiting" in response.content.decode()
    monkeypatch.setattr(views, "QUEUE_SIZE", 10)
    monkeypatch.setattr(views.QUEUE, "_compiled", {})
    response = manager_client.get("/escalations/")
    assert len(response.context["escalations"]) == 5
    assert "data-more-waiting" not in response.content.decode()
    assert count_queries(manager_client, "/escalations/") == few
