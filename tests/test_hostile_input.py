"""What a hostile or clumsy request gets: a 400 with a reason or a message on the field,
never a server error, and never its own markup drawn back."""

import base64
import json

import pytest

from calls.models import Call
from tests.calls.test_views import edit_data, form_data
from tests.factories import CallbackFactory, CallerFactory, CallFactory

pytestmark = pytest.mark.django_db

LISTS = ["/calls/", "/callers/", "/callbacks/", "/callers/{caller}/", "/escalations/resolved/"]


def cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.fixture
def some(db):
    caller = CallerFactory(name="Ann Lee", phone="+12125550147")
    for _ in range(3):
        CallFactory(caller=caller)
    CallbackFactory(call__caller=caller)
    return caller


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "forged",
    [
        cursor(None, 1),
        cursor("2026-01-01T00:00:00+00:00", None),
        cursor("2026-01-01T00:00:00+00:00", 2**70),
        cursor("Ann\x00", 1),
        cursor({"a": 1}, 1),
        cursor("2026-01-01T00:00:00+00:00", True),
        "abc\x00def",
        "!!!",
        cursor(["x"], 1),
        base64.urlsafe_b64encode(("[" * 1000 + "]" * 1000).encode()).decode().rstrip("="),
        cursor("\ud800", 1),
        "A" * 5000,
    ],
)
def test_forged_cursors_are_a_400_with_a_reason(manager_client, some, url, forged):
    response = manager_client.get(url.format(caller=some.pk), {"cursor": forged})
    assert response.status_code == 400
    assert b"not valid" in response.content or b"NUL character" in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/calls/?q=a%00b",
        "/callers/?q=%00",
        "/callers/lookup/?caller_name=An%00n",
        "/callers/lookup/?phone=212%00555",
        "/callbacks/?view=team%00",
        "/callbacks/open-for/?phone=%00",
        "/callbacks/promise/?nature=sales%00&urgency=low",
        "/calls/new/?phone=%00",
        "/calls/?nature%00=sales",
        "/calls/%00/",
        "/callers/%00/",
        "/escalations/%00/",
    ],
)
def test_a_nul_anywhere_in_the_address_is_a_400(manager_client, some, url):
    response = manager_client.get(url)
    assert response.status_code == 400
    assert b"NUL character" in response.content


def test_markup_in_the_queue_view_is_not_drawn(manager_client):
    markup = '<meta http-equiv="refresh" content="0;url=//evil"><form><input type=password>'
    response = manager_client.get("/callbacks/", {"view": markup})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    content = response.content.decode()
    assert "<meta http-equiv" not in content and "<input type=password>" not in content
    assert "&lt;meta http-equiv=" in content  # said, escaped


@pytest.mark.parametrize(
    "params",
    [
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"date_to": "1899-01-01"},
    ],
)
def test_absurd_dates_in_the_call_log_are_a_message(manager_client, some, params):
    response = manager_client.get("/calls/", params)
    assert response.status_code == 200
    assert "Pick a date between 2000 and 2099." in response.content.decode()


@pytest.mark.parametrize("value", ["²", "-1", "1e3", "99999999999999999999999", "<b>"])
def test_ids_that_are_not_ids_are_refused(manager_client, some, value):
    assert manager_client.get("/callbacks/open-for/", {"caller": value}).status_code == 400
    assert manager_client.get("/callbacks/open-for/", {"attach_to": value}).status_code == 400
    merge = manager_client.get(f"/callers/{some.pk}/merge/", {"into": value})
    assert merge.status_code == 400
    assert manager_client.get("/callers/lookup/", {"caller": value}).status_code == 400
    assert manager_client.get("/calls/", {"caller": value}).status_code == 200  # a message


@pytest.mark.parametrize("version", ["", "²", "-3", "99999999999999999999", "1.5"])
def test_an_edit_without_a_readable_version_is_a_400(reception_client, version):
    call = CallFactory()
    response = reception_client.post(f"/calls/{call.pk}/edit/", {**edit_data(), "version": version})
    assert response.status_code == 400
    assert b"did not say which version" in response.content


@pytest.mark.parametrize("attach_to", ["99999999999999999999", "0", "x"])
def test_a_forged_attach_to_is_a_field_message(reception_client, attach_to):
    response = reception_client.post("/calls/new/", form_data(attach_to=attach_to))
    assert response.status_code == 200
    assert "attach_to" in response.context["form"].errors
    assert not Call.objects.exists()


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_a_username_longer_than_any_is_a_message_not_a_server_error(client, url):
    response = client.post(url, {"username": "u" * 256, "password": "pw"})
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()


