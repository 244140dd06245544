"""A call for one business of an answering service: its callers only, a new caller its own,
an inactive business refused (calls.services.call_log with `business`)."""

from datetime import time

import pytest
from django.core.exceptions import ValidationError

from callers.models import Business, active_businesses, business_dialed
from callers.services import business_save, business_set_active
from calls.services import BUSINESS_INACTIVE, BUSINESS_NEEDED, call_log
from tests.calls.test_services import fields
from tests.factories import CallerFactory, manager_user, receptionist_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(db):
    maya = manager_user(username="maya-c")
    first = Business.objects.default()
    harbor = business_save(user=maya, name="Harbor Vet", numbers=["(212) 555-0100"])
    return first, harbor


def test_the_same_number_is_two_callers_at_two_businesses(two):
    first, harbor = two
    rita = receptionist_user(username="rita-c")
    ann_here = CallerFactory(name="Ann Lee", phone="+12125550147", business=first)
    ann_there = CallerFactory(name="Ann Lee", phone="+12125550147", business=harbor)
    call = call_log(user=rita, phone="+12125550147", business=harbor, **fields())
    assert call.caller == ann_there and call.business == harbor
    call = call_log(user=rita, phone="+12125550147", business=first, **fields())
    assert call.caller == ann_here and call.business == first


def test_a_new_caller_and_the_unknown_caller_are_the_businesss(two):
    _, harbor = two
    rita = receptionist_user(username="rita-d")
    CallerFactory(name="Bo Park", phone="+12125550148")  # the other business's
    call = call_log(
        user=rita, phone="+12125550148", caller_name="Bo Park", business=harbor, **fields()
    )
    assert call.caller.business == harbor and call.business == harbor
    call = call_log(user=rita, number_withheld=True, business=harbor, **fields())
    assert call.caller.unknown and call.caller.business == harbor


def test_another_businesss_caller_cannot_be_picked(two):
    first, harbor = two
    rita = receptionist_user(username="rita-e")
    theirs = CallerFactory(name="Cy", phone="+12125550149", business=first)
    with pytest.raises(ValidationError) as refused:
        call_log(user=rita, caller=theirs, phone="+12125550149", business=harbor, **fields())
    assert refused.value.message_dict["caller"] == [
        "That caller is not one of Harbor Vet's: pick one of theirs."
    ]


def test_an_inactive_business_takes_no_calls(two):
    _, harbor = two
    business_set_active(business=harbor, active=False, user=manager_user(username="maya-d"))
    with pytest.raises(ValidationError) as refused:
        call_log(
            user=receptionist_user(username="rita-f"),
            phone="+12125550150",
            caller_name="Di",
            business=harbor,
            **fields(),
        )
    assert refused.value.message_dict["business"] == [BUSINESS_INACTIVE]


@pytest.mark.parametrize(
    "dialed", ["(212) 555-0100", "212.555.0100", "+1 212 555 0100", "12125550100", "2125550100"]
)
def test_the_number_dialed_in_any_common_format_finds_its_business(two, dialed):
    _, harbor = two
    assert business_dialed(dialed, active_businesses()) == harbor


@pytest.mark.parametrize("dialed", ["", "555", "(646) 555-0199", "<b>x</b>", "\\x00"])
def test_a_number_no_business_has_finds_none(two, dialed):
    assert business_dialed(dialed, active_businesses()) is None


def test_the_active_businesses_are_read_again_once_one_changes(two):
    first, harbor = two
    assert [b.name for b in active_businesses()] == sorted([first.name, "Harbor Vet"])
    business_set_active(business=harbor, active=False, user=manager_user(username="maya-e"))
    assert [b.name for b in active_businesses()] == [first.name]


def test_the_call_form_keeps_the_active_businesses_a_while(
    reception_client, settings, two, django_capture_on_commit_callbacks
):
    from callers.models import BusinessContact, forget_active_businesses
    from callers.oncall_shown import forget_on_call
    from callers.services import on_call_save
    from tests.querycounts import count_queries

    _, harbor = two
    maya = manager_user(username="maya-k")
    hale = BusinessContact.objects.create(business=harbor, name="Dr Hale")
    slot = {"weekday": 0, "starts": time(8), "ends": time(18), "contacts": [hale.pk]}
    on_call_save(user=maya, business=harbor, weekly=[slot])
    settings.BUSINESSES_SECONDS = 60
    forget_active_businesses()
    forget_on_call()
    first = count_queries(reception_client, "/calls/new/")
    kept = count_queries(reception_client, "/calls/new/")
    # The businesses, their hours, numbers and closed days; who is on call (shifts, places).
    assert kept == first - 6
    # A schedule saved: who is on call is read again on the next form (in this process;
    # the others within BUSINESSES_SECONDS), the businesses stay kept.
    with django_capture_on_commit_callbacks(execute=True):
        on_call_save(user=maya, business=harbor, weekly=[{**slot, "weekday": 1}])
    assert count_queries(reception_client, "/calls/new/") == kept + 2
    assert count_queries(reception_client, "/calls/new/") == kept


