import re
from datetime import timedelta

import pytest
from django.utils import timezone

from callers.models import CallerPhone
from followups.models import Callback, CallbackStatus, Priority
from followups.services import callback_claim
from tests.calls.test_views import form_data
from tests.factories import CallbackFactory, CallerFactory, CallFactory, receptionist_user
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def local(dt):
    return timezone.localtime(dt).strftime(LOCAL)


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("get", "/callbacks/", (302, 403, 200, 200)),
        ("get", "/callbacks/?view=overdue", (302, 403, 200, 200)),
        ("get", "/callbacks/{pk}/", (302, 403, 200, 200)),
        ("get", "/callbacks/open-for/?phone=2125550147", (302, 403, 200, 200)),
        ("get", "/callbacks/promise/?nature=urgent&urgency=high", (302, 403, 200, 200)),
        ("post", "/callbacks/{pk}/claim/", (302, 403, 302, 302)),
        ("post", "/callbacks/{pk}/release/", (302, 403, 302, 302)),
        ("post", "/callbacks/{pk}/attempt/", (302, 403, 400, 400)),
        ("post", "/callbacks/{pk}/assign/", (302, 403, 403, 302)),
        ("post", "/callbacks/{pk}/cancel/", (302, 403, 403, 400)),
        ("get", "/callbacks/{pk}/claim/", (302, 405, 405, 405)),
    ],
)
def test_permission_table(
    method, url, expected, client, outsider_client, reception_client, manager_client
):
    """Expected status for anonymous, a user with no role, a receptionist and a manager."""
    url = url.format(pk=CallbackFactory().pk)
    clients = (client, outsider_client, reception_client, manager_client)
    assert tuple(getattr(c, method)(url).status_code for c in clients) == expected


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/callbacks/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


# --- the promise on the call form ---------------------------------------------------------


def test_call_form_has_the_callback_promise(reception_client):
    content = reception_client.get("/calls/new/").content.decode()
    for name in ("callback", "callback_due_at", "callback_promise", "callback_window"):
        assert f'name="{name}"' in content
    assert 'id="open-callbacks"' in content and "/callbacks/promise/" in content


def test_logging_a_call_with_a_callback(reception_client, receptionist):
    response = reception_client.post(
        "/calls/new/",
        form_data(
            nature="urgent",
            urgency="high",
            outcome="callback_scheduled",
            callback="on",
            callback_due_at="",
            callback_window="after 5 pm",
        ),
    )
    assert response.status_code == 302
    callback = Callback.objects.get()
    minutes = (callback.due_at - callback.call.created_at).total_seconds() / 60
    assert 14 <= minutes <= 16  # urgent + high: within 15 minutes by default
    assert callback.preferred_window == "after 5 pm"
    page = reception_client.get("/calls/new/").content.decode()
    assert "Callback promised" in page


def test_the_promise_can_be_changed(reception_client):
    due = timezone.now() + timedelta(days=1)
    reception_client.post(
        "/calls/new/",
        form_data(
            outcome="callback_scheduled",
            callback="on",
            callback_due_at=local(due),
            callback_promise="Tomorrow before lunch",
        ),
    )
    callback = Callback.objects.get()
    assert local(callback.due_at) == local(due)
    assert callback.promise == "Tomorrow before lunch"


