"""The words the lists use for times and numbers: the same as Django's, for less."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.timesince import timesince
from phonenumber_field.phonenumber import PhoneNumber

from receptionist.templatetags.words import due_in, phone, span, tel

SPANS = [
    timedelta(0),
    timedelta(seconds=59),
    timedelta(minutes=1),
    timedelta(minutes=61, seconds=59),
    timedelta(days=3, hours=4, minutes=5),
    timedelta(days=13, hours=23, minutes=59, seconds=59),
    timedelta(days=27, hours=23, minutes=59),
    timedelta(days=28),
    timedelta(days=40, hours=2),
    timedelta(days=400),
]


@pytest.mark.parametrize("delta", SPANS)
def test_a_span_is_worded_as_djangos_timesince(delta):
    now = timezone.now()
    assert span(now - delta, now) == timesince(now - delta, now)


def test_a_span_the_wrong_way_round_is_no_time_as_in_timesince():
    now = timezone.now()
    assert span(now + timedelta(hours=2), now) == timesince(now + timedelta(hours=2), now)


def test_a_span_is_worded_in_the_current_language():
    now = timezone.now()
    english = span(now - timedelta(hours=2), now)
    with translation.override("fr"):
        assert span(now - timedelta(hours=2), now) == "2\xa0heures" != english


def test_due_in_says_late_due_now_or_in():
    now = timezone.now()
    assert due_in(now - timedelta(minutes=25, seconds=3), now) == "25\xa0minutes late"
    assert due_in(now + timedelta(seconds=30), now) == "due now"
    assert (
        due_in(now + timedelta(hours=1, minutes=5, seconds=1), now) == "in 1\xa0hour, 5\xa0minutes"
    )


@pytest.mark.parametrize("number", ["+16178408318", "+442079460000", "+1617840831"])
def test_a_number_as_stored_reads_as_the_number_does(number, settings):
    settings.PHONE_REGION = "US"
    parsed = PhoneNumber.from_string(number)
    assert phone(number) == phone(parsed)
    assert tel(number) == tel(parsed)
    assert phone("") == tel("") == phone(None) == ""


def test_numbers_read_in_the_desks_region(settings):
    settings.PHONE_REGION = "US"
    assert phone("+16178408318") == "(617) 840-8318"
    assert phone("+442079460000") == "+44 20 7946 0000"
    assert tel("+16178408318") == "+16178408318"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        "one\ntwo",
        "one\r\ntwo\rthree\n\nfour",
        "<script>alert('x')</script>\n& \"quoted\"",
        "—",
    ],
)
def test_linebreaksbr_for_jinja_is_djangos(text):
    """The Jinja filter gives Django's linebreaksbr: escaped text, a <br> per line break (the
    two spell the entities of quotes differently; they read the same)."""
    import html

    from django.template.defaultfilters import linebreaksbr as djangos
    from markupsafe import Markup

    from receptionist.jinja2 import linebreaksbr

    ours = linebreaksbr(text)
    assert isinstance(ours, Markup)
    assert html.unescape(ours) == html.unescape(djangos(text, autoescape=True))
    # The same markup, but for how each spells the entity of a quote.
    assert str(ours).replace("&#39;", "&#x27;").replace("&#34;", "&quot;") == djangos(
        text, autoescape=True
    )
    assert "<script>" not in ours
    assert linebreaksbr(Markup("<b>kept</b>\nx")) == "<b>kept</b><br>x"
