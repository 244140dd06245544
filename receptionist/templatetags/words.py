"""Values as a person reads them."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import phonenumbers
from django import template
from django.conf import settings
from django.utils import translation
from django.utils.timesince import timesince
from phonenumber_field.phonenumber import to_python

register = template.Library()


# Numbers already formatted, by what makes a number and the desk's region. Formatting
# takes phonenumbers' metadata about 60 µs a number and the lists show the same numbers
# over and over: each is formatted once per process (and the memory stays bounded).
_formatted: dict[tuple, str] = {}
_FORMATTED_MAX = 20_000


@register.filter
def phone(number) -> str:
    """A number as the desk reads it: national format for the desk's region (PHONE_REGION),
    international for any other country. A number, or its E.164 text as stored."""
    return _remembered(number, "read")


@register.filter
def tel(number) -> str:
    """A number for a tel: link (E.164), as number.as_e164 gives it."""
    return _remembered(number, "tel")


def _remembered(number, style: str) -> str:
    if isinstance(number, str):
        # A number as stored (E.164), read without making a PhoneNumber of it: lists that
        # only show numbers skip parsing them on load (~15 µs each).
        return _remembered_text(number, style) if number else ""
    # Not `if not number`: the truth of a PhoneNumber is its length, which formats it
    # (~25 µs, twice a number in a row).
    if not getattr(number, "national_number", None):
        if not number:
            return ""
        return _format(number, style) if hasattr(number, "national_number") else str(number)
    key = (
        style,
        number.country_code,
        number.national_number,
        number.extension,
        number.italian_leading_zero,
        number.number_of_leading_zeros,
        settings.PHONE_REGION,
    )
    text = _formatted.get(key)
    if text is None:
        if len(_formatted) >= _FORMATTED_MAX:
            _formatted.clear()
        text = _formatted[key] = _format(number, style)
    return text


def _remembered_text(text: str, style: str) -> str:
    key = (style, text, settings.PHONE_REGION)
    formatted = _formatted.get(key)
    if formatted is None:
        formatted = _remembered(to_python(text, region=settings.PHONE_REGION), style)
        if len(_formatted) >= _FORMATTED_MAX:
            _formatted.clear()
        _formatted[key] = formatted
    return formatted


def _format(number, style: str) -> str:
    if style == "tel":
        return number.as_e164
    if not number.is_valid():
        return str(number)
    region = phonenumbers.region_code_for_number(number)
    return number.as_national if region == settings.PHONE_REGION else number.as_international


@register.filter
def due_in(due, now, language: str | None = None) -> str:
    """{{ cb.due_at|due_in:now }}: "in 25 minutes", "due now" within the minute, and once
    past it, "25 minutes late". `language`: the active one, when the caller knows it."""
    if due < now:
        return f"{span(due, now, language)} late"
    if (due - now).total_seconds() < 60:
        return "due now"
    return f"in {span(now, due, language)}"


# Below four weeks, Django's timesince depends on the minutes between two times alone (no
# month is whole yet); the lists ask for it on every row, and each asks for translations.
_SPAN_MEMO_LIMIT = timedelta(days=28)
_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def _span_of_minutes(minutes: int, language: str) -> str:
    return timesince(_EPOCH, _EPOCH + timedelta(minutes=minutes))


def span(earlier, later, language: str | None = None) -> str:
    """Django's timesince(earlier, later) ("2 hours, 5 minutes"), the same words at a
    fraction of the cost: a span under four weeks is worded once per process and language
    (`language`: the active one, looked up here when not given)."""
    if earlier.tzinfo is not None and later.tzinfo is not None:
        later = later.astimezone(earlier.tzinfo)  # as timesince compares them
    delta = later - earlier
    if timedelta(0) <= delta < _SPAN_MEMO_LIMIT:
        return _span_of_minutes(
            int(delta.total_seconds() // 60), language or translation.get_language()
        )
    return timesince(earlier, later)


@register.filter
def duration(value) -> str:
    """{{ call.duration|duration }}: "2 min 10 s", "1 h 5 min", "45 s" (never microseconds)."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"