@pytest.mark.parametrize("url", ["/healthz", "/accounts/login/", "/calls/"])
def test_a_session_cookie_no_server_made_is_no_session(client, url):
    client.cookies["sessionid"] = "abcdefgh\x00ijk"
    response = client.get(url)
    assert response.status_code in (200, 302)


def test_a_forged_hidden_field_on_the_call_form_says_so(reception_client):
    response = reception_client.post("/calls/new/", form_data(submission_key="not-a-uuid"))
    assert response.status_code == 200
    assert 'data-hidden-error="submission_key"' in response.content.decode()
    assert not Call.objects.exists()


@pytest.mark.parametrize(("caller", "shown"), [("1.5", 200), ("²", 200)])
def test_a_caller_filter_that_is_not_a_whole_number_is_a_message(
    manager_client, some, caller, shown
):
    response = manager_client.get("/calls/", {"caller": caller})
    assert response.status_code == shown
    assert "Some filters are not valid" in response.content.decode()
    assert 'data-call-row="' not in response.content.decode()


def test_a_caller_search_too_long_to_read_finds_nobody_and_says_why(manager_client, some):
    response = manager_client.get("/callers/", {"q": "x" * 201})
    content = response.content.decode()
    assert "data-search-error" in content and "at most 200 characters" in content
    assert 'data-caller-row="' not in content


def test_nul_in_a_posted_field_is_a_message_and_keeps_the_rest(reception_client):
    response = reception_client.post(
        "/calls/new/", form_data(summary="Bad\x00byte", notes="Keep these notes")
    )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.context["form"].errors["summary"]
    assert "Keep these notes" in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"view": "<script>alert(1)</script>"},
        {"phone": "<img src=x onerror=alert(1)>"},
        {"caller_name": "<svg onload=alert(1)>"},
    ],
)
def test_markup_in_parameters_is_escaped_wherever_it_is_repeated(manager_client, some, params):
    for url in ("/callbacks/", "/callers/lookup/", "/calls/new/", "/callbacks/open-for/"):
        response = manager_client.get(url, params)
        assert response.status_code in (200, 400)
        content = response.content.decode()
        for raw in params.values():
            assert raw not in content


# --- forged edit forms keep what was typed, say why, and save nothing -------------------


@pytest.mark.parametrize("version", ["", "²", "0", "99999999999999999999"])
def test_a_caller_edit_without_a_readable_version_keeps_what_was_typed(
    reception_client, some, version
):
    from tests.callers.test_views import phone_formset

    data = {
        "name": "Ann Lee",
        "things_to_remember": "Typed with care",
        **phone_formset(some),
        "version": version,
    }
    response = reception_client.post(f"/callers/{some.pk}/edit/", data)
    assert response.status_code == 400
    content = response.content.decode()
    assert "did not say which version of the caller" in content
    assert "Typed with care" in content
    some.refresh_from_db()
    assert some.things_to_remember == ""


def test_a_caller_edit_that_leaves_numbers_out_deletes_none(reception_client, some):
    from tests.callers.test_views import phone_formset

    data = {"name": "Ann Lee", **phone_formset(some)}
    data.update({"phones-TOTAL_FORMS": "0", "phones-INITIAL_FORMS": "0"})
    assert reception_client.post(f"/callers/{some.pk}/edit/", data).status_code == 302
    assert [p.number.as_e164 for p in some.phones.all()] == ["+12125550147"]
    data.update({"phones-TOTAL_FORMS": "99999999999", "version": "2"})
    response = reception_client.post(f"/callers/{some.pk}/edit/", data)
    assert response.status_code == 200
    assert "Please submit at most 20 forms." in response.content.decode()