# --- the call form ------------------------------------------------------------------------

ALL_DAY = [(day, time(0), time.max) for day in range(7)]


@pytest.fixture
def harbor(two):
    _, harbor = two
    return business_save(
        user=manager_user(username="maya-f"),
        business=harbor,
        greeting="Thank you for calling Harbor Vet, this is {receptionist}, how may I help?",
        instructions="Never promise a <b>same-day</b> appointment.",
        hours=ALL_DAY,
    )


def test_one_business_shows_no_picker(reception_client):
    page = reception_client.get("/calls/new/").content.decode()
    assert 'name="business"' not in page and "data-business-panel" not in page


def test_the_number_dialed_picks_the_business_and_shows_its_greeting(
    reception_client, receptionist, harbor
):
    response = reception_client.get(
        "/calls/new/", {"dialed": "212.555.0100", "phone": "646 555 0199"}
    )
    page = response.content.decode()
    assert f'<option value="{harbor.pk}" selected>Harbor Vet</option>' in page
    panel = page[page.index(f'data-business-panel="{harbor.pk}"') :]
    greeting = f"this is {receptionist.first_name}, how may I help?"
    assert receptionist.first_name and greeting in panel[: panel.index("</section>")]
    assert "Never promise a &lt;b&gt;same-day&lt;/b&gt; appointment." in page
    assert "data-open-now>Open" in page
    assert 'value="646 555 0199"' in page


def test_a_number_no_business_has_asks_for_the_business(reception_client, harbor):
    response = reception_client.get("/calls/new/", {"dialed": "<b>999</b>"}, follow=True)
    page = response.content.decode()
    assert "No business answers on &lt;b&gt;999&lt;/b&gt;: pick the business" in page
    assert "selected>Harbor Vet" not in page
    picker = page[page.index("<select") : page.index("</select>")]
    assert 'name="business"' in picker and "autofocus" in picker


def test_a_call_is_saved_for_the_business_picked_and_refused_without_one(reception_client, harbor):
    from calls.models import Call
    from tests.calls.test_views import form_data

    response = reception_client.post("/calls/new/", form_data(caller_name="Zed <i>Q</i>"))
    page = response.content.decode()
    assert "Which business is this call for? Pick it." in page
    assert 'value="Zed &lt;i&gt;Q&lt;/i&gt;"' in page
    assert not Call.objects.exists()
    response = reception_client.post("/calls/new/", form_data(business=str(harbor.pk)))
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.business == harbor and call.caller.business == harbor


def test_the_lookup_and_the_open_callback_notice_show_the_businesss_callers_only(
    reception_client, harbor
):
    from tests.factories import CallbackFactory

    first = Business.objects.default()
    here = CallerFactory(name="Ann Here", phone="+12125550147", business=first)
    there = CallerFactory(name="Ann There", phone="+12125550147", business=harbor)
    CallbackFactory(call__caller=here, caller=here)
    for business, shown in ((harbor, there), (first, here)):
        ask = {"phone": "212 555 0147", "business": business.pk}
        lookup = reception_client.get("/callers/lookup/", ask)
        assert [c.pk for c in lookup.context["callers"]] == [shown.pk]
        assert lookup.context["chosen"] == shown
        notice = reception_client.get("/callbacks/open-for/", ask).content.decode()
        assert ("already has an open callback" in notice) is (shown == here)
    # Without a business (one active, or an older page): every caller the person may see.
    lookup = reception_client.get("/callers/lookup/", {"phone": "212 555 0147"})
    assert {c.pk for c in lookup.context["callers"]} == {here.pk, there.pk}


