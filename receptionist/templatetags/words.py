"""Values as a person reads them."""

import phonenumbers
from django import template
from django.conf import settings
from django.utils.timesince import timeuntil

register = template.Library()


@register.filter
def phone(number) -> str:
    """A number as the desk reads it: national format for the desk's region (PHONE_REGION),
    international for any other country."""
    if not number:
        return ""
    if not getattr(number, "is_valid", lambda: False)():
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