@pytest.mark.parametrize("version", ["0", "²", ""])
def test_an_attempt_without_a_readable_version_says_so_and_keeps_the_note(
    reception_client, version
):
    callback = CallbackFactory()
    response = reception_client.post(
        f"/callbacks/{callback.pk}/attempt/",
        {"result": "no_answer", "note": "Rang twice", "version": version},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "did not say which version of the callback" in content
    assert "Rang twice" in content
    assert f'name="version" value="{callback.version}"' in content  # ready to record again
    assert not callback.attempts.exists()


# --- what was typed comes back when someone else got there first ------------------------


def test_an_attempt_on_a_callback_closed_meanwhile_gives_back_the_note(reception_client, manager):
    from followups.services import callback_cancel

    callback = CallbackFactory()
    callback_cancel(callback_id=callback.pk, user=manager, reason="Caller rang back")
    response = reception_client.post(
        f"/callbacks/{callback.pk}/attempt/",
        {"result": "reached", "outcome": "Booked for Friday", "version": "1"},
        follow=True,
    )
    content = response.content.decode()
    assert "This callback was cancelled by" in content
    assert "What you wrote was not recorded: “Booked for Friday”" in content


def test_an_attempt_on_a_callback_claimed_meanwhile_gives_back_the_note(reception_client):
    from followups.services import callback_claim
    from tests.factories import receptionist_user

    callback = CallbackFactory()
    callback_claim(callback_id=callback.pk, user=receptionist_user(username="sam"))
    response = reception_client.post(
        f"/callbacks/{callback.pk}/attempt/",
        {
            "result": "no_answer",
            "note": "Rang 8 times",
            "next_due_at": "2099-01-01T10:00",
            "version": "1",
        },
        follow=True,
    )
    content = response.content.decode()
    assert "has already claimed this callback" in content
    assert "Rang 8 times" in content


def test_the_second_manager_to_resolve_gets_back_what_they_wrote(manager_client):
    from calls.services import escalation_raise, escalation_resolve
    from tests.factories import manager_user

    call = CallFactory()
    escalation = escalation_raise(call=call, user=call.taken_by, playbook_steps=[])
    escalation_resolve(escalation_id=escalation.pk, user=manager_user(), resolution="Done")
    response = manager_client.post(
        f"/escalations/{escalation.pk}/resolve/",
        {"resolution": "Called her back", "debrief": "Well handled", "caution_decision": "keep"},
        follow=True,
    )
    content = response.content.decode()
    assert "has already resolved this escalation" in content
    assert "Called her back / Well handled" in content


def test_the_merge_search_says_why_it_cannot_search(manager_client, some):
    response = manager_client.get(f"/callers/{some.pk}/merge/", {"q": "x" * 201})
    content = response.content.decode()
    assert "data-search-error" in content and "No other caller matches" not in content


@pytest.mark.parametrize(
    "raw", [b'["9999-12-31T23:59:59-14:00", 100]', b'["0001-01-01T00:00:00+05:00", 100]']
)
def test_a_cursor_at_the_end_of_time_is_a_400(reception_client, raw):
    import base64

    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert reception_client.get("/calls/", {"cursor": cursor}).status_code == 400


@pytest.mark.parametrize("value", ["٣", "0_3", "3.0", "+3 ", "³"])
def test_a_person_filter_takes_only_the_ids_its_picker_sends(reception_client, manager, value):
    response = reception_client.get("/calls/", {"taken_by": value})
    assert response.status_code == 200
    assert response.context["filter"].form.errors["taken_by"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/calls/", "taken_by"),
        ("/api/v1/calls/", "taken_by"),
        ("/escalations/resolved/", "resolved_by"),
    ],
)
def test_a_person_id_of_thousands_of_digits_is_refused_not_a_500(manager_client, url, name):
    # Python's int() refuses over 4,300 digits (a ValueError): the field refuses first.
    response = manager_client.get(url, {name: "9" * 5000})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.context["filter"].form.errors[name]


@pytest.mark.parametrize("value", ["١٢", "1_2", "²"])
def test_a_caller_filter_takes_only_ascii_digits(reception_client, value):
    response = reception_client.get("/calls/", {"caller": value})
    assert response.status_code == 200
    assert response.context["filter"].form.errors["caller"]


@pytest.mark.parametrize(
    "url",
    [
        "/calls/",
        "/calls/?q=refund",
        "/callers/{caller}/",
        "/callbacks/",
        "/escalations/mine/",
        "/escalations/resolved/",
    ],
)
@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59+10:00",
        "0001-01-01T00:00:00-05:00",
        "0001-01-01T00:00:00",
        "1999-12-31T23:59:59+00:00",
        "2100-01-01T00:00:00+00:00",
    ],
)
def test_a_cursor_outside_this_century_is_a_400(manager_client, some, url, when):
    """No row of a list is outside 2000-2099: such a cursor was not made by the page (it
    showed the first page again, or an empty one, or a 400, depending on the year)."""
    response = manager_client.get(url.format(caller=some.pk), {"cursor": cursor(when, 5)})
    assert response.status_code == 400
    assert b"not valid" in response.content