def test_the_promise_is_said_on_the_callers_business_clock(two, reception_client):
    import zoneinfo
    from datetime import UTC, datetime, timedelta

    from django.utils import timezone

    from calls.services import call_log
    from followups.services import promise_words

    _, harbor = two
    tokyo = business_save(
        user=manager_user(username="maya-g"), business=harbor, time_zone="Asia/Tokyo"
    )
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    due = now + timedelta(hours=5, minutes=15)  # 15:15 in Tokyo, 06:15 UTC
    assert promise_words(due, now, tokyo.zone) == "We'll call you back by 3:15 pm."
    assert promise_words(due, now, zoneinfo.ZoneInfo("UTC")) == "We'll call you back by 6:15 am."
    # A callback promised on a call for that business, with no words typed.
    call = call_log(
        user=receptionist_user(username="rita-h"),
        phone="+12125550151",
        caller_name="Kai",
        business=tokyo,
        callback=True,
        callback_due_at=timezone.now() + timedelta(hours=2),
        **fields(outcome="callback_scheduled"),
    )
    due_there = timezone.localtime(call.callbacks.get().due_at, tokyo.zone)
    # Two hours from now may be tomorrow in Tokyo (from 13:00 UTC).
    day = "" if due_there.date() == timezone.localdate(timezone=tokyo.zone) else "tomorrow "
    assert call.callbacks.get().promise.startswith(
        f"We'll call you back {day}by {due_there.hour % 12 or 12}:{due_there.minute:02d}"
    )
    # The call form's preview says it the same way for the business picked.
    typed = (timezone.localtime() + timedelta(hours=3)).replace(second=0, microsecond=0)
    ask = {
        "nature": "urgent",
        "urgency": "high",
        "callback": "on",
        "callback_due_at": typed.strftime("%Y-%m-%d %H:%M"),
        "callback_due_edited": "true",
    }
    for business, zone in ((tokyo, tokyo.zone), (None, timezone.get_current_timezone())):
        asked = {**ask, "business": business.pk} if business else ask
        preview = reception_client.get("/callbacks/promise/", asked).content.decode()
        words = promise_words(typed, timezone.now(), zone).replace("'", "&#x27;")
        assert words in preview, (business, words)


def test_an_inactive_businesss_caller_is_nobody_to_log_for(two):
    first, harbor = two
    rita = receptionist_user(username="rita-i")
    theirs = CallerFactory(name="Old Client", phone="+12125550160", business=harbor)
    business_set_active(business=harbor, active=False, user=manager_user(username="maya-i"))
    with pytest.raises(ValidationError):
        call_log(user=rita, caller=theirs, **fields())
    call = call_log(user=rita, phone="+12125550160", caller_name="New Person", **fields())
    assert call.business == first and call.caller.business == first and call.caller != theirs


def test_the_promise_preview_of_someone_limited_to_one_business_is_on_its_clock(two, client):
    from datetime import timedelta

    from django.utils import timezone

    from followups.services import promise_words
    from receptionist.models import StaffBusiness

    _, harbor = two
    tokyo = business_save(
        user=manager_user(username="maya-j"), business=harbor, time_zone="Asia/Tokyo"
    )
    kim = receptionist_user(username="kim")
    StaffBusiness.objects.create(user=kim, business=tokyo)
    client.force_login(kim)
    typed = (timezone.localtime() + timedelta(hours=3)).replace(second=0, microsecond=0)
    preview = client.get(
        "/callbacks/promise/",
        {
            "nature": "urgent",
            "urgency": "high",
            "callback": "on",
            "callback_due_at": typed.strftime("%Y-%m-%d %H:%M"),
            "callback_due_edited": "true",
        },
    ).content.decode()
    words = promise_words(typed, timezone.now(), tokyo.zone).replace("'", "&#x27;")
    assert words in preview


def test_a_limited_managers_queue_shows_and_counts_their_businesses_only(two, monkeypatch):
    from calls.services import escalation_raise
    from calls.views import escalations as views
    from receptionist.models import StaffBusiness
    from tests.conftest import _client_for
    from tests.factories import CallFactory

    first, harbor = two
    monkeypatch.setattr(views, "QUEUE_SIZE", 1)
    for business, count in ((first, 2), (harbor, 3)):
        for n in range(count):
            call = CallFactory(caller=CallerFactory(business=business), summary=f"Loud {n}")
            escalation_raise(call=call, user=call.taken_by, reason="Loud", playbook_steps=[])
    hal = manager_user(username="hal-q")
    StaffBusiness.objects.create(user=hal, business=first)
    response = _client_for(hal).get("/escalations/")
    assert "The 1 most urgent of 2 waiting" in response.content.decode()
    assert [e.call.caller.business_id for e in response.context["escalations"]] == [first.pk]


