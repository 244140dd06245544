import re
from datetime import timedelta

import pytest
from django.utils import timezone

from callers.models import Caller
from calls.models import Call
from tests.factories import CallerFactory, CallFactory, receptionist_user
from tests.querycounts import count_queries, next_cursor, row_ids

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M:%S"


def form_data(**overrides):
    now = timezone.localtime()
    data = {
        "phone": "(212) 555-0147",
        "caller": "",
        "caller_name": "Ann Lee",
        "started_at": (now - timedelta(minutes=3)).strftime(FMT),
        "ended_at": "",
        "direction": "inbound",
        "nature": "appointment",
        "urgency": "normal",
        "mood": "calm",
        "summary": "Wants to move Thursday's appointment",
        "wants": "A slot next week",
        "promised": "Someone will confirm by 3 pm",
        "notes": "Prefers mornings",
        "outcome": "message_taken",
    }
    data.update(overrides)
    return data


def edit_data(**overrides):
    """The edit form as sent: like the call form, with the end time it shows."""
    ended = (timezone.localtime() - timedelta(minutes=1)).strftime(FMT)
    return form_data(**{"ended_at": ended, **overrides})


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/calls/", (302, 403, 200, 200)),
        ("/calls/new/", (302, 403, 200, 200)),
        ("/calls/{pk}/", (302, 403, 200, 200)),
        ("/calls/{pk}/edit/", (302, 403, 200, 200)),
    ],
)
def test_permission_table(url, expected, client, outsider_client, reception_client, manager_client):
    """Expected status for anonymous, a user with no role, a receptionist and a manager."""
    url = url.format(pk=CallFactory().pk)
    clients = (client, outsider_client, reception_client, manager_client)
    assert tuple(c.get(url).status_code for c in clients) == expected


def test_outsider_cannot_post_a_call(outsider_client):
    assert outsider_client.post("/calls/new/", form_data()).status_code == 403
    assert not Call.objects.exists()


def test_missing_call_is_a_404(reception_client):
    assert reception_client.get("/calls/999999/").status_code == 404


# --- log a call ---------------------------------------------------------------------------


def test_call_form_is_keyboard_first(reception_client):
    response = reception_client.get("/calls/new/")
    content = response.content.decode()
    assert response.status_code == 200
    assert (
        'name="phone"' in content and "autofocus" in content.split('name="phone"')[1].split(">")[0]
    )
    assert 'data-key="s"' in content  # one-key nature choice
    assert "data-ctrl-enter" in content
    assert "data-timer" in content
    assert response.context["form"].initial["started_at"] is not None
    for name in ("phone", "caller_name", "summary", "wants", "promised", "notes", "outcome"):
        assert f'for="id_{name}"' in content, name


def test_screen_pop_prefills_the_number(reception_client):
    response = reception_client.get("/calls/new/", {"phone": "+12125550147"})
    assert response.context["form"].initial["phone"] == "+12125550147"


def test_log_a_call_from_a_new_caller(reception_client, receptionist):
    response = reception_client.post("/calls/new/", form_data())
    assert response.status_code == 302
    assert response["Location"] == "/calls/new/"
    call = Call.objects.get()
    assert call.caller.name == "Ann Lee"
    assert call.phone.as_e164 == "+12125550147"
    assert call.caller.phones.get().number.as_e164 == "+12125550147"
    assert call.taken_by == receptionist
    assert call.ended_at >= call.started_at
    assert call.promised == "Someone will confirm by 3 pm"
    assert call.history.get().history_user == receptionist


def test_log_a_call_for_a_picked_caller(reception_client):
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    reception_client.post("/calls/new/", form_data(caller=str(ann.pk), phone="212.555.0147"))
    assert Call.objects.get().caller == ann
    assert Caller.objects.count() == 1


def test_known_number_without_a_pick_goes_to_that_caller(reception_client):
    ann = CallerFactory(name="Ann Lee", phone="+12125550147")
    reception_client.post("/calls/new/", form_data(caller_name=""))
    assert Call.objects.get().caller == ann


def test_known_number_with_another_name_creates_a_new_caller(reception_client):
    CallerFactory(name="Ann Lee", phone="+12125550147")
    reception_client.post("/calls/new/", form_data(caller_name="Bob Lee"))
    assert Call.objects.get().caller.name == "Bob Lee"
    assert Caller.objects.count() == 2


