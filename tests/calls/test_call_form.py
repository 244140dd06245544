"""The call form drawn by hand: labels, errors and aria attributes, where the cursor goes
after a refused save, times on the 24-hour clock, the timer, one notice after a save."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call
from tests.calls.test_views import FMT, form_data
from tests.factories import CallerFactory, CallFactory
from tests.querycounts import count_queries

pytestmark = pytest.mark.django_db


def tag(content: str, name: str) -> str:
    """The opening tag of the form field called `name`."""
    found = re.search(rf'<(input|select|textarea)[^>]* name="{name}"[^>]*>', content)
    assert found, name
    return found.group(0)


def test_every_field_has_its_label_and_the_number_takes_the_cursor(reception_client):
    content = reception_client.get("/calls/new/").content.decode()
    for name in ("phone", "caller_name", "summary", "outcome", "wants", "promised", "notes"):
        assert f'for="id_{name}"' in content, name
        assert f'id="id_{name}"' in tag(content, name)
    assert "autofocus" in tag(content, "phone")
    assert 'class="form-control"' in tag(content, "summary") and " required" in tag(
        content, "summary"
    )
    assert 'class="form-select"' in tag(content, "outcome")
    for legend in ("Nature", "Urgency", "Mood", "Direction"):
        assert f'<legend class="form-label">{legend}</legend>' in content
    # The help text is tied to its field.
    assert 'aria-describedby="id_ended_at_helptext"' in tag(content, "ended_at")
    assert 'id="id_ended_at_helptext"' in content
    assert "crispy" not in content and "data-not-saved" not in content


def test_a_refused_save_says_what_stops_it_and_puts_the_cursor_there(reception_client):
    response = reception_client.post("/calls/new/", form_data(summary=""))
    assert response.status_code == 200
    content = response.content.decode()
    summary = tag(content, "summary")
    assert 'aria-invalid="true"' in summary and 'aria-describedby="id_summary_error"' in summary
    assert "autofocus" in summary
    assert "autofocus" not in tag(content, "phone")
    assert '<div class="invalid-feedback d-block" id="id_summary_error">' in content
    # Said once more at the top, with a link to the field.
    assert re.search(r'data-not-saved>.*href="#id_summary"', content, re.S)


def test_a_radio_group_with_an_error_takes_the_cursor_on_its_first_button(reception_client):
    content = reception_client.post("/calls/new/", form_data(nature="gossip")).content.decode()
    first = re.search(r'<input type="radio"[^>]*id="id_nature_0"[^>]*>', content).group(0)
    assert "autofocus" in first and 'aria-invalid="true"' in first
    assert 'id="fieldset_nature" aria-describedby="id_nature_error"' in content


def test_a_service_refusal_on_a_field_puts_the_cursor_there_too(reception_client):
    later = (timezone.localtime() - timedelta(minutes=10)).strftime(FMT)
    content = reception_client.post(
        "/calls/new/", form_data(ended_at=later, started_at=timezone.localtime().strftime(FMT))
    ).content.decode()
    assert "autofocus" in tag(content, "ended_at")
    assert "autofocus" not in tag(content, "phone")


def test_times_are_shown_on_the_24_hour_clock_and_read_in_either_form(reception_client):
    content = reception_client.get("/calls/new/").content.decode()
    started = tag(content, "started_at")
    assert 'type="text"' in started
    shown = re.search(r'value="([^"]+)"', started).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d [0-2]\d:[0-5]\d:[0-5]\d", shown), shown
    assert "AM" not in started and "PM" not in started
    assert 'placeholder="YYYY-MM-DD hh:mm:ss"' in tag(content, "ended_at")
    # The callback's due time to the minute.
    assert 'placeholder="YYYY-MM-DD hh:mm"' in tag(content, "callback_due_at")
    afternoon = (timezone.localtime() - timedelta(minutes=5)).replace(second=7, microsecond=0)
    for typed in (afternoon.strftime("%Y-%m-%d %H:%M:%S"), afternoon.strftime(FMT)):
        Call.objects.all().delete()
        assert reception_client.post("/calls/new/", form_data(started_at=typed)).status_code == 302
        assert timezone.localtime(Call.objects.get().started_at) == afternoon


def test_the_timer_keeps_the_start_when_the_start_time_typed_cannot_be_read(reception_client):
    opened = timezone.localtime() - timedelta(minutes=3, seconds=5)
    response = reception_client.post(
        "/calls/new/",
        form_data(started_at="half past ten", opened_at=opened.strftime("%Y-%m-%d %H:%M:%S")),
    )
    assert 183 <= response.context["elapsed"] <= 190
    # Drawn as it is, not from 0:00 until the script's first tick.
    assert re.search(r"data-timer [^>]*>3:0\d</output>", response.content.decode())
    assert 'name="opened_at"' in response.content.decode()


def test_an_abusive_call_ends_with_one_notice(reception_client):
    response = reception_client.post(
        "/calls/new/",
        form_data(mood="abusive", outcome="terminated_abusive", escalate="on"),
        follow=True,
    )
    notices = re.findall(
        r'<div class="alert alert-(\w+)" role="status">(.*?)</div>', response.content.decode(), re.S
    )
    assert len(notices) == 1, notices
    level, text = notices[0]
    assert level == "warning"
    assert "Call from Ann Lee logged" in text and "A manager has been flagged" in text
    assert "Take a minute away from the phone" in text


def test_the_form_query_count_is_pinned_with_and_without_errors(reception_client, settings):
    # The active businesses are kept by the process as in production (read once, here).
    settings.BUSINESSES_SECONDS = 60
    caller = CallerFactory(phone="+12125550147")
    CallFactory(caller=caller)
    count_queries(reception_client, "/calls/new/")
    shown = count_queries(reception_client, "/calls/new/")

    def refused() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = reception_client.post("/calls/new/", form_data(summary=""))
        assert response.status_code == 200
        return len(queries.captured_queries)

    sent_back = refused()
    for _ in range(5):
        CallFactory(caller=caller)
    assert count_queries(reception_client, "/calls/new/") == shown
    assert refused() == sent_back
    assert shown <= 5 and sent_back <= 5