def test_a_number_of_a_business_not_yours_is_said_and_your_inactive_one_is_named_so(two):
    from receptionist.models import StaffBusiness
    from tests.conftest import _client_for

    first, _ = two
    kim = receptionist_user(username="kim-d")
    StaffBusiness.objects.create(user=kim, business=first)
    response = _client_for(kim).get("/calls/new/", {"dialed": "(212) 555-0100"}, follow=True)
    page = response.content.decode()
    assert "(212) 555-0100 rings for a business you do not answer for" in page
    assert "Harbor Vet" not in page  # nothing of the business they do not answer for
    business_set_active(business=first, active=False, user=manager_user(username="maya-k"))
    with pytest.raises(ValidationError) as refused:
        call_log(user=kim, phone="+12125550170", caller_name="Lu", **fields())
    assert refused.value.message_dict["business"] == [BUSINESS_INACTIVE]


def test_the_call_and_caller_pages_name_the_business_when_there_are_several(db):
    from tests.conftest import _client_for
    from tests.factories import CallFactory

    rita = receptionist_user(username="rita-page")
    client = _client_for(rita)
    call = CallFactory(summary="Asked the hours")
    # One business: not named anywhere.
    for url in (f"/calls/{call.pk}/", f"/callers/{call.caller_id}/"):
        assert "data-business" not in client.get(url).content.decode(), url
    harbor = business_save(user=manager_user(username="maya-page"), name="Harbor Vet")
    theirs = CallFactory(caller=CallerFactory(business=harbor), summary="Booked a visit")
    for url in (f"/calls/{theirs.pk}/", f"/callers/{theirs.caller_id}/"):
        page = client.get(url).content.decode()
        assert "data-business>Harbor Vet<" in page, url


def test_the_lists_name_each_rows_business_when_there_are_several(db):
    from calls.services import escalation_raise
    from tests.conftest import _client_for
    from tests.factories import CallbackFactory, CallFactory

    maya = manager_user(username="maya-rows")
    client = _client_for(maya)
    call = CallFactory(summary="Asked the hours", mood="angry")
    CallbackFactory(call=call, caller=call.caller)
    escalation_raise(call=call, user=maya, reason="Shouted", playbook_steps=[])
    pages = ("/calls/", "/callbacks/", "/escalations/")
    for url in pages:  # one business: no business named
        assert "data-row-business" not in client.get(url).content.decode(), url
        assert 'scope="col">Business<' not in client.get(url).content.decode()
    business_save(user=maya, name="Harbor Vet")
    assert '<td class="small">Front desk</td>' in client.get("/calls/").content.decode()
    for url in pages[1:]:
        assert "for Front desk" in client.get(url).content.decode(), url


def test_the_promise_preview_warns_of_a_due_time_when_the_business_is_closed(two, reception_client):
    from datetime import datetime, timedelta

    from django.utils import timezone

    assert len(two) == 2  # two active businesses: the preview is for the one picked
    maya = manager_user(username="maya-closed")
    tokyo = business_save(
        user=maya,
        name="Tokyo Dental",
        time_zone="Asia/Tokyo",
        hours=[(day, time(9), time(17)) for day in range(5)],
    )
    # Next week's Wednesday 03:00 in Tokyo: closed; 10:00: open.
    today = timezone.localtime(timezone.now(), tokyo.zone).date()
    wednesday = today + timedelta(days=7 + (2 - today.weekday()) % 7)
    closed = datetime(wednesday.year, wednesday.month, wednesday.day, 3, tzinfo=tokyo.zone)
    opened = closed.replace(hour=10)
    for due, warned in ((closed, True), (opened, False)):
        asked = {
            "nature": "urgent",
            "urgency": "high",
            "callback": "on",
            "business": tokyo.pk,
            "callback_due_edited": "true",
            "callback_due_at": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"),
        }
        preview = reception_client.get("/callbacks/promise/", asked).content.decode()
        assert ("data-due-closed" in preview) is warned, due
        if warned:
            assert "Tokyo Dental is closed then (Wed 03:00 on its clock, Asia/Tokyo)" in preview


def test_with_several_active_a_new_or_unknown_caller_needs_the_business(two):
    """A new caller, or nobody known, is filed under the business the call is for: with
    several active, call_log asks which rather than filing it under the first."""
    _, harbor = two
    rita = receptionist_user(username="rita-n")
    for sent in (
        {"phone": "+12125550150", "caller_name": "New Person"},
        {"number_withheld": True},
    ):
        with pytest.raises(ValidationError) as refused:
            call_log(user=rita, **sent, **fields())
        assert refused.value.message_dict["business"] == [BUSINESS_NEEDED]
    # A caller known by the number is their own business's, as before.
    CallerFactory(name="Ann Lee", phone="+12125550151", business=harbor)
    assert call_log(user=rita, phone="+12125550151", **fields()).business == harbor