def test_new_number_without_a_name_asks_for_the_name(reception_client):
    response = reception_client.post("/calls/new/", form_data(caller_name=""))
    assert response.status_code == 200
    assert "caller_name" in response.context["form"].errors
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"phone": "555-01"}, "phone", "valid phone number"),
        ({"phone": ""}, "phone", "Type the number the caller is calling from"),
        ({"summary": ""}, "summary", "required"),
        ({"summary": "x" * 201}, "summary", "at most 200"),
        ({"notes": "x" * 10001}, "notes", "at most 10000"),
        ({"caller_name": "x" * 201}, "caller_name", "at most 200"),
        ({"nature": "gossip"}, "nature", "valid choice"),
        ({"started_at": "yesterday-ish"}, "started_at", "valid date"),
    ],
)
def test_bad_input_gives_a_field_error_and_keeps_what_was_typed(
    reception_client, overrides, field, message
):
    data = form_data(**overrides)
    response = reception_client.post("/calls/new/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    content = response.content.decode()
    for name in ("caller_name", "summary", "wants", "promised", "notes"):
        if name not in overrides:
            assert data[name].replace("'", "&#39;") in content, name  # escaped by Jinja2
    assert not Call.objects.exists()


def test_ended_before_started_is_a_field_error(reception_client):
    now = timezone.localtime()
    data = form_data(
        started_at=(now - timedelta(minutes=5)).strftime(FMT),
        ended_at=(now - timedelta(minutes=10)).strftime(FMT),
    )
    response = reception_client.post("/calls/new/", data)
    assert response.status_code == 200
    assert "ended_at" in response.context["form"].errors
    assert data["ended_at"] in response.content.decode()
    assert not Call.objects.exists()


def test_a_call_in_the_future_is_refused(reception_client):
    future = (timezone.localtime() + timedelta(hours=2)).strftime(FMT)
    response = reception_client.post("/calls/new/", form_data(started_at=future))
    assert "started_at" in response.context["form"].errors


def test_typed_text_is_escaped(reception_client):
    reception_client.post("/calls/new/", form_data(summary="<img src=x onerror=alert(1)>"))
    call = Call.objects.get()
    response = reception_client.get(f"/calls/{call.pk}/")
    assert b"<img src=x" not in response.content
    assert b"&lt;img src=x" in response.content


# --- the call log -------------------------------------------------------------------------


def test_call_log_newest_first(reception_client):
    now = timezone.now()
    old = CallFactory(started_at=now - timedelta(days=2))
    new = CallFactory(started_at=now - timedelta(minutes=5))
    response = reception_client.get("/calls/")
    assert [c.pk for c in response.context["page"].items] == [new.pk, old.pk]


@pytest.mark.parametrize(
    ("field", "match", "other"),
    [
        ("nature", "urgent", "sales"),
        ("urgency", "emergency", "low"),
        ("mood", "abusive", "calm"),
        ("outcome", "transferred", "resolved"),
        ("direction", "outbound", "inbound"),
    ],
)
def test_call_log_filters(reception_client, field, match, other):
    hit = CallFactory(**{field: match})
    CallFactory(**{field: other})
    response = reception_client.get("/calls/", {field: match})
    assert [c.pk for c in response.context["page"].items] == [hit.pk]


def test_call_log_filters_by_taker_and_caller(reception_client):
    jordan = receptionist_user(username="jordan")
    hit = CallFactory(taken_by=jordan)
    other = CallFactory()
    response = reception_client.get("/calls/", {"taken_by": jordan.pk})
    assert [c.pk for c in response.context["page"].items] == [hit.pk]
    response = reception_client.get("/calls/", {"caller": other.caller_id})
    assert [c.pk for c in response.context["page"].items] == [other.pk]


def test_call_log_date_range(reception_client):
    now = timezone.localtime()
    inside = CallFactory(started_at=now - timedelta(days=3))
    CallFactory(started_at=now - timedelta(days=10))
    CallFactory(started_at=now)
    day_from = (now - timedelta(days=4)).date().isoformat()
    day_to = (now - timedelta(days=2)).date().isoformat()
    response = reception_client.get("/calls/", {"date_from": day_from, "date_to": day_to})
    assert [c.pk for c in response.context["page"].items] == [inside.pk]


def test_call_log_text_search(reception_client):
    hit = CallFactory(summary="Rabies vaccination booster")
    CallFactory(summary="Invoice question")
    response = reception_client.get("/calls/", {"q": "vaccination"})
    assert [c.pk for c in response.context["page"].items] == [hit.pk]


def test_invalid_filter_is_reported_not_a_500(reception_client):
    response = reception_client.get("/calls/", {"nature": "gossip", "date_from": "not-a-date"})
    assert response.status_code == 200
    assert b"not valid" in response.content
    assert response.context["page"] is None


def test_call_log_htmx_returns_the_results_fragment(reception_client):
    CallFactory(summary="Fragment call")
    response = reception_client.get("/calls/", {"nature": "appointment"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content
    assert b'id="call-results"' in response.content
    assert b"Fragment call" in response.content


def test_call_log_keyset_pagination_walks_every_row_once(reception_client, settings):
    settings.CALLS_PAGE_SIZE = 3
    now = timezone.now()
    # Two calls at the same second: the id breaks the tie, none is skipped or repeated.
    calls = [CallFactory(started_at=now - timedelta(minutes=i // 2)) for i in range(8)]
    response = reception_client.get("/calls/")
    seen, cursor = row_ids(response, "data-call-row"), next_cursor(response)
    while cursor:
        response = reception_client.get("/calls/", {"cursor": cursor}, HTTP_HX_REQUEST="true")
        assert b"<table" not in response.content
        seen += row_ids(response, "data-call-row")
        cursor = next_cursor(response)
    assert sorted(seen) == sorted(c.pk for c in calls)
    assert len(seen) == len(set(seen))


def test_call_log_query_count_does_not_grow(reception_client):
    CallFactory.create_batch(3)
    few = count_queries(reception_client, "/calls/")
    CallFactory.create_batch(40)
    assert count_queries(reception_client, "/calls/") == few
    # A search reads the callers each word names first (one query per word).
    assert count_queries(reception_client, "/calls/?q=hello&nature=sales&mood=calm") <= few + 1
    assert few <= 9


# --- a call's page and its edit form ------------------------------------------------------


def test_call_page_shows_the_call_and_its_history(reception_client, receptionist):
    call = CallFactory(summary="Original summary")
    reception_client.post(
        f"/calls/{call.pk}/edit/",
        {**edit_data(summary="Changed summary"), "version": "1"},
    )
    response = reception_client.get(f"/calls/{call.pk}/")
    content = response.content.decode()
    assert "Changed summary" in content
    assert "Original summary" in content  # in the audit trail
    assert f"by {receptionist.get_full_name()}" in content  # named as everywhere else


def test_call_page_query_count_does_not_grow_with_history(reception_client):
    call = CallFactory()
    few = count_queries(reception_client, f"/calls/{call.pk}/")
    for i in range(25):
        call.summary = f"Edit {i}"
        call.save()
    assert count_queries(reception_client, f"/calls/{call.pk}/") == few
    assert few <= 11


def test_edit_saves_and_bumps_the_version(reception_client):
    call = CallFactory()
    response = reception_client.post(
        f"/calls/{call.pk}/edit/", {**edit_data(summary="Better summary"), "version": "1"}
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.summary == "Better summary"
    assert call.version == 2


def test_edit_conflict_keeps_what_was_typed_and_shows_the_saved_version(
    reception_client, manager_client
):
    call = CallFactory(summary="Original")
    # The manager saves first, from version 1.
    manager_client.post(
        f"/calls/{call.pk}/edit/", {**edit_data(summary="Manager's summary"), "version": "1"}
    )
    # The receptionist started from version 1 as well.
    response = reception_client.post(
        f"/calls/{call.pk}/edit/", {**edit_data(summary="Receptionist's summary"), "version": "1"}
    )
    assert response.status_code == 409
    content = response.content.decode()
    assert "Saved by someone else meanwhile" in content
    assert "Manager&#x27;s summary" in content  # what is saved now
    assert 'value="Receptionist&#39;s summary"' in content  # what this person typed
    assert response.context["version"] == 2
    call.refresh_from_db()
    assert call.summary == "Manager's summary"
    # Saving again, on top of the version now shown, goes through.
    response = reception_client.post(
        f"/calls/{call.pk}/edit/", {**edit_data(summary="Receptionist's summary"), "version": "2"}
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.summary == "Receptionist's summary"
    assert call.version == 3


def test_edit_without_a_version_is_a_400(reception_client):
    call = CallFactory()
    response = reception_client.post(f"/calls/{call.pk}/edit/", edit_data())
    assert response.status_code == 400


def test_edit_with_bad_input_keeps_what_was_typed(reception_client):
    call = CallFactory(summary="Original")
    response = reception_client.post(
        f"/calls/{call.pk}/edit/", {**edit_data(summary="", notes="Keep this note"), "version": "1"}
    )
    assert response.status_code == 200
    assert "summary" in response.context["form"].errors
    assert b"Keep this note" in response.content
    call.refresh_from_db()
    assert call.summary == "Original"


def test_a_picked_caller_that_was_merged_away_is_reported(reception_client):
    response = reception_client.post("/calls/new/", form_data(caller="999999"))
    assert response.status_code == 200
    assert b"no longer exists" in response.content
    assert b"Wants to move Thursday" in response.content
    assert not Call.objects.exists()


def test_a_form_sent_back_keeps_timing_the_same_call(reception_client):
    started = timezone.localtime() - timedelta(minutes=2)
    response = reception_client.post(
        "/calls/new/", form_data(summary="", started_at=started.strftime(FMT))
    )
    assert response.status_code == 200
    assert 118 <= response.context["elapsed"] <= 130
    assert 'data-elapsed="0"' in reception_client.get("/calls/new/").content.decode()


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(10.41, "10 s"), (130, "2 min 10 s"), (120, "2 min"), (3900, "1 h 5 min")],
)
def test_the_call_page_says_how_long_the_call_lasted_in_words(reception_client, seconds, words):
    started = timezone.now() - timedelta(hours=2)
    call = CallFactory(started_at=started, ended_at=started + timedelta(seconds=seconds))
    content = reception_client.get(f"/calls/{call.pk}/").content.decode()
    assert f'<span class="text-body-secondary" data-duration>({words})</span>' in content


def test_today_yesterday_and_this_week_in_the_call_log(reception_client):
    now = timezone.localtime()
    started = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0, second=1))
    today = CallFactory(summary="From today", started_at=started, ended_at=started)
    CallFactory(summary="Long ago", started_at=now - timedelta(days=30))
    response = reception_client.get("/calls/", {"nature": "appointment"})
    links = re.findall(r'href="\?([^"]+)" data-date-shortcut', response.content.decode())
    assert len(links) == 3
    first = dict(p.split("=") for p in links[0].replace("&amp;", "&").split("&"))
    assert first["date_from"] == first["date_to"] == now.date().isoformat()
    assert first["nature"] == "appointment"  # the other filters stay
    shown = reception_client.get("/calls/?" + links[0].replace("&amp;", "&"))
    assert row_ids(shown, "data-call-row") == [today.pk]
    assert 'aria-current="true">Today</a>' in shown.content.decode()


def test_a_call_without_escalation_or_callback_does_not_ask_for_their_lists(
    reception_client, receptionist
):
    from tests.factories import CallbackFactory

    plain = CallFactory(taken_by=receptionist)
    bare = count_queries(reception_client, f"/calls/{plain.pk}/")
    promised = CallbackFactory(call=CallFactory(taken_by=receptionist)).call
    response = reception_client.get(f"/calls/{promised.pk}/")
    assert len(response.context["callbacks"]) == 1
    assert count_queries(reception_client, f"/calls/{promised.pk}/") == bare + 1


# --- one rule for a number: the lookup panel and saving --------------------------------


def test_a_number_in_other_digits_is_found_by_the_panel_and_saved_to_that_caller(
    reception_client,
):
    caller = CallerFactory(name="Ann Lee", phone="+12125550147")
    arabic = "\u0662\u0661\u0662 \u0665\u0665\u0665 \u0660\u0661\u0664\u0667"
    panel = reception_client.get("/callers/lookup/", {"phone": arabic})
    assert panel.status_code == 200
    body = panel.content.decode()
    assert "Ann Lee" in body and "New caller" not in body
    assert f'id="id_caller" value="{caller.pk}"' in body
    response = reception_client.post("/calls/new/", form_data(phone=arabic, caller_name=""))
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.caller == caller and call.phone.as_e164 == "+12125550147"


@pytest.mark.parametrize("typed", ["212-555-0147 x5", "+1 212 555 0147 ext 5"])
def test_a_number_with_an_extension_is_no_number_in_the_panel_nor_on_save(reception_client, typed):
    CallerFactory(name="Ann Lee", phone="+12125550147")
    panel = reception_client.get("/callers/lookup/", {"phone": typed}).content.decode()
    assert "is not a phone number" in panel
    # Nobody is picked for it (the hidden caller field the panel sets is left empty).
    assert 'id="id_caller" value=""' in panel
    response = reception_client.post("/calls/new/", form_data(phone=typed))
    assert response.status_code == 200
    assert "valid phone number" in response.content.decode()
    assert typed in response.content.decode()  # what was typed is kept
    assert not Call.objects.exists()


@pytest.mark.parametrize("url", ["/calls/", "/escalations/resolved/"])
def test_a_to_before_the_from_is_a_message_on_to(manager_client, url):
    response = manager_client.get(url, {"date_from": "2026-11-24", "date_to": "2026-01-01"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "To is before From" in body
    assert 'value="2026-01-01"' in body and 'value="2026-11-24"' in body  # kept as typed
    same_day = manager_client.get(url, {"date_from": "2026-11-24", "date_to": "2026-11-24"})
    assert "To is before From" not in same_day.content.decode()