def test_a_past_due_time_is_refused_and_everything_typed_is_kept(reception_client):
    past = local(timezone.now() - timedelta(hours=1))
    data = form_data(
        outcome="callback_scheduled",
        callback="on",
        callback_due_at=past,
        callback_promise="By noon",
        callback_window="mornings",
    )
    response = reception_client.post("/calls/new/", data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["callback_due_at"] == ["That time has passed: pick a time later than now."]
    content = response.content.decode()
    for value in ("By noon", "mornings", data["summary"], data["wants"], data["notes"]):
        assert value.replace("'", "&#39;") in content  # the form is escaped by Jinja2
    assert not Callback.objects.exists()


def test_callback_outcome_without_a_callback_is_refused(reception_client):
    response = reception_client.post("/calls/new/", form_data(outcome="callback_scheduled"))
    assert response.status_code == 200
    assert "tick “Call back”" in response.context["form"].errors["callback"][0]


def preview(client, **params):
    return client.get("/callbacks/promise/", {"callback": "on", **params})


def test_promise_preview_fills_the_due_time_and_the_words(reception_client):
    response = preview(reception_client, nature="urgent", urgency="high")
    assert response.status_code == 200
    content = response.content.decode()
    # Urgent and high: 15 minutes by the default policy, to the minute.
    due = timezone.localtime() + timedelta(minutes=15)
    assert 'id="callback-due-box" hx-swap-oob="true"' in content
    # On the 24-hour clock, in the locale's format, as the lists show times.
    assert f'value="{due:%Y-%m-%d %H:%M}"' in content or (
        f'value="{due + timedelta(minutes=1):%Y-%m-%d %H:%M}"' in content
    )
    words = re.search(r'name="callback_words_shown" value="([^"]+)"', content).group(1)
    assert words.startswith("We&#x27;ll call you back by ")
    assert 'id="callback-promise-box" hx-swap-oob="true"' in content


def test_promise_preview_keeps_a_time_and_words_changed_by_hand(reception_client):
    due = timezone.localtime() + timedelta(hours=3)
    by_hand = preview(
        reception_client,
        nature="urgent",
        urgency="high",
        callback_due_at=local(due),
        callback_due_edited="true",
    ).content.decode()
    assert "callback-due-box" not in by_hand  # the time typed stays as it is
    assert 'name="callback_due_edited" value="True"' in by_hand
    assert "callback-promise-box" in by_hand  # the words follow the time typed
    typed = preview(
        reception_client,
        nature="sales",
        urgency="low",
        callback_promise="Before Friday, promised",
        callback_words_shown="We'll call you back by 4:00 pm.",
    ).content.decode()
    assert "callback-due-box" in typed
    assert "callback-promise-box" not in typed  # words typed are never replaced


@pytest.mark.parametrize(
    ("due", "problem"),
    [
        ("2026-13-45T10:00", "Enter a valid date/time."),
        ("9999-12-31T23:59", "Pick a date between 2000 and 2099."),
        ("0001-01-01T00:00", "Pick a date between 2000 and 2099."),
        ("2000-01-01T10:00", "That time has passed"),
        ("2090-01-01T10:00", "That is more than a year away"),
    ],
)
def test_promise_preview_says_what_is_wrong_with_a_time(reception_client, due, problem):
    response = preview(
        reception_client,
        nature="urgent",
        urgency="high",
        callback_due_at=due,
        callback_due_edited="true",
    )
    assert response.status_code == 200
    assert "data-due-problem" in response.content.decode()
    assert problem in response.content.decode()


def test_promise_preview_refuses_what_is_not_from_the_call_form(reception_client):
    assert preview(reception_client, nature="x", urgency="high").status_code == 400
    markup = preview(reception_client, nature="<b>x</b>", urgency="high")
    assert markup.status_code == 400 and b"<b>x</b>" not in markup.content
    nothing = reception_client.get("/callbacks/promise/", {"nature": "sales", "urgency": "low"})
    assert nothing.status_code == 200 and nothing.content == b""  # "Call back" not ticked


# --- the caller calls again ---------------------------------------------------------------


def test_the_call_form_says_the_caller_has_an_open_callback(reception_client):
    callback = CallbackFactory(call__caller=CallerFactory(phone="+12125550147"))
    CallbackFactory()  # someone else's
    response = reception_client.get("/callbacks/open-for/?phone=(212) 555-0147")
    assert row_ids(response, "data-open-callback") == [callback.pk]
    assert "already has an open callback" in response.content.decode()
    by_caller = reception_client.get(f"/callbacks/open-for/?caller={callback.caller_id}")
    assert row_ids(by_caller, "data-open-callback") == [callback.pk]
    assert row_ids(reception_client.get("/callbacks/open-for/?phone=21"), "data-x") == []


def test_attach_the_new_call_to_the_open_callback(reception_client):
    callback = CallbackFactory(call__caller=CallerFactory(phone="+12125550147"))
    response = reception_client.post(
        "/calls/new/",
        form_data(caller=callback.caller_id, attach_to=callback.pk, outcome="message_taken"),
    )
    assert response.status_code == 302
    callback.refresh_from_db()
    assert Callback.objects.count() == 1
    assert callback.later_calls.count() == 1
    assert callback.priority == Priority.HIGH
    page = reception_client.get(callback.get_absolute_url()).content.decode()
    assert "Called again" in page


def test_attach_to_a_closed_callback_keeps_the_form(reception_client, manager):
    callback = CallbackFactory(call__caller=CallerFactory(phone="+12125550147"))
    Callback.objects.filter(pk=callback.pk).update(
        status="cancelled", outcome="x", closed_at=timezone.now()
    )
    data = form_data(caller=callback.caller_id, attach_to=callback.pk)
    response = reception_client.post("/calls/new/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["attach_to"] == ["That callback has just been closed."]
    assert data["summary"].replace("'", "&#39;") in response.content.decode()
    assert callback.call.caller.calls.count() == 1  # the new call was not saved


def test_attach_and_a_new_promise_at_once_is_refused(reception_client):
    callback = CallbackFactory()
    response = reception_client.post(
        "/calls/new/",
        form_data(caller=callback.caller_id, attach_to=callback.pk, callback="on"),
    )
    assert response.status_code == 200
    assert "not both" in response.context["form"].errors["attach_to"][0]


# --- the queue ----------------------------------------------------------------------------


@pytest.fixture
def queue(receptionist):
    """One callback for each queue view, relative to now."""
    now = timezone.now()
    bob = receptionist_user(username="bob")
    return {
        "overdue": CallbackFactory(due_at=now - timedelta(minutes=40)),
        "at_risk": CallbackFactory(due_at=now + timedelta(minutes=10)),
        "later": CallbackFactory(due_at=now + timedelta(hours=3)),
        "mine": CallbackFactory(due_at=now + timedelta(hours=2), assigned_to=receptionist),
        "bobs": CallbackFactory(due_at=now + timedelta(hours=1), assigned_to=bob),
        "done": CallbackFactory(
            status="done", outcome="ok", closed_at=now, due_at=now - timedelta(hours=1)
        ),
    }


def test_queue_views(reception_client, queue):
    def ids(view):
        return row_ids(reception_client.get(f"/callbacks/?view={view}"), "data-callback-row")

    q = {name: cb.pk for name, cb in queue.items()}
    assert ids("team") == [q["overdue"], q["at_risk"], q["bobs"], q["mine"], q["later"]]
    assert ids("mine") == [q["mine"]]
    assert ids("unassigned") == [q["overdue"], q["at_risk"], q["later"]]
    assert ids("overdue") == [q["overdue"]]
    assert ids("at_risk") == [q["at_risk"]]
    assert reception_client.get("/callbacks/?view=nope").status_code == 400


def test_claimed_callbacks_are_mine_and_not_at_risk(reception_client, receptionist, queue):
    callback_claim(callback_id=queue["at_risk"].pk, user=receptionist)
    mine = row_ids(reception_client.get("/callbacks/?view=mine"), "data-callback-row")
    assert mine == [queue["at_risk"].pk, queue["mine"].pk]
    assert row_ids(reception_client.get("/callbacks/?view=at_risk"), "data-callback-row") == []


def test_queue_shows_lateness_counts_and_refreshes_as_a_fragment(reception_client, queue):
    response = reception_client.get("/callbacks/")
    content = response.content.decode()
    assert "40\xa0minutes late" in content
    assert 'hx-trigger="every 10s"' in content
    counts = {key: count for key, _, count in response.context["tabs"]}
    assert counts == {"mine": 1, "unassigned": 3, "team": 5, "overdue": 1, "at_risk": 1}
    # The queue's own page draws the navigation's counts with the page...
    assert "1 overdue" in content and "1 at risk" in content and "1 mine" in content
    # ...every other page fetches them once shown, then every 10 seconds.
    page = reception_client.get("/calls/").content.decode()
    assert 'hx-get="/callbacks/counts/" hx-trigger="load, every 10s"' in page
    assert "1 overdue" not in page
    nav = reception_client.get("/callbacks/counts/", HTTP_HX_REQUEST="true").content.decode()
    assert "1 overdue" in nav and "1 at risk" in nav and "1 mine" in nav
    assert 'hx-trigger="every 10s"' in nav and "<nav" not in nav
    fragment = reception_client.get("/callbacks/?view=team", headers={"HX-Request": "true"})
    assert b"<nav" not in fragment.content and b"callback-tabs" in fragment.content


def test_navigation_counts_need_a_session_and_the_queue(client, django_user_model):
    # A session that ended stops the polling (286) rather than leaving the page.
    assert client.get("/callbacks/counts/", HTTP_HX_REQUEST="true").status_code == 286
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get("/callbacks/counts/").status_code == 403


def test_navigation_counts_query_count_does_not_grow(reception_client, receptionist):
    CallbackFactory(assigned_to=receptionist)
    few = count_queries(reception_client, "/callbacks/counts/")
    for minutes in range(-20, 40, 3):
        CallbackFactory(due_at=timezone.now() + timedelta(minutes=minutes))
    assert count_queries(reception_client, "/callbacks/counts/") == few


def test_queue_keyset_pages(reception_client, settings):
    settings.CALLBACKS_PAGE_SIZE = 3
    now = timezone.now()
    made = [CallbackFactory(due_at=now + timedelta(minutes=m)).pk for m in range(40, 47)]
    first = reception_client.get("/callbacks/")
    seen = row_ids(first, "data-callback-row")
    cursor = next_cursor(first)
    while cursor:
        page = reception_client.get(
            f"/callbacks/?view=team&cursor={cursor}", headers={"HX-Request": "true"}
        )
        seen += row_ids(page, "data-callback-row")
        cursor = next_cursor(page)
    assert seen == made
    assert reception_client.get("/callbacks/?cursor=garbage").status_code == 400


@pytest.mark.parametrize("view", ["mine", "unassigned", "team", "overdue", "at_risk"])
def test_queue_query_count_does_not_grow(reception_client, receptionist, view):
    now = timezone.now()

    def add(n):
        for i in range(n):
            CallbackFactory(
                due_at=now + timedelta(minutes=(i % 3 - 1) * 20 + 5),
                assigned_to=receptionist if i % 2 else None,
            )

    add(2)
    few = count_queries(reception_client, f"/callbacks/?view={view}")
    add(25)
    assert count_queries(reception_client, f"/callbacks/?view={view}") == few
    assert few <= 9  # the rows come with their numbers to dial (NumbersOf)


def test_callback_page_query_count_does_not_grow(
    reception_client, receptionist, manager_client, settings
):
    callback = CallbackFactory()

    def one_round():
        callback.later_calls.add(CallFactory(caller=callback.caller))
        callback_claim(callback_id=callback.pk, user=receptionist)
        reception_client.post(
            f"/callbacks/{callback.pk}/attempt/",
            {
                "result": "no_answer",
                "next_due_at": local(timezone.now() + timedelta(hours=1)),
                "version": Callback.objects.get(pk=callback.pk).version,
            },
        )

    # After one round the trail names a person (one query for the people it names); more
    # rounds, more attempts and more changes add none.
    one_round()
    few = count_queries(reception_client, callback.get_absolute_url())
    for _ in range(5):
        one_round()
    assert callback.attempts.count() == 6
    assert count_queries(reception_client, callback.get_absolute_url()) == few
    assert few <= 15
    # A manager's page also draws the "Assign to" list: from the staff read once per
    # process (here kept for a minute, and read by the first page), not one more query.
    settings.STAFF_CHOICES_SECONDS = 60
    count_queries(manager_client, callback.get_absolute_url())
    assert count_queries(manager_client, callback.get_absolute_url()) == few


# --- claim, attempts, manager actions -----------------------------------------------------


def test_claim_from_the_queue_and_the_loser_is_told(reception_client, receptionist):
    callback = CallbackFactory()
    bob = receptionist_user(username="bob", first_name="Bob", last_name="Ray")
    callback_claim(callback_id=callback.pk, user=bob)
    response = reception_client.post(f"/callbacks/{callback.pk}/claim/", follow=True)
    assert "Bob Ray has already claimed this callback." in response.content.decode()
    callback.refresh_from_db()
    assert callback.claimed_by == bob


def test_attempt_form_errors_keep_what_was_typed(reception_client, receptionist):
    callback = callback_claim(callback_id=CallbackFactory().pk, user=receptionist)
    response = reception_client.post(
        f"/callbacks/{callback.pk}/attempt/",
        {"result": "reached", "note": "Spoke to her husband", "version": callback.version},
    )
    assert response.status_code == 400
    form = response.context["attempt_form"]
    assert "outcome" in form.errors
    assert "Spoke to her husband" in response.content.decode()
    response = reception_client.post(
        f"/callbacks/{callback.pk}/attempt/",
        {
            "result": "no_answer",
            "note": "Rang out",
            "next_due_at": local(timezone.now() - timedelta(hours=1)),
            "version": callback.version,
        },
    )
    assert response.status_code == 400
    assert response.context["attempt_form"].errors["next_due_at"] == [
        "That time has passed: pick a time later than now."
    ]
    assert callback.attempts.count() == 0


def test_a_stale_attempt_is_a_conflict_that_keeps_the_form(reception_client, receptionist):
    callback = CallbackFactory()
    stale = callback.version
    callback_claim(callback_id=callback.pk, user=receptionist)
    response = reception_client.post(
        f"/callbacks/{callback.pk}/attempt/",
        {"result": "reached", "outcome": "Booked Tuesday", "version": stale},
    )
    assert response.status_code == 409
    assert "Booked Tuesday" in response.content.decode()
    assert response.context["attempt_form"]["version"].value() == stale + 1
    assert callback.attempts.count() == 0


def test_manager_reassigns_and_cancels_with_a_reason(manager_client, receptionist):
    callback = CallbackFactory()
    response = manager_client.post(
        f"/callbacks/{callback.pk}/assign/", {"assignee": receptionist.pk}
    )
    assert response.status_code == 302
    callback.refresh_from_db()
    assert callback.assigned_to == receptionist
    response = manager_client.post(f"/callbacks/{callback.pk}/cancel/", {"reason": ""})
    assert response.status_code == 400
    assert "reason" in response.context["cancel_form"].errors
    manager_client.post(f"/callbacks/{callback.pk}/cancel/", {"reason": "Came in person"})
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.CANCELLED and callback.outcome == "Came in person"
    assert (
        manager_client.post(f"/callbacks/{callback.pk}/assign/", {"assignee": "99999"}).status_code
        == 400
    )


def test_output_is_escaped(reception_client):
    callback = CallbackFactory(
        call__caller=CallerFactory(name="<script>alert(1)</script>"), reason="<b>bold</b>"
    )
    for url in ("/callbacks/", callback.get_absolute_url()):
        content = reception_client.get(url).content.decode()
        assert "<script>alert(1)" not in content and "<b>bold</b>" not in content


def test_call_page_shows_its_callback(reception_client):
    callback = CallbackFactory()
    content = reception_client.get(callback.call.get_absolute_url()).content.decode()
    assert f'data-callback="{callback.pk}"' in content


def test_managers_edit_the_policy_in_the_admin_and_nothing_else(manager_client):
    from followups.models import CallbackPolicy

    assert manager_client.get("/admin/").status_code == 200
    assert manager_client.get("/admin/followups/callbackpolicy/").status_code == 200
    assert manager_client.get("/admin/calls/call/").status_code == 403
    assert manager_client.get("/admin/followups/callback/").status_code == 403
    policy = CallbackPolicy.objects.get(nature="urgent", urgency="high")
    response = manager_client.post(
        f"/admin/followups/callbackpolicy/{policy.pk}/change/",
        {
            "business": policy.business_id,
            "nature": "urgent",
            "urgency": "high",
            "due_within_minutes": "10",
        },
    )
    assert response.status_code == 302
    assert manager_client.get("/callbacks/promise/?nature=urgent&urgency=high").status_code == 200
    policy.refresh_from_db()
    assert policy.due_within_minutes == 10


def test_receptionists_have_no_admin(reception_client):
    response = reception_client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_call_form_helpers_query_counts_do_not_grow(reception_client):
    caller = CallerFactory(phone="+12125550147")
    CallbackFactory(call__caller=caller)
    url = "/callbacks/open-for/?phone=2125550147"
    few = count_queries(reception_client, url)
    for _ in range(6):
        CallbackFactory(call__caller=caller)
    assert count_queries(reception_client, url) == few <= 7
    assert count_queries(reception_client, "/callbacks/promise/?nature=sales&urgency=low") <= 8


def test_each_queue_row_has_the_numbers_to_dial_and_links_the_caller(reception_client):
    caller = CallerFactory(name="Evelyn Green", phone="+16178408318")
    CallerPhone.objects.create(caller=caller, number="+442079460000", label="work")
    callback = CallbackFactory(call__caller=caller, due_at=timezone.now() + timedelta(seconds=20))
    content = reception_client.get("/callbacks/?view=team").content.decode()
    row = content[content.index(f'data-callback-row="{callback.pk}"') :]
    assert f'href="{caller.get_absolute_url()}">Evelyn Green</a>' in row
    assert '<a href="tel:+16178408318" data-dial>(617) 840-8318</a>' in row
    assert '<a href="tel:+442079460000" data-dial>+44 20 7946 0000</a>' in row  # abroad
    assert "data-due-in>due now<" in row  # never "in 0 minutes"


def test_a_rescheduled_callback_still_shows_the_promise_was_missed(reception_client):
    from followups.services import callback_attempt

    callback = CallbackFactory(due_at=timezone.now() + timedelta(hours=1))
    Callback.objects.filter(pk=callback.pk).update(
        promised_due_at=timezone.now() - timedelta(minutes=10)
    )
    callback_attempt(
        callback_id=callback.pk,
        user=callback.created_by,
        expected_version=1,
        result="no_answer",
        next_due_at=timezone.now() + timedelta(hours=2),
    )
    callback.refresh_from_db()
    assert callback.missed_promise == callback.promised_due_at
    row = reception_client.get("/callbacks/?view=team").content.decode()
    assert "data-missed-promise>promised" in row and ": missed" in row
    page = reception_client.get(callback.get_absolute_url()).content.decode()
    assert "data-missed-promise>promised for" in page


def test_a_new_callback_remembers_the_time_promised(receptionist):
    from followups.services import callback_create

    call = CallFactory(taken_by=receptionist)
    due = timezone.now() + timedelta(hours=3)
    callback = callback_create(call=call, user=receptionist, due_at=due)
    assert callback.promised_due_at == due and callback.missed_promise is None


def test_the_queue_says_who_cannot_be_reminded_by_e_mail(reception_client, receptionist):
    silent = receptionist_user(username="silent", email="")
    reachable = receptionist_user(username="reachable", email="r@example.com")
    CallbackFactory(assigned_to=silent)
    CallbackFactory(assigned_to=reachable)
    content = reception_client.get("/callbacks/?view=team").content.decode()
    assert content.count("data-no-email") == 1
    assert ("data-you-have-no-email" in content) is (not receptionist.email)
