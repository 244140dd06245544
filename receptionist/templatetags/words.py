"""Values as a person reads them."""

import phonenumbers
from django import template
from django.conf import settings
from django.utils.timesince import timeuntil

register = template.Library()


# Numbers already formatted, by what makes a number and the desk's region. Formatting
# takes phonenumbers' metadata about 60 µs a number and the lists show the same numbers
# over and over: each is formatted once per process (and the memory stays bounded).
_formatted: dict[tuple, str] = {}
_FORMATTED_MAX = 20_000


@register.filter
def phone(number) -> str:
    """A number as the desk reads it: national format for the desk's region (PHONE_REGION),
    international for any other country."""
    return _remembered(number, "read")


@register.filter
def tel(number) -> str:
    """A number for a tel: link (E.164), as number.as_e164 gives it."""
    return _remembered(number, "tel")


def _remembered(number, style: str) -> str:
    if not number:
        return ""
    if not hasattr(number, "national_number"):
        return str(number)
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


def _format(number, style: str) -> str:
    if style == "tel":
        return number.as_e164
    if not number.is_valid():
        return str(number)
    region = phonenumbers.region_code_for_number(number)
    return number.as_national if region == settings.PHONE_REGION else number.as_international


@register.filter
def due_in(due, now) -> str:
    """{{ cb.due_at|due_in:now }}: "due now" within the minute, else "in 25 minutes"."""
    if (due - now).total_seconds() < 60:
        return "due now"
    return f"in {timeuntil(due, now)}"


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
