"""The Jinja2 environment for the hot row templates (jinja/...).

Pages are Django templates. The rows of the long lists (the call log, callers, the callback
queue, escalations) are drawn by Jinja2, which renders a 50-row table about six times faster
than Django's engine: `make bench` showed the rows alone cost more than a whole page may
(README, "Speed"). A Django template draws them with `{% jinja "calls/call-rows.html" %}`.
Autoescaping is on, as in Django templates; the filters are the Django ones the rows need.
"""

from functools import lru_cache

from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.timesince import timesince
from jinja2 import Environment

from receptionist.roles import display_name
from receptionist.templatetags.words import due_in, phone, tel

# A number no URL holds by chance: the place of the id in a reversed URL.
_PLACEHOLDER = 9_876_543_210


@lru_cache(maxsize=256)
def _url_parts(name: str, script_prefix: str) -> tuple[str, str]:
    url = reverse(name, args=[_PLACEHOLDER])
    before, after = url.split(str(_PLACEHOLDER))
    return before, after


def url_with_pk(name: str, pk) -> str:
    """reverse(name, args=[pk]) for a URL that takes one id, without reversing per row:
    the URL is reversed once (per name and script prefix) and the id put in its place."""
    before, after = _url_parts(name, get_script_prefix())
    return f"{before}{int(pk)}{after}"


@lru_cache(maxsize=64)
def _labels(model, field_name: str, language: str) -> dict:
    return {key: str(label) for key, label in model._meta.get_field(field_name).flatchoices}


def label(instance, field_name: str) -> str:
    """{{ call|label("nature") }}: what get_nature_display() says, from a dict built once."""
    value = getattr(instance, field_name)
    return _labels(type(instance), field_name, translation.get_language()).get(value, value)


@lru_cache(maxsize=8)
def _month_and_day_names(language: str) -> tuple[list[str], list[str]]:
    months = [""] + [str(MONTHS_3[m]).title() for m in range(1, 13)]
    days = [str(WEEKDAYS_ABBR[d]) for d in range(7)]
    return months, days


def when(value, style: str = "date") -> str:
    """A time as the lists show it, in the current time zone, in one of Django's formats:
    "date" "M j, Y H:i" (Mar 4, 2026 14:05), "weekday" "D M j, H:i" (Wed Mar 4, 14:05),
    "day" "D H:i" (Wed 14:05), "month" "M j, H:i" (Mar 4, 14:05), "time" "H:i" (14:05)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    months, days = _month_and_day_names(translation.get_language())
    if style == "time":
        return f"{local:%H:%M}"
    if style == "day":
        return f"{days[local.weekday()]} {local:%H:%M}"
    if style == "month":
        return f"{months[local.month]} {local.day}, {local:%H:%M}"
    if style == "weekday":
        return f"{days[local.weekday()]} {months[local.month]} {local.day}, {local:%H:%M}"
    return f"{months[local.month]} {local.day}, {local.year} {local:%H:%M}"


def truncatechars(value, length: int) -> str:
    """Django's truncatechars for plain text, at a fraction of its cost: at most `length`
    characters, the last one an ellipsis when the text was cut."""
    text = str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


def environment(**options):
    env = Environment(**options, extensions=["jinja2.ext.do"])
    env.globals.update(static=static, url=reverse, url_with_pk=url_with_pk)
    env.filters.update(
        phone=phone,
        tel=tel,
        person=lambda user: display_name(user, ""),
        label=label,
        when=when,
        due_in=due_in,
        timesince=timesince,
        truncatechars=truncatechars,
    )
    return env
